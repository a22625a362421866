# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Image and mask loading and validation.

The core works on RGB ``uint8`` arrays of shape ``(H, W, 3)`` and boolean masks of shape
``(H, W)``. Everything that enters the library passes through :func:`load_image` /
:func:`validate_mask`, so the stages can trust their inputs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sam_detect.errors import InvalidImageError, InvalidMaskError

ImageLike = Any  # np.ndarray | PIL.Image.Image | str | os.PathLike

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def load_image(image: ImageLike) -> np.ndarray:
    """Return ``image`` as a contiguous RGB ``uint8`` array of shape ``(H, W, 3)``.

    Accepts a path, a PIL image, or an array (``(H, W)`` grey, ``(H, W, 3)`` RGB,
    ``(H, W, 4)`` RGBA;
    ``uint8``, ``uint16`` or float in ``[0, 1]``).

    Example:
        >>> import numpy as np
        >>> load_image(np.zeros((4, 5), np.uint8)).shape
        (4, 5, 3)
    """
    if isinstance(image, (str, os.PathLike)):
        return _read_file(Path(image))
    if not isinstance(image, np.ndarray):
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover - pillow is a dependency
            Image = None
        if Image is not None and isinstance(image, Image.Image):
            image = np.asarray(image.convert("RGB"))
        else:
            raise InvalidImageError(
                f"expected an image path, PIL image or numpy array, got {type(image).__name__}"
            )
    return _normalise_array(image)


def _read_file(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InvalidImageError(f"cannot read image {path}: no such file")
    data = np.fromfile(path, np.uint8)
    if data.size == 0:
        raise InvalidImageError(f"cannot read image {path}: the file is empty")
    decoded = _decode(data, path)
    if decoded is None:
        raise InvalidImageError(f"cannot read image {path}: not a supported image format")
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA)
    elif decoded.ndim == 3:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return _normalise_array(decoded, source=str(path))


def _decode(data: np.ndarray, path: Path) -> np.ndarray | None:
    """Decode an image file's bytes; OpenCV's refusals become one-line errors.

    OpenCV raises (rather than returning None) for a header that declares more pixels than it
    agrees to decode (``CV_IO_MAX_IMAGE_PIXELS``, 2^30 by default): a 40000x40000 PNG of a few
    bytes must not turn into a traceback, nor into a 4.8 GB allocation.
    """
    try:
        return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as error:
        if "CV_IO_MAX_IMAGE_PIXELS" in str(error):
            size = _declared_size(data, path)
            declared = f"{size[0]}x{size[1]} pixels" if size else "more pixels"
            raise InvalidImageError(
                f"cannot read image {path}: its header declares {declared}, more than OpenCV "
                "decodes (the environment variable OPENCV_IO_MAX_IMAGE_PIXELS raises the limit)"
            ) from None
        detail = " ".join(str(error).split(": error: ")[-1].split())
        raise InvalidImageError(
            f"cannot read image {path}: OpenCV refused it ({detail})") from None


def _declared_size(data: np.ndarray, path: Path) -> tuple[int, int] | None:
    """Return the width and height a file's header declares, without decoding it."""
    head = data[:24].tobytes()
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    try:
        from PIL import Image

        with Image.open(path) as image:  # reads the header only
            return image.size
    except Exception:  # unknown format, or PIL's own bomb guard: the size is only for the message
        return None


def _normalise_array(array: np.ndarray, source: str = "image") -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidImageError(
            f"{source} has shape {array.shape}; expected (H, W), (H, W, 3) or (H, W, 4)"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidImageError(f"{source} is empty (shape {array.shape})")
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise InvalidImageError(f"{source} contains NaN or infinite values")
        array = np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        raise InvalidImageError(
            f"{source} has dtype {array.dtype}; expected uint8, uint16 or float")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.shape[2] == 4:
        array = array[:, :, :3]
    return np.ascontiguousarray(array)


def load_alpha_mask(path: str | os.PathLike) -> np.ndarray | None:
    """Return the alpha channel of an image file as a boolean mask, or ``None`` if it has none."""
    data = np.fromfile(Path(path), np.uint8)
    decoded = _decode(data, Path(path)) if data.size else None
    if decoded is None or decoded.ndim != 3 or decoded.shape[2] != 4:
        return None
    return decoded[:, :, 3] > 127


def validate_mask(mask: Any, image_shape: tuple[int, ...]) -> np.ndarray:
    """Return ``mask`` as a boolean ``(H, W)`` array that matches ``image_shape``.

    Raises:
        InvalidMaskError: when the mask is not 2-D, has another size than the image, or is empty.
    """
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim != 2:
        raise InvalidMaskError(f"mask has shape {mask.shape}; expected (H, W)")
    if mask.shape != tuple(image_shape[:2]):
        raise InvalidMaskError(
            f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
            f"{image_shape[1]}x{image_shape[0]}; they must be the same size"
        )
    mask = mask > 0 if mask.dtype != np.bool_ else mask
    if not mask.any():
        raise InvalidMaskError("mask is empty (zero area); mark at least one pixel of the object")
    return mask


def expand_image_paths(inputs: list[str]) -> list[Path]:
    """Expand files, folders (recursively) and glob patterns into a sorted list of image paths.

    Raises:
        InvalidImageError: when an input matches nothing.
    """
    import glob

    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            found = [path]
        else:
            found = sorted(
                Path(p) for p in glob.glob(item, recursive=True)
                if Path(p).suffix.lower() in IMAGE_SUFFIXES
            )
        if not found:
            raise InvalidImageError(f"no images found at {item}")
        paths.extend(found)
    return paths
