# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Conversions between ROS messages and sam_detect's numpy types.

``sensor_msgs/Image`` in (rgb8, bgr8, rgba8, bgra8, mono8, mono16 and their ``8UC1`` /
``16UC1`` aliases) becomes the core's RGB ``uint8`` array; results go out as
``sam_detect_ros/InstanceArray`` and ``bgr8`` overlay images. Only numpy is used: ROS 2's
cv_bridge is not on PyPI, and ``np.frombuffer(msg.data)`` / ``msg.data = array.tobytes()`` are
the fast paths (assigning an ndarray to ``msg.data`` takes ~0.7 s for a 1080p frame).

Example:
    >>> import numpy as np
    >>> msg = rgb_to_image_msg(np.zeros((2, 3, 3), np.uint8))
    >>> msg.encoding, msg.step, image_msg_to_rgb(msg).shape
    ('bgr8', 9, (2, 3, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sam_detect.errors import InvalidImageError, InvalidMaskError
from sam_detect.image_io import load_image
from sam_detect.results import Detections, Instance
from sam_detect_ros.msg import Instance as InstanceMsg
from sam_detect_ros.msg import InstanceArray
from sensor_msgs.msg import Image, RegionOfInterest
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


def image_msg_to_array(msg: Image) -> np.ndarray:
    """Return the pixels of an Image message as ``(H, W, C)`` without converting colours.

    Honours ``step`` (row padding) and, for 16-bit images, ``is_bigendian``. The result is
    ``uint8``, or native-endian ``uint16`` for mono16.

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
    rows = np.lib.stride_tricks.as_strided(data, shape=(height, row_bytes), strides=(step, 1))
    if depth == 1:
        return np.ascontiguousarray(rows).reshape(height, width, channels)
    big_endian = bool(msg.is_bigendian)
    pixels = np.ascontiguousarray(rows).view(">u2" if big_endian else "<u2")
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
    if msg.encoding in ("bgr8", "bgra8"):
        pixels = pixels[:, :, 2::-1]  # a view in RGB order; the loader's copy makes it contiguous
    # The core's loader does the rest (16 -> 8 bits, grey -> RGB, alpha dropped), so a frame
    # from a topic and the same picture from a file become the same array.
    rgb = load_image(pixels)
    if np.may_share_memory(rgb, np.frombuffer(msg.data, np.uint8)):
        rgb = rgb.copy()  # the caller may write to it; the message's buffer must stay intact
    return rgb


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
    pixels = rgb[:, :, ::-1] if encoding == "bgr8" else rgb
    height, width = rgb.shape[:2]
    msg = Image(height=height, width=width, encoding=encoding, is_bigendian=0, step=width * 3)
    if header is not None:
        msg.header = header
    msg.data = np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
    return msg


def mask_to_image_msg(mask: np.ndarray, header: Header | None = None) -> Image:
    """Return a boolean mask as a mono8 Image message (255 inside, 0 outside)."""
    height, width = mask.shape[:2]
    msg = Image(height=height, width=width, encoding="mono8", is_bigendian=0, step=width)
    if header is not None:
        msg.header = header
    msg.data = (np.asarray(mask, bool).astype(np.uint8) * 255).tobytes()
    return msg


def instance_to_msg(instance: Instance, header: Header | None = None) -> InstanceMsg:
    """Build a ``sam_detect_ros/Instance`` from a core :class:`~sam_detect.results.Instance`.

    The mask is cropped to the instance's box (``roi``); label ``""`` means unknown.
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
    msg.mask = mask_to_image_msg(instance.mask[y0:y1, x0:x1], header)
    msg.area = int(instance.area)
    msg.neighbour_labels = [str(n.label) for n in instance.neighbours]
    msg.neighbour_scores = [float(n.score) for n in instance.neighbours]
    return msg


def detections_to_msg(detections: Detections, header: Header) -> InstanceArray:
    """Build a ``sam_detect_ros/InstanceArray`` carrying the source image's header."""
    return InstanceArray(header=header,
                         instances=[instance_to_msg(inst, header) for inst in detections])


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


def stamp_key(stamp: Any) -> tuple[int, int]:
    """Return a ``builtin_interfaces/Time`` as a hashable ``(sec, nanosec)`` pair."""
    return int(stamp.sec), int(stamp.nanosec)


__all__ = [
    "IMAGE_ENCODINGS",
    "detections_to_msg",
    "image_msg_to_array",
    "image_msg_to_rgb",
    "instance_mask_from_msg",
    "instance_to_msg",
    "is_empty_image",
    "mask_msg_to_bool",
    "mask_to_image_msg",
    "rgb_to_image_msg",
    "stamp_key",
]
