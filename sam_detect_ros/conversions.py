# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Conversions between ROS messages and sam_detect's numpy types.

``sensor_msgs/Image`` in (rgb8, bgr8, rgba8, bgra8, mono8, mono16 and their ``8UC1`` /
``16UC1`` aliases) and ``sensor_msgs/CompressedImage`` (JPEG, PNG) become the core's RGB
``uint8`` array; depth images (16UC1 millimetres, 32FC1 metres) become float32 metres; results go
out as ``sam_detect_ros/InstanceArray``, ``bgr8`` overlay images and RViz markers. ROS 2's
cv_bridge is not on PyPI, so numpy and OpenCV do it: ``np.frombuffer(msg.data)`` reads a message
without a copy, ``cv2.cvtColor`` swaps channels (0.3 ms for 1080p, where a reversed-channel numpy
copy takes ~20 ms), and outgoing pixels are copied once into the message's ``array.array``
(assigning an ndarray to ``msg.data`` takes ~0.7 s for a 1080p frame; ``bytes`` costs a second
copy).

Example:
    >>> import numpy as np
    >>> msg = rgb_to_image_msg(np.zeros((2, 3, 3), np.uint8))
    >>> msg.encoding, msg.step, image_msg_to_rgb(msg).shape
    ('bgr8', 9, (2, 3, 3))
"""

from __future__ import annotations

import array
from typing import Any, Sequence

import cv2
import numpy as np
from sam_detect.errors import InvalidImageError, InvalidMaskError
from sam_detect.image_io import declared_size
from geometry_msgs.msg import Point
from sam_detect.results import Detections, Instance
from sam_detect_ros.msg import Instance as InstanceMsg
from sam_detect_ros.msg import InstanceArray
from sensor_msgs.msg import CompressedImage, Image, RegionOfInterest
from std_msgs.msg import Header

# encoding -> (channels, bytes per channel)
IMAGE_ENCODINGS: dict[str, tuple[int, int]] = {
    "rgb8": (3, 1),
    "bgr8": (3, 1),
    "rgba8": (4, 1),
    "bgra8": (4, 1),
    "mono8": (1, 1),
    "8UC1": (1, 1),
    "mono16": (1, 2),
    "16UC1": (1, 2),
}
MASK_ENCODINGS = ("mono8", "8UC1")
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")
# encoding -> OpenCV conversion to RGB (rgb8 needs none)
_TO_RGB = {
    "bgr8": cv2.COLOR_BGR2RGB,
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "mono8": cv2.COLOR_GRAY2RGB,
    "8UC1": cv2.COLOR_GRAY2RGB,
    "mono16": cv2.COLOR_GRAY2RGB,
    "16UC1": cv2.COLOR_GRAY2RGB,
}


def _bytes_of(pixels: np.ndarray) -> array.array:
    """Return ``pixels`` as the ``array.array('B')`` a message field stores: one copy."""
    data = array.array("B")
    data.frombytes(np.ascontiguousarray(pixels).data)
    return data


def image_msg_to_array(msg: Image) -> np.ndarray:
    """Return the pixels of an Image message as ``(H, W, C)`` without converting colours.

    Honours ``step`` (row padding) and, for 16-bit images, ``is_bigendian``. The result is
    ``uint8``, or native-endian ``uint16`` for mono16; an 8-bit image without row padding is a
    view of the message's buffer (no copy).

    Raises:
        InvalidImageError: for an unsupported encoding, a zero size, or a ``step`` / data length
            that does not match the size.
    """
    encoding = msg.encoding
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise InvalidImageError(f"image is empty ({width}x{height})")
    if encoding not in IMAGE_ENCODINGS:
        raise InvalidImageError(
            f"unsupported image encoding '{encoding}'; publish one of "
            f"{', '.join(IMAGE_ENCODINGS)}")
    channels, depth = IMAGE_ENCODINGS[encoding]
    row_bytes = width * channels * depth
    if step < row_bytes:
        raise InvalidImageError(
            f"image step {step} is smaller than width x bytes per pixel "
            f"({width} x {channels * depth} = {row_bytes}) for {encoding}")
    data = np.frombuffer(msg.data, np.uint8)
    # The last row's padding may be left out, but nothing else.
    if not step * (height - 1) + row_bytes <= data.size <= step * height:
        raise InvalidImageError(
            f"image data has {data.size} bytes but {width}x{height} {encoding} with step {step} "
            f"needs {step * height}")
    if step == row_bytes:  # no row padding: a view of the message's buffer, no copy
        rows = data[:height * row_bytes].reshape(height, row_bytes)
    else:
        rows = np.ascontiguousarray(
            np.lib.stride_tricks.as_strided(data, shape=(height, row_bytes), strides=(step, 1)))
    if depth == 1:
        return rows.reshape(height, width, channels)
    big_endian = bool(msg.is_bigendian)
    pixels = rows.view(">u2" if big_endian else "<u2")
    return pixels.astype(np.uint16).reshape(height, width, channels)


def image_msg_to_rgb(msg: Image) -> np.ndarray:
    """Return an Image message as the core's RGB ``uint8`` array ``(H, W, 3)``.

    mono16 keeps its 8 most significant bits, as :func:`sam_detect.image_io.load_image` does.

    Raises:
        InvalidImageError: see :func:`image_msg_to_array`.

    Example:
        >>> from sensor_msgs.msg import Image
        >>> msg = Image(height=1, width=2, encoding="bgr8", step=6, data=bytes([1, 2, 3] * 2))
        >>> image_msg_to_rgb(msg)[0, 0].tolist()
        [3, 2, 1]
    """
    pixels = image_msg_to_array(msg)
    if pixels.dtype == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)  # as the core's loader reads 16-bit pictures
    conversion = _TO_RGB.get(msg.encoding)
    if conversion is None:  # rgb8: the caller may write to it, the message must stay intact
        return pixels.copy()
    # One OpenCV pass makes the new RGB array (grey -> RGB, alpha dropped, channels swapped):
    # the same array the core's loader makes of the same picture read from a file.
    return cv2.cvtColor(pixels, conversion)


def mask_msg_to_bool(msg: Image) -> np.ndarray:
    """Return a mono8 mask message as a boolean ``(H, W)`` array (nonzero = object).

    Raises:
        InvalidMaskError: when the mask is not mono8 or its size and data disagree.
    """
    if msg.encoding not in MASK_ENCODINGS:
        raise InvalidMaskError(
            f"mask encoding is '{msg.encoding}'; send a mono8 mask (nonzero inside the object)")
    try:
        pixels = image_msg_to_array(msg)
    except InvalidImageError as error:
        raise InvalidMaskError(f"invalid mask: {error}") from None
    return pixels[:, :, 0] > 0


def is_empty_image(msg: Image) -> bool:
    """Return True for an Image message with no pixels (the "no mask" value of a request)."""
    return int(msg.height) == 0 or int(msg.width) == 0


def rgb_to_image_msg(rgb: np.ndarray, header: Header | None = None,
                     encoding: str = "bgr8") -> Image:
    """Return an RGB ``uint8`` array ``(H, W, 3)`` as an Image message (bgr8 or rgb8).

    Example:
        >>> import numpy as np
        >>> msg = rgb_to_image_msg(np.array([[[1, 2, 3]]], np.uint8))
        >>> list(msg.data)
        [3, 2, 1]
    """
    if encoding not in ("bgr8", "rgb8"):
        raise ValueError(f"encoding must be bgr8 or rgb8, got {encoding}")
    rgb = np.asarray(rgb, np.uint8)
    height, width = rgb.shape[:2]
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=0, step=width * 3)
    if header is not None:
        msg.header = header
    # OpenCV writes the pixels straight into the message's buffer: one pass, no temporary.
    data = array.array("B", b"\0") * (height * width * 3)
    pixels = np.frombuffer(data, np.uint8).reshape(height, width, 3)
    if encoding == "bgr8":
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR, dst=pixels)
    else:
        np.copyto(pixels, rgb)
    del pixels  # release the buffer export: the message may need to resize its array
    msg.data = data
    return msg


def check_frame_pixels(msg: Image, max_pixels: int | None) -> None:
    """Refuse an Image message with more than ``max_pixels`` pixels (None: no budget).

    Raises:
        InvalidImageError: naming the size and the budget (the node's ``max_image_pixels``).

    Example:
        >>> check_frame_pixels(Image(width=4000, height=3000), 10_000_000)
        Traceback (most recent call last):
        ...
        sam_detect.errors.InvalidImageError: image is 4000x3000: 12000000 pixels, over the \
budget of 10000000 (max_image_pixels)
    """
    width, height = int(msg.width), int(msg.height)
    if max_pixels is not None and width * height > max_pixels:
        raise InvalidImageError(f"image is {width}x{height}: {width * height} pixels, over "
                                f"the budget of {max_pixels} (max_image_pixels)")


def compressed_msg_to_rgb(msg: CompressedImage, max_pixels: int | None = None) -> np.ndarray:
    """Decode a ``sensor_msgs/CompressedImage`` (JPEG, PNG, anything OpenCV reads) to RGB.

    Args:
        msg: The message.
        max_pixels: Refuse an image whose header declares more pixels, before decoding it: a
            few hundred bytes can declare 20000x20000 (1.2 GB decoded). None: no budget.

    Raises:
        InvalidImageError: when the data is empty or cannot be decoded, or is over the budget.

    Example:
        >>> import numpy as np
        >>> msg = rgb_to_compressed_msg(np.full((2, 3, 3), (200, 10, 10), np.uint8), "png")
        >>> compressed_msg_to_rgb(msg)[0, 0].tolist()
        [200, 10, 10]
    """
    data = np.frombuffer(msg.data, np.uint8)
    if data.size == 0:
        raise InvalidImageError(f"compressed image (format '{msg.format}') is empty")
    if max_pixels is not None:
        size = declared_size(data)
        if size is not None and size[0] * size[1] > max_pixels:
            raise InvalidImageError(
                f"compressed image of {data.size} bytes declares {size[0]}x{size[1]}: "
                f"{size[0] * size[1]} pixels, over the budget of {max_pixels} "
                "(max_image_pixels); not decoded")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise InvalidImageError(
            f"cannot decode compressed image of {data.size} bytes (format '{msg.format}'); "
            "publish JPEG or PNG")
    if max_pixels is not None and bgr.shape[0] * bgr.shape[1] > max_pixels:  # header unread
        raise InvalidImageError(f"compressed image is {bgr.shape[1]}x{bgr.shape[0]}, over the "
                                f"budget of {max_pixels} pixels (max_image_pixels)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def rgb_to_compressed_msg(rgb: np.ndarray, image_format: str = "jpeg",
                          header: Header | None = None) -> CompressedImage:
    """Encode an RGB ``uint8`` array as a ``sensor_msgs/CompressedImage`` (``jpeg`` or ``png``)."""
    if image_format not in ("jpeg", "png"):
        raise ValueError(f"image_format must be jpeg or png, got {image_format}")
    ok, encoded = cv2.imencode(".jpg" if image_format == "jpeg" else ".png",
                               cv2.cvtColor(np.asarray(rgb, np.uint8), cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("OpenCV could not encode the image")
    msg = CompressedImage(format=image_format)
    if header is not None:
        msg.header = header
    msg.data = _bytes_of(encoded)
    return msg


def depth_msg_to_metres(msg: Image) -> np.ndarray:
    """Return a depth image as float32 metres ``(H, W)``; unmeasured pixels are NaN.

    ``16UC1`` / ``mono16`` hold millimetres (0 = no measurement), ``32FC1`` metres (0, NaN or
    infinite = no measurement), as ROS depth cameras publish them (REP 118).

    Raises:
        InvalidImageError: for another encoding or a size that does not match the data.
    """
    if msg.encoding not in DEPTH_ENCODINGS:
        raise InvalidImageError(
            f"unsupported depth encoding '{msg.encoding}'; publish 16UC1 (mm) or 32FC1 (m)")
    if msg.encoding == "32FC1":
        float_msg = Image(height=msg.height, width=msg.width, encoding="rgba8",
                          is_bigendian=msg.is_bigendian, step=msg.step, data=msg.data)
        raw = image_msg_to_array(float_msg)  # 4 bytes per pixel, like rgba8
        metres = raw.reshape(raw.shape[0], -1).view(">f4" if msg.is_bigendian else "<f4")
        metres = metres.astype(np.float32)
        metres[~np.isfinite(metres) | (metres <= 0)] = np.nan
        return metres
    millimetres = image_msg_to_array(msg)[:, :, 0]
    metres = millimetres.astype(np.float32) * np.float32(0.001)
    metres[millimetres == 0] = np.nan
    return metres


def mask_to_image_msg(mask: np.ndarray, header: Header | None = None) -> Image:
    """Return a boolean mask as a mono8 Image message (255 inside, 0 outside)."""
    height, width = mask.shape[:2]
    msg = Image(height=height, width=width, encoding="mono8", is_bigendian=0, step=width)
    if header is not None:
        msg.header = header
    msg.data = _bytes_of(np.asarray(mask, bool).view(np.uint8) * np.uint8(255))
    return msg


Position = tuple[float, float, float]


def instance_to_msg(instance: Instance, header: Header | None = None,
                    position: Position | None = None) -> InstanceMsg:
    """Build a ``sam_detect_ros/Instance`` from a core :class:`~sam_detect.results.Instance`.

    The mask is cropped to the instance's box (``roi``); label ``""`` means unknown;
    ``position`` (metres, camera frame) sets ``position`` and ``has_position``.
    """
    x0, y0, x1, y1 = (int(v) for v in instance.bbox)
    msg = InstanceMsg()
    msg.id = int(instance.id)
    msg.track_id = int(getattr(instance, "track_id", 0) or 0)
    msg.label = instance.label or ""
    msg.confidence = float(instance.confidence)
    msg.score = float(instance.score)
    msg.roi = RegionOfInterest(x_offset=x0, y_offset=y0, width=x1 - x0, height=y1 - y0,
                               do_rectify=False)
    crop = instance.mask[y0:y1, x0:x1]
    msg.mask = mask_to_image_msg(crop, header)
    msg.area = int(np.count_nonzero(crop))  # the box holds the whole mask: 1/10 of the work
    msg.neighbour_labels = [str(n.label) for n in instance.neighbours]
    msg.neighbour_scores = [float(n.score) for n in instance.neighbours]
    if position is not None:
        msg.position = Point(x=float(position[0]), y=float(position[1]), z=float(position[2]))
        msg.has_position = True
    return msg


def detections_to_msg(detections: Detections, header: Header,
                      positions: list[Position | None] | None = None) -> InstanceArray:
    """Build a ``sam_detect_ros/InstanceArray`` carrying the source image's header.

    ``positions`` holds one 3D position (or None) per instance, in order.
    """
    positions = positions or [None] * len(detections)
    return InstanceArray(header=header, instances=[
        instance_to_msg(inst, header, position) for inst, position in zip(detections, positions)])


def markers_msg(detections: Detections, positions: list[Position | None],
                header: Header, lifetime_s: float = 1.0,
                known_labels: Sequence[str] = ()) -> Any:
    """Return a ``visualization_msgs/MarkerArray`` showing each located instance in RViz.

    The array starts with a DELETEALL marker (the previous frame's objects go away), then per
    instance with a position a sphere (namespace ``sam_detect/objects``, coloured like the
    overlay: the same palette, with the store's ``known_labels``) and a text label above it
    (``sam_detect/labels``: the overlay's caption, ``label 0.87``, or ``?`` when unknown), both
    with marker id = instance id, in the image's frame.
    """
    from sam_detect.captions import caption_texts
    from sam_detect.visualize import instance_colours
    from visualization_msgs.msg import Marker, MarkerArray

    markers = [Marker(header=header, action=Marker.DELETEALL)]
    seconds = int(lifetime_s)
    colours = instance_colours(detections, known_labels)
    for instance, position, colour in zip(detections, positions, colours):
        if position is None:
            continue
        red, green, blue = (c / 255.0 for c in colour)
        for namespace, kind in (("sam_detect/objects", Marker.SPHERE),
                                ("sam_detect/labels", Marker.TEXT_VIEW_FACING)):
            marker = Marker(header=header, ns=namespace, id=int(instance.id), type=kind,
                            action=Marker.ADD)
            marker.pose.position = Point(x=float(position[0]), y=float(position[1]),
                                         z=float(position[2]))
            marker.pose.orientation.w = 1.0
            marker.lifetime.sec, marker.lifetime.nanosec = seconds, int(
                (lifetime_s - seconds) * 1e9)
            marker.color.r, marker.color.g, marker.color.b, marker.color.a = red, green, blue, 1.0
            if kind == Marker.SPHERE:
                marker.scale.x = marker.scale.y = marker.scale.z = 0.05
            else:
                marker.text = caption_texts(instance.label, instance.confidence)[0]
                marker.scale.z = 0.05  # text height in metres
                marker.pose.position.y -= 0.06  # above the sphere (y points down)
            markers.append(marker)
    return MarkerArray(markers=markers)


def instance_mask_from_msg(msg: InstanceMsg, image_shape: tuple[int, ...]) -> np.ndarray:
    """Return an Instance message's mask as a full-frame boolean array (the inverse of roi crop).

    Example:
        >>> import numpy as np
        >>> from sam_detect.results import Instance
        >>> full = np.zeros((4, 5), bool); full[1:3, 2:4] = True
        >>> msg = instance_to_msg(Instance(mask=full, bbox=(2, 1, 4, 3)))
        >>> bool((instance_mask_from_msg(msg, full.shape) == full).all())
        True
    """
    full = np.zeros(image_shape[:2], bool)
    roi = msg.roi
    if roi.width and roi.height:
        crop = mask_msg_to_bool(msg.mask)
        full[roi.y_offset:roi.y_offset + roi.height, roi.x_offset:roi.x_offset + roi.width] = crop
    return full


def stamp_ns(stamp: Any) -> int:
    """Return a ``builtin_interfaces/Time`` as integer nanoseconds: the node's one stamp encoding.

    Example:
        >>> from builtin_interfaces.msg import Time
        >>> stamp_ns(Time(sec=3, nanosec=5))
        3000000005
    """
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


__all__ = [
    "DEPTH_ENCODINGS",
    "IMAGE_ENCODINGS",
    "check_frame_pixels",
    "compressed_msg_to_rgb",
    "depth_msg_to_metres",
    "detections_to_msg",
    "image_msg_to_array",
    "image_msg_to_rgb",
    "instance_mask_from_msg",
    "instance_to_msg",
    "is_empty_image",
    "mask_msg_to_bool",
    "mask_to_image_msg",
    "markers_msg",
    "rgb_to_compressed_msg",
    "rgb_to_image_msg",
    "stamp_ns",
]
