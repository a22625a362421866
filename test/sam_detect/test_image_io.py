# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Loading and validating images, masks and labels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from sam_detect.errors import InvalidImageError, InvalidLabelError, InvalidMaskError
from sam_detect.image_io import expand_image_paths, load_alpha_mask, load_image, validate_mask
from sam_detect.labels import validate_label


@pytest.mark.parametrize(("array", "pixel"), [
    (np.full((4, 5), 9, np.uint8), [9, 9, 9]),
    (np.full((4, 5, 1), 9, np.uint8), [9, 9, 9]),
    (np.full((4, 5, 3), (1, 2, 3), np.uint8), [1, 2, 3]),
    (np.full((4, 5, 4), (1, 2, 3, 0), np.uint8), [1, 2, 3]),
    (np.full((4, 5), 0x1234, np.uint16), [0x12, 0x12, 0x12]),
    (np.full((4, 5, 3), 1.0, np.float32), [255, 255, 255]),
])
def test_arrays_become_rgb_uint8(array, pixel):
    image = load_image(array)
    assert image.shape == (4, 5, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == pixel


def test_files_are_read_as_rgb(tmp_path):
    rgb = np.zeros((6, 7, 3), np.uint8)
    rgb[..., 0] = 200  # red
    cv2.imwrite(str(tmp_path / "red.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert load_image(tmp_path / "red.png")[0, 0].tolist() == [200, 0, 0]
    Image.fromarray(rgb).save(tmp_path / "red.jpg")
    assert load_image(str(tmp_path / "red.jpg"))[3, 3, 0] > 180
    assert load_image(Image.fromarray(rgb))[0, 0].tolist() == [200, 0, 0]


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    (b"", "the file is empty"),
    (b"not an image", "not a supported image format"),
])
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "picture.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidImageError, match=message):
        load_image(path)


@pytest.mark.parametrize(("value", "message"), [
    (np.zeros((0, 5, 3), np.uint8), "is empty"),
    (np.zeros((4, 5, 2), np.uint8), "expected"),
    (np.zeros((2, 4, 5, 3), np.uint8), "expected"),
    (np.zeros((4, 5), np.int64), "dtype int64"),
    (np.full((4, 5), np.nan, np.float32), "NaN"),
    (42, "got int"),
])
def test_bad_arrays(value, message):
    with pytest.raises(InvalidImageError, match=message):
        load_image(value)


def test_alpha_mask(tmp_path):
    rgba = np.zeros((5, 5, 4), np.uint8)
    rgba[1:3, 1:4, 3] = 255
    cv2.imwrite(str(tmp_path / "cut.png"), rgba)
    mask = load_alpha_mask(tmp_path / "cut.png")
    assert mask.sum() == 6 and mask[1, 1]
    cv2.imwrite(str(tmp_path / "plain.png"), rgba[..., :3])
    assert load_alpha_mask(tmp_path / "plain.png") is None


@pytest.mark.parametrize(("mask", "message"), [
    (np.zeros((4, 5), bool), "zero area"),
    (np.ones((5, 4), bool), "mask is 4x5 but the image is 5x4"),
    (np.ones((4, 5, 3), bool), "expected \\(H, W\\)"),
])
def test_bad_masks(mask, message):
    with pytest.raises(InvalidMaskError, match=message):
        validate_mask(mask, (4, 5, 3))


def test_mask_values_become_bool():
    mask = validate_mask(np.array([[0, 255], [3, 0]], np.uint8), (2, 2, 3))
    assert mask.dtype == bool and mask.tolist() == [[False, True], [True, False]]


@pytest.mark.parametrize(("label", "ok"), [
    ("cup", "cup"), ("  red cup ", "red cup"), ("", None), ("   ", None), (None, None),
    (3, None), ("x" * 300, None),
])
def test_labels(label, ok):
    if ok is None:
        with pytest.raises(InvalidLabelError):
            validate_label(label)
    else:
        assert validate_label(label) == ok


def test_expand_image_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.png", "b.JPG", "sub/c.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    names = [p.name for p in expand_image_paths([str(tmp_path)])]
    assert names == ["a.png", "b.JPG", "c.png"]
    assert [p.name for p in expand_image_paths([str(tmp_path / "*.png")])] == ["a.png"]
    with pytest.raises(InvalidImageError, match="no images found"):
        expand_image_paths([str(tmp_path / "nothing*.png")])


def _png_declaring(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_a_header_over_opencvs_pixel_limit_is_one_line(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_declaring(40000, 40000))
    with pytest.raises(InvalidImageError, match="declares 40000x40000 pixels") as raised:
        load_image(path)
    assert "\n" not in str(raised.value)
    with pytest.raises(InvalidImageError, match="declares 40000x40000"):
        load_alpha_mask(path)  # teaching reads the alpha channel through the same decoder
