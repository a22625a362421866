# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of sam_detect_ros.conversions: Image <-> numpy and Instance message building."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

from sam_detect.errors import InvalidImageError, InvalidMaskError  # noqa: E402
from sam_detect.results import Detections, Instance, Neighbour  # noqa: E402
from sam_detect_ros.conversions import (  # noqa: E402
    detections_to_msg,
    image_msg_to_rgb,
    instance_mask_from_msg,
    instance_to_msg,
    mask_msg_to_bool,
    mask_to_image_msg,
    rgb_to_image_msg,
)
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
GREY16 = RNG.integers(0, 65536, (5, 7), dtype=np.uint16)


def make_msg(pixels: np.ndarray, encoding: str, padding: int = 0,
             big_endian: bool = False) -> Image:
    """Build an Image message from ``pixels`` as a camera driver would (rows padded)."""
    height, width = pixels.shape[:2]
    if pixels.dtype == np.uint16:
        pixels = pixels.astype(">u2" if big_endian else "<u2")
    rows = pixels.reshape(height, -1).view(np.uint8)
    padded = np.zeros((height, rows.shape[1] + padding), np.uint8)
    padded[:, :rows.shape[1]] = rows
    return Image(height=height, width=width, encoding=encoding, is_bigendian=int(big_endian),
                 step=padded.shape[1], data=padded.tobytes())


def expected_from_16(grey: np.ndarray) -> np.ndarray:
    return np.repeat((grey >> 8).astype(np.uint8)[:, :, None], 3, axis=2)


@pytest.mark.parametrize("padding", [0, 3])
@pytest.mark.parametrize("encoding, pixels, expected", [
    ("rgb8", RGB, RGB),
    ("bgr8", RGB[:, :, ::-1], RGB),
    ("rgba8", np.dstack([RGB, np.full(RGB.shape[:2], 9, np.uint8)]), RGB),
    ("bgra8", np.dstack([RGB[:, :, ::-1], np.full(RGB.shape[:2], 9, np.uint8)]), RGB),
    ("mono8", RGB[:, :, 0], np.repeat(RGB[:, :, :1], 3, axis=2)),
    ("8UC1", RGB[:, :, 1], np.repeat(RGB[:, :, 1:2], 3, axis=2)),
    ("mono16", GREY16, expected_from_16(GREY16)),
    ("16UC1", GREY16, expected_from_16(GREY16)),
])
def test_image_msg_to_rgb_decodes_each_encoding(encoding: str, pixels: np.ndarray,
                                                expected: np.ndarray, padding: int) -> None:
    rgb = image_msg_to_rgb(make_msg(pixels, encoding, padding))
    assert rgb.dtype == np.uint8 and rgb.flags.c_contiguous
    np.testing.assert_array_equal(rgb, expected)


@pytest.mark.parametrize("big_endian", [False, True])
def test_mono16_honours_is_bigendian(big_endian: bool) -> None:
    msg = make_msg(GREY16, "mono16", padding=2, big_endian=big_endian)
    np.testing.assert_array_equal(image_msg_to_rgb(msg), expected_from_16(GREY16))


def test_last_row_padding_may_be_left_out() -> None:
    msg = make_msg(RGB, "rgb8", padding=4)
    msg.data = bytes(msg.data)[:-4]
    np.testing.assert_array_equal(image_msg_to_rgb(msg), RGB)


def test_decoded_image_is_a_writable_copy() -> None:
    msg = make_msg(RGB, "rgb8")
    rgb = image_msg_to_rgb(msg)
    rgb[0, 0] = 0
    assert bytes(msg.data[:3]) == RGB[0, 0].tobytes()


@pytest.mark.parametrize("change, message", [
    ({"encoding": "yuv422"}, "unsupported image encoding 'yuv422'"),
    ({"encoding": "32FC1"}, "unsupported image encoding"),
    ({"width": 0, "step": 0, "data": b""}, "image is empty"),
    ({"height": 0, "data": b""}, "image is empty"),
    ({"step": 20}, "step 20 is smaller than"),
    ({"data": bytes(5 * 21 - 4)}, "needs 105"),
    ({"data": bytes(5 * 21 + 1)}, "needs 105"),
    ({"width": 8}, "step 21 is smaller than"),
    ({"height": 6}, "needs 126"),
])
def test_bad_images_raise_invalid_image_error(change: dict, message: str) -> None:
    msg = make_msg(RGB, "rgb8")
    for field, value in change.items():
        setattr(msg, field, value)
    with pytest.raises(InvalidImageError, match=message):
        image_msg_to_rgb(msg)


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8"])
def test_rgb_to_image_msg_round_trips(encoding: str) -> None:
    header = Header(frame_id="cam")
    header.stamp.sec = 12
    msg = rgb_to_image_msg(RGB, header, encoding=encoding)
    assert (msg.encoding, msg.step, msg.height, msg.width) == (encoding, 21, 5, 7)
    assert msg.header.frame_id == "cam" and msg.header.stamp.sec == 12
    np.testing.assert_array_equal(image_msg_to_rgb(msg), RGB)


def test_mask_round_trip_and_errors() -> None:
    mask = RNG.random((5, 7)) > 0.5
    msg = mask_to_image_msg(mask)
    assert msg.encoding == "mono8" and set(bytes(msg.data)) <= {0, 255}
    np.testing.assert_array_equal(mask_msg_to_bool(msg), mask)
    with pytest.raises(InvalidMaskError, match="send a mono8 mask"):
        mask_msg_to_bool(make_msg(RGB, "rgb8"))
    msg.step = 3
    with pytest.raises(InvalidMaskError, match="invalid mask: image step 3"):
        mask_msg_to_bool(msg)


def make_instance(index: int = 0, label: str | None = "cup") -> Instance:
    mask = np.zeros((20, 30), bool)
    mask[4:9, 10:17] = True
    mask[4, 10] = False
    neighbours = [Neighbour("cup", 0.9, 3), Neighbour("can", 0.5, 8)]
    return Instance(mask=mask, bbox=(10, 4, 17, 9), score=0.75, label=label, confidence=0.6,
                    neighbours=neighbours, embedding=np.ones(4, np.float32) / 2, id=index)


@pytest.mark.parametrize("label, expected", [("cup", "cup"), (None, "")])
def test_instance_to_msg_fills_every_field(label: str | None, expected: str) -> None:
    instance = make_instance(2, label)
    msg = instance_to_msg(instance)
    assert (msg.id, msg.label, msg.area) == (2, expected, 34)
    assert msg.confidence == pytest.approx(0.6) and msg.score == pytest.approx(0.75)
    roi = msg.roi
    assert (roi.x_offset, roi.y_offset, roi.width, roi.height) == (10, 4, 7, 5)
    assert (msg.mask.width, msg.mask.height, msg.mask.encoding) == (7, 5, "mono8")
    crop = np.frombuffer(msg.mask.data, np.uint8).reshape(5, 7)
    np.testing.assert_array_equal(crop == 255, instance.mask[4:9, 10:17])
    assert list(msg.neighbour_labels) == ["cup", "can"]
    assert list(msg.neighbour_scores) == pytest.approx([0.9, 0.5])
    np.testing.assert_array_equal(instance_mask_from_msg(msg, (20, 30)), instance.mask)


def test_detections_to_msg_keeps_the_source_header() -> None:
    header = Header(frame_id="camera_optical")
    header.stamp.sec, header.stamp.nanosec = 1700000000, 123
    detections = Detections([make_instance(0), make_instance(1, None)], (20, 30))
    msg = detections_to_msg(detections, header)
    assert msg.header.frame_id == "camera_optical"
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1700000000, 123)
    assert [i.id for i in msg.instances] == [0, 1]
    assert [i.label for i in msg.instances] == ["cup", ""]
    assert msg.instances[0].mask.header.frame_id == "camera_optical"


# -- compressed, depth, positions, markers --------------------------------------------------

@pytest.mark.parametrize("image_format, tolerance", [("png", 0), ("jpeg", 12)])
def test_compressed_images_decode_to_rgb(image_format: str, tolerance: int) -> None:
    from sam_detect_ros.conversions import compressed_msg_to_rgb, rgb_to_compressed_msg

    smooth = np.zeros((32, 48, 3), np.uint8)
    smooth[:, :24] = (220, 30, 40)
    smooth[:, 24:] = (20, 60, 210)
    msg = rgb_to_compressed_msg(smooth, image_format)
    assert msg.format == image_format
    rgb = compressed_msg_to_rgb(msg)
    assert rgb.shape == smooth.shape and rgb.flags.c_contiguous
    # Away from the colour edge (JPEG blurs chroma across it), in RGB order.
    for x in (4, 44):
        assert int(np.abs(rgb[16, x].astype(int) - smooth[16, x]).max()) <= tolerance


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"), (b"\x89PNG\r\n\x1a\n garbage", "cannot decode compressed image of 16 b"),
    (bytes(range(200)), "publish JPEG or PNG")])
def test_undecodable_compressed_images_raise(data: bytes, message: str) -> None:
    from sam_detect_ros.conversions import compressed_msg_to_rgb
    from sensor_msgs.msg import CompressedImage

    with pytest.raises(InvalidImageError, match=message):
        compressed_msg_to_rgb(CompressedImage(format="jpeg", data=data))


def test_depth_images_become_metres_with_nan_holes() -> None:
    from sam_detect_ros.conversions import depth_msg_to_metres

    millimetres = np.array([[0, 1000], [1500, 65535]], np.uint16)
    expected = np.array([[np.nan, 1.0], [1.5, 65.535]], np.float32)
    for encoding in ("16UC1", "mono16"):
        np.testing.assert_allclose(depth_msg_to_metres(make_msg(millimetres, encoding, 2)),
                                   expected, rtol=1e-6)
    metres = np.array([[np.nan, 1.0], [0.0, np.inf]], np.float32)
    for big_endian in (False, True):
        raw = metres.astype(">f4" if big_endian else "<f4").view(np.uint8).reshape(2, 8)
        msg = Image(height=2, width=2, encoding="32FC1", step=8, is_bigendian=int(big_endian),
                    data=raw.tobytes())
        np.testing.assert_array_equal(depth_msg_to_metres(msg),
                                      np.array([[np.nan, 1.0], [np.nan, np.nan]], np.float32))
    with pytest.raises(InvalidImageError, match="unsupported depth encoding 'rgb8'"):
        depth_msg_to_metres(make_msg(RGB, "rgb8"))


def test_positions_and_markers() -> None:
    from sam_detect_ros.conversions import markers_msg
    from visualization_msgs.msg import Marker

    header = Header(frame_id="camera_color_optical_frame")
    detections = Detections([make_instance(0), make_instance(1, label=None)], (20, 30))
    positions = [(0.1, -0.2, 1.0), None]
    msg = detections_to_msg(detections, header, positions)
    located, unknown = msg.instances
    assert located.has_position and not unknown.has_position
    assert (located.position.x, located.position.y, located.position.z) == pytest.approx(
        (0.1, -0.2, 1.0))
    markers = markers_msg(detections, positions, header).markers
    assert [m.action for m in markers] == [Marker.DELETEALL, Marker.ADD, Marker.ADD]
    sphere, text = markers[1:]
    assert (sphere.type, text.type) == (Marker.SPHERE, Marker.TEXT_VIEW_FACING)
    assert text.text == "cup 0.60" and sphere.id == text.id == 0
    assert sphere.header.frame_id == "camera_color_optical_frame"
    assert sphere.pose.position.z == pytest.approx(1.0)
