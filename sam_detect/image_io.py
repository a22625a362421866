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
#: The default pixel budget of pictures from outside (the node's frames, the annotation UI's
#: folder): 8192 x 8192, 64 Mi pixels, ~200 MB decoded as RGB. Every camera up to 8K and
#: every phone photo up to 64 MP fits; a few hundred bytes that declare more are refused from
#: their header, before a decoder allocates anything.
DEFAULT_MAX_PIXELS = 8192 * 8192


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
    return decode_image(np.fromfile(path, np.uint8), str(path))


def decode_image(data: bytes | np.ndarray, name: str = "image",
                 max_pixels: int | None = None) -> np.ndarray:
    """Return an image file's bytes decoded as RGB ``uint8`` ``(H, W, 3)``.

    Args:
        data: The file's bytes.
        name: How errors name the picture (a path relative to what the user gave).
        max_pixels: Refuse a picture whose header declares more pixels than this, before
            decoding it (None: only OpenCV's own limit, 2^30).

    Raises:
        InvalidImageError: for empty or undecodable data, or a picture over the budget.

    Example:
        >>> import cv2
        >>> png = cv2.imencode(".png", np.zeros((3, 4, 3), np.uint8))[1]
        >>> decode_image(png.tobytes()).shape
        (3, 4, 3)
        >>> decode_image(png.tobytes(), "a.png", max_pixels=10)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        sam_detect.errors.InvalidImageError: cannot read image a.png: it has 4x3 pixels, more...
    """
    data = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray)) else data
    if data.size == 0:
        raise InvalidImageError(f"cannot read image {name}: the file is empty")
    if max_pixels is not None:
        check_pixel_budget(declared_size(data), max_pixels, f"cannot read image {name}")
    decoded = _decode(data, name)
    if decoded is None:
        raise InvalidImageError(f"cannot read image {name}: not a supported image format")
    if max_pixels is not None:  # a format whose header could not be read without decoding
        check_pixel_budget(decoded.shape[1::-1], max_pixels, f"cannot read image {name}")
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA)
    elif decoded.ndim == 3:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return _normalise_array(decoded, source=name)


def check_pixel_budget(size: Any, max_pixels: int, what: str) -> None:
    """Raise when ``size`` (width, height; None: unknown) has more than ``max_pixels`` pixels.

    Raises:
        InvalidImageError: ``"{what}: it has WxH pixels, more than the budget of N pixels"``.
    """
    if size is None:
        return
    width, height = (int(v) for v in size)
    if width * height > max_pixels:
        raise InvalidImageError(f"{what}: it has {width}x{height} pixels, more than the "
                                f"budget of {max_pixels} pixels")


def declared_size(data: bytes | np.ndarray) -> tuple[int, int] | None:
    """Return the width and height an image file's header declares, without decoding it.

    PNG is read from its IHDR chunk; other formats by Pillow's format plugins, which parse the
    header only (Pillow's own bomb guard, which refuses before telling the size, is left to our
    budget). None when the format is unknown to both (the decoder then decides).

    Example:
        >>> import cv2
        >>> declared_size(cv2.imencode(".jpg", np.zeros((30, 40, 3), np.uint8))[1])
        (40, 30)
    """
    import io

    raw = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR":
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        return None
    Image.init()
    for name in Image.ID:
        factory, accept = Image.OPEN[name]
        accepted = accept is None or accept(raw[:16])
        if accepted is True or (accepted and not isinstance(accepted, str)):
            try:
                width, height = factory(io.BytesIO(raw), "").size
                return int(width), int(height)
            except Exception:  # not this format after all, or a broken header
                continue
    return None


def _decode(data: np.ndarray, path: Path | str) -> np.ndarray | None:
    """Decode an image file's bytes; OpenCV's refusals become one-line errors.

    OpenCV raises (rather than returning None) for a header that declares more pixels than it
    agrees to decode (``CV_IO_MAX_IMAGE_PIXELS``, 2^30 by default): a 40000x40000 PNG of a few
    bytes must not turn into a traceback, nor into a 4.8 GB allocation.
    """
    try:
        return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as error:
        if "CV_IO_MAX_IMAGE_PIXELS" in str(error):
            size = declared_size(data)
            declared = f"{size[0]}x{size[1]} pixels" if size else "more pixels"
            raise InvalidImageError(
                f"cannot read image {path}: its header declares {declared}, more than OpenCV "
                "decodes (the environment variable OPENCV_IO_MAX_IMAGE_PIXELS raises the limit)"
            ) from None
        detail = " ".join(str(error).split(": error: ")[-1].split())
        raise InvalidImageError(
            f"cannot read image {path}: OpenCV refused it ({detail})") from None


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
