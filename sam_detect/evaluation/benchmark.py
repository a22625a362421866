# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Build a few-shot instance benchmark from real object photos pasted on real textures.

The objects are the photographic stamps of Debian's ``tuxpaint-stamps-default`` package: PNG
photos of animals, fruit, tools, coins... with an alpha channel that is an exact instance mask.
Drawn stamps (cartoons, clip art) are filtered out by colour statistics (a photo has thousands of
colours and sensor noise everywhere; a drawing has flat fills), exact mirror copies are dropped,
and stamp folders with at least ``min_per_class`` photos become the categories. Each benchmark
image is a scikit-image texture (grass, gravel, brick, ...) with a few stamps pasted at random
scale and position, without overlap. The output is a COCO dataset (``images/*.png`` +
``annotations.json`` with exact RLE masks and the stamp each object came from in ``"source"``).
The same seed always gives byte-identical files.

Example:
    >>> make_benchmark("benchmark/", images=120, seed=0)["categories"][:3]  # doctest: +SKIP
    ['birds', 'fish', 'flowers']
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from sam_detect.errors import SamDetectError, require_extra
from sam_detect.evaluation.coco import IMAGES_DIR, annotation_from_mask, write_coco

logger = logging.getLogger("sam_detect")

STAMPS_ENV = "SAM_DETECT_STAMPS_DIR"
DEFAULT_STAMPS_DIR = Path("/usr/share/tuxpaint/stamps")

# The photo test: enough distinct colours inside the mask, and few interior pixels with an exactly
# zero gradient (flat fills). Checked against contact sheets of all 800 stamps: photos have
# flat fractions near 0, drawings 0.1-1.
MIN_UNIQUE_COLOURS = 1000
MAX_FLAT_FRACTION = 0.1
MIN_STAMP_SIDE = 40  # smaller stamps are icons, too coarse to scale up
#: Largest stamp read, in pixels: tuxpaint's are under a megapixel; a bigger PNG is skipped with a
#: warning instead of being decoded (a 40000x40000 PNG is a few kB on disk and 6 GB in memory).
MAX_STAMP_PIXELS = 4096 * 4096
#: Largest side of a generated image: 4K cameras fit, and a scene's float canvases stay small.
MAX_IMAGE_SIDE = 4096

# Bundled scikit-image photos used as backgrounds: textures, not scenes with objects of their own
# (which would be unannotated instances). Grey ones are tinted per image.
TEXTURES = ("grass", "gravel", "brick", "moon", "immunohistochemistry", "hubble_deep_field",
            "retina")


@dataclass(frozen=True)
class Stamp:
    """One photographic stamp.

    Attributes:
        path: The PNG file.
        source: Its path relative to the stamps folder (recorded in each annotation).
        category: The category (stamp folder) it belongs to, e.g. ``"birds"``.
        supercategory: The top-level folder, e.g. ``"animals"``.
    """

    path: Path
    source: str
    category: str
    supercategory: str


def stamps_dir(path: str | os.PathLike | None = None) -> Path:
    """Return the stamps folder: ``path``, else ``$SAM_DETECT_STAMPS_DIR``, else the Debian one.

    Raises:
        SamDetectError: when the folder does not exist.
    """
    chosen = Path(path or os.environ.get(STAMPS_ENV) or DEFAULT_STAMPS_DIR)
    if not chosen.is_dir():
        raise SamDetectError(
            f"tuxpaint stamps not found at {chosen}: sudo apt-get install "
            f"tuxpaint-stamps-default (or set {STAMPS_ENV} to a stamps folder)"
        )
    return chosen


def read_rgba(path: str | os.PathLike) -> np.ndarray | None:
    """Return a PNG as RGBA ``uint8``, or ``None`` when it has no transparency.

    Read with Pillow, which (unlike OpenCV's libpng) does not print warnings about the stamps'
    odd colour-profile chunks. A picture above :data:`MAX_STAMP_PIXELS` is not decoded: it is
    skipped (``None``) with a warning on the ``sam_detect`` logger.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_STAMP_PIXELS:
                logger.warning("skipped stamp %s: %dx%d pixels is above the %d-pixel limit",
                               path, width, height, MAX_STAMP_PIXELS)
                return None
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            if not has_alpha:
                return None
            return np.asarray(image.convert("RGBA"))
    except Image.DecompressionBombError:  # above Pillow's own limit: refused while opening
        logger.warning("skipped stamp %s: too many pixels to decode", path)
        return None
    except (OSError, UnidentifiedImageError):
        return None


def photo_statistics(rgba: np.ndarray) -> dict[str, float]:
    """Return the colour statistics that tell photos from drawings.

    Returns:
        ``unique_colours`` (distinct RGB values under the mask), ``flat_fraction`` (interior
        pixels whose Sobel gradient is below 1 grey level: flat fills), ``area`` (mask pixels).
    """
    mask = rgba[:, :, 3] > 127
    area = int(np.count_nonzero(mask))
    if area == 0:
        return {"unique_colours": 0, "flat_fraction": 1.0, "area": 0}
    rgb = rgba[:, :, :3][mask].astype(np.int32)
    unique = int(np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2]).size)
    grey = cv2.cvtColor(np.ascontiguousarray(rgba[:, :, :3]), cv2.COLOR_RGB2GRAY)
    grey = grey.astype(np.float32)
    magnitude = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    # Skip the anti-aliased rim, where drawings and photos look alike.
    interior = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if not interior.any():
        interior = mask
    flat = float(np.mean(magnitude[interior] < 1.0))
    return {"unique_colours": unique, "flat_fraction": flat, "area": area}


def is_photographic(rgba: np.ndarray) -> bool:
    """Return whether a stamp looks like a photo rather than a drawing.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> photo = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8); photo[..., 3] = 255
        >>> drawing = np.zeros((64, 64, 4), np.uint8); drawing[8:56, 8:56] = (200, 40, 40, 255)
        >>> is_photographic(photo), is_photographic(drawing)
        (True, False)
    """
    if min(rgba.shape[:2]) < MIN_STAMP_SIDE:
        return False
    stats = photo_statistics(rgba)
    return (stats["unique_colours"] >= MIN_UNIQUE_COLOURS
            and stats["flat_fraction"] < MAX_FLAT_FRACTION)


def _folder_category(relative: Path) -> tuple[str, str]:
    """Return ``(category, supercategory)`` of a stamp from its folders (not ``cartoon``)."""
    folders = [p for p in relative.parent.parts if p != "cartoon"]
    if not folders:
        return ("misc", "misc")
    return (folders[1] if len(folders) >= 2 else folders[0], folders[0])


def _thumbnail(rgba: np.ndarray) -> np.ndarray:
    """Return a 16x16 grey thumbnail on grey, to spot copies of one photo."""
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    grey = cv2.cvtColor(np.ascontiguousarray(rgba[:, :, :3]), cv2.COLOR_RGB2GRAY)
    flat = grey[:, :, None].astype(np.float32) * alpha + 128.0 * (1.0 - alpha)
    return cv2.resize(flat[:, :, 0], (16, 16), interpolation=cv2.INTER_AREA)


def find_photo_stamps(
    root: str | os.PathLike | None = None, min_per_class: int = 10
) -> list[Stamp]:
    """Return the photographic stamps of every category with at least ``min_per_class`` photos.

    A stamp's category is its second folder level (``animals/birds/duck.png`` -> ``birds``) or
    its only folder (``household/kettle.png`` -> ``household``). Categories that are too small are
    merged into their top-level folder (``vehicles/ship`` + ``vehicles/auto`` -> ``vehicles``)
    unless that folder already has a category of its own (``animals`` has ``birds``), so that no
    two categories overlap. Files ending ``_mirror`` and near-identical copies are skipped.

    Raises:
        SamDetectError: when the folder is missing or has fewer than two usable categories.
    """
    folder = stamps_dir(root)
    return _group_categories(scan_photo_stamps(folder), min_per_class, folder)


def scan_photo_stamps(root: str | os.PathLike | None = None) -> list[Stamp]:
    """Return every photographic stamp with its folder category (no grouping by count).

    Raises:
        SamDetectError: when the folder is missing.
    """
    folder = stamps_dir(root)
    kept: list[Stamp] = []
    thumbnails: list[np.ndarray] = []
    for path in sorted(folder.rglob("*.png")):
        relative = path.relative_to(folder)
        if "cartoon" in relative.parts or path.stem.endswith("_mirror"):
            continue
        if path.with_suffix(".svg").exists():  # a vector original: drawn, not photographed
            continue
        rgba = read_rgba(path)
        if rgba is None or not is_photographic(rgba):
            continue
        thumb = _thumbnail(rgba)
        if any(min(np.abs(t - thumb).mean(), np.abs(t - thumb[:, ::-1]).mean()) < 2.0
               for t in thumbnails):
            continue
        thumbnails.append(thumb)
        category, supercategory = _folder_category(relative)
        kept.append(Stamp(path, relative.as_posix(), category, supercategory))
    return kept


def _group_categories(stamps: list[Stamp], min_per_class: int, folder: Path) -> list[Stamp]:
    counts: dict[str, int] = defaultdict(int)
    for stamp in stamps:
        counts[stamp.category] += 1
    big = {c for c, n in counts.items() if n >= min_per_class}
    tops_with_own = {s.supercategory for s in stamps if s.category in big}
    merged = []
    for stamp in stamps:
        if stamp.category in big:
            merged.append(stamp)
        elif stamp.supercategory not in tops_with_own:
            merged.append(Stamp(stamp.path, stamp.source, stamp.supercategory,
                                stamp.supercategory))
    counts = defaultdict(int)
    for stamp in merged:
        counts[stamp.category] += 1
    result = [s for s in merged if counts[s.category] >= min_per_class]
    if len({s.category for s in result}) < 2:
        raise SamDetectError(
            f"{folder} has fewer than two categories with >= {min_per_class} photographic "
            "stamps; lower --min-per-class or point SAM_DETECT_STAMPS_DIR at a full stamps folder"
        )
    return result


def load_texture(name: str) -> np.ndarray:
    """Return a bundled scikit-image photo as RGB ``uint8``."""
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3].astype(np.uint8))


def _background(texture: np.ndarray, grey: bool, size: tuple[int, int],
                rng: np.random.Generator) -> np.ndarray:
    """Return a random crop of ``texture`` resized to ``size`` (W, H), tinted when grey."""
    width, height = size
    th, tw = texture.shape[:2]
    # A random zoom: the crop covers 50-100 % of the texture's limiting side.
    frac = rng.uniform(0.5, 1.0)
    crop_w = max(8, int(min(tw, th * width / height) * frac))
    crop_h = max(8, int(crop_w * height / width))
    crop_h = min(crop_h, th)
    x0 = int(rng.integers(0, tw - crop_w + 1))
    y0 = int(rng.integers(0, th - crop_h + 1))
    crop = texture[y0:y0 + crop_h, x0:x0 + crop_w]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    out = cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    if grey:
        tint = rng.uniform(0.55, 1.15, size=3).astype(np.float32)
        out *= tint
    out *= rng.uniform(0.8, 1.15)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _scaled_stamp(rgba: np.ndarray, longest: int) -> np.ndarray:
    """Return the stamp cropped to its mask, resized so its longest side is ``longest``."""
    ys, xs = np.nonzero(rgba[:, :, 3] > 127)
    rgba = rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = rgba.shape[:2]
    scale = longest / max(h, w)
    new_size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    # Premultiply so the colour of fully transparent pixels does not bleed into the rim.
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    premult = np.concatenate([rgba[:, :, :3] * alpha, alpha * 255.0], axis=2)
    resized = cv2.resize(premult, new_size, interpolation=interp)
    out_alpha = np.clip(resized[:, :, 3:4], 0, 255)
    colour = resized[:, :, :3] / np.maximum(out_alpha / 255.0, 1e-6)
    out = np.concatenate([np.clip(colour, 0, 255), out_alpha], axis=2)
    # Not mirrored: signs and coins carry text.
    return (out + 0.5).astype(np.uint8)


def _paste(canvas: np.ndarray, stamp: np.ndarray, x: int, y: int) -> np.ndarray:
    """Alpha-blend ``stamp`` onto ``canvas`` at ``(x, y)``; return its full-frame mask."""
    h, w = stamp.shape[:2]
    alpha = stamp[:, :, 3:4].astype(np.float32) / 255.0
    region = canvas[y:y + h, x:x + w].astype(np.float32)
    blended = stamp[:, :, :3].astype(np.float32) * alpha + region * (1.0 - alpha)
    canvas[y:y + h, x:x + w] = (blended + 0.5).astype(np.uint8)
    mask = np.zeros(canvas.shape[:2], bool)
    mask[y:y + h, x:x + w] = stamp[:, :, 3] > 127
    return mask


def instances_per_category(annotations: list[dict[str, Any]],
                           category_ids: dict[str, int]) -> dict[str, int]:
    """Count COCO annotations per category name, sorted by name (categories with none left out)."""
    id_to_name = {v: k for k, v in category_ids.items()}
    counts: dict[str, int] = defaultdict(int)
    for ann in annotations:
        counts[id_to_name[ann["category_id"]]] += 1
    return dict(sorted(counts.items()))


def make_benchmark(
    out: str | os.PathLike,
    images: int = 120,
    seed: int = 0,
    min_per_class: int = 10,
    size: tuple[int, int] = (640, 480),
    objects_per_image: tuple[int, int] = (2, 5),
    stamps_root: str | os.PathLike | None = None,
    scale_range: tuple[float, float] = (0.2, 0.45),
    progress: bool = False,
) -> dict[str, Any]:
    """Write a benchmark dataset to ``out`` (``images/*.png`` + ``annotations.json``).

    Args:
        out: Output folder (created).
        images: Number of images.
        seed: Random seed; the same seed and stamps give byte-identical output.
        min_per_class: Least photographic stamps a category needs to be used.
        size: Image ``(width, height)``.
        objects_per_image: Inclusive range of objects pasted per image.
        stamps_root: Stamps folder (default ``$SAM_DETECT_STAMPS_DIR`` or the Debian one).
        scale_range: Object size (longest side) as a fraction of the image's shorter side.
        progress: Show a progress bar on stderr.

    Returns:
        A summary: ``images``, ``instances``, ``categories``, ``per_category`` counts,
        ``stamps`` (photographic stamps used) and ``path`` of the annotations.

    Raises:
        SamDetectError: for missing stamps or invalid arguments.
    """
    from tqdm import tqdm

    require_extra("skimage", "eval", "sam-detect make-benchmark")
    width, height = size
    check_size(size)
    low, high = objects_per_image
    if images < 1 or width < 32 or height < 32 or not 1 <= low <= high:
        raise SamDetectError(
            "need --images >= 1, --size of at least 32x32 and --objects-per-image a-b "
            "with 1 <= a <= b"
        )
    stamps = find_photo_stamps(stamps_root, min_per_class)
    by_category: dict[str, list[Stamp]] = defaultdict(list)
    for stamp in stamps:
        by_category[stamp.category].append(stamp)
    categories = sorted(by_category)
    category_ids = {name: i for i, name in enumerate(categories, start=1)}
    supercategories = {s.category: s.supercategory for s in stamps}
    textures = {name: load_texture(name) for name in TEXTURES}
    grey = {name: bool(np.all(t[:, :, 0] == t[:, :, 1])) for name, t in textures.items()}
    rgba_cache: dict[Path, np.ndarray] = {}

    out = Path(out)
    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    image_entries: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    shorter = min(width, height)
    for index in tqdm(range(images), desc="make-benchmark", disable=not progress):
        image_id = index + 1
        texture_name = TEXTURES[int(rng.integers(len(TEXTURES)))]
        canvas = _background(textures[texture_name], grey[texture_name], (width, height), rng)
        occupied = np.zeros((height, width), bool)
        placed: list[tuple[np.ndarray, Stamp]] = []
        for _ in range(int(rng.integers(low, high + 1))):
            category = categories[int(rng.integers(len(categories)))]
            stamp = by_category[category][int(rng.integers(len(by_category[category])))]
            if stamp.path not in rgba_cache:
                rgba_cache[stamp.path] = read_rgba(stamp.path)
            rgba = rgba_cache[stamp.path]
            # Small stamps are not blown up past 3x: that would only show blur.
            longest = int(shorter * rng.uniform(*scale_range))
            longest = max(16, min(longest, 3 * max(rgba.shape[:2])))
            scaled = _scaled_stamp(rgba, longest)
            h, w = scaled.shape[:2]
            if h >= height or w >= width:
                continue
            for _attempt in range(30):
                x = int(rng.integers(0, width - w + 1))
                y = int(rng.integers(0, height - h + 1))
                # Boxes, grown by a small gap, must not touch: no overlap, no shared edges.
                gap = max(2, shorter // 80)
                if not occupied[max(0, y - gap):y + h + gap, max(0, x - gap):x + w + gap].any():
                    break
            else:
                continue
            mask = _paste(canvas, scaled, x, y)
            occupied[y:y + h, x:x + w] = True
            for earlier, _ in placed:  # exact masks after occlusion (none when boxes are apart)
                earlier &= ~mask
            placed.append((mask, stamp))
        file_name = f"{image_id:06d}.png"
        cv2.imwrite(str(out / IMAGES_DIR / file_name), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
        image_entries.append({"id": image_id, "file_name": file_name, "width": width,
                              "height": height, "background": texture_name})
        for mask, stamp in placed:
            if mask.any():
                annotations.append(annotation_from_mask(
                    len(annotations) + 1, image_id, category_ids[stamp.category], mask,
                    source=stamp.source))
    info = {
        "description": "sam-detect few-shot benchmark: tuxpaint photo stamps on "
                       "scikit-image textures",
        "seed": seed,
        "images": images,
        "size": [width, height],
        "objects_per_image": [low, high],
        "min_per_class": min_per_class,
        "license": "stamps: tuxpaint-stamps-default (GPL-2.0); textures: scikit-image data",
    }
    cats = [{"id": category_ids[c], "name": c, "supercategory": supercategories[c]}
            for c in categories]
    path = write_coco(out, image_entries, cats, annotations, info)
    per_category = instances_per_category(annotations, category_ids)
    return {
        "path": str(path),
        "images": images,
        "instances": len(annotations),
        "categories": categories,
        "per_category": per_category,
        "stamps": len(stamps),
    }


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"640x480"`` into ``(640, 480)``.

    Raises:
        SamDetectError: when the text is not ``WxH`` with positive integers.
    """
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SamDetectError(f"--size must look like 640x480, got '{text}'") from None
    if width <= 0 or height <= 0:
        raise SamDetectError(f"--size must be positive, got '{text}'")
    check_size((width, height))
    return width, height


def check_size(size: tuple[int, int]) -> None:
    """Refuse an image size with a side above :data:`MAX_IMAGE_SIDE`.

    Raises:
        SamDetectError: naming the size and the limit.
    """
    width, height = size
    if max(width, height) > MAX_IMAGE_SIDE:
        raise SamDetectError(f"--size {width}x{height} is too large: each side is at most "
                             f"{MAX_IMAGE_SIDE} pixels")


def parse_range(text: str) -> tuple[int, int]:
    """Parse ``"2-5"`` (or ``"3"``) into an inclusive ``(low, high)`` range.

    Raises:
        SamDetectError: when the text is not ``a-b`` with ``1 <= a <= b``.
    """
    try:
        parts = [int(v) for v in text.split("-")]
    except ValueError:
        raise SamDetectError(f"--objects-per-image must look like 2-5, got '{text}'") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not 1 <= parts[0] <= parts[1]:
        raise SamDetectError(f"--objects-per-image must look like 2-5, got '{text}'")
    return parts[0], parts[1]


def category_counts(stamps: Sequence[Stamp]) -> dict[str, int]:
    """Return ``{category: number of stamps}``, sorted by name."""
    counts: dict[str, int] = defaultdict(int)
    for stamp in stamps:
        counts[stamp.category] += 1
    return dict(sorted(counts.items()))


__all__ = ["DEFAULT_STAMPS_DIR", "MAX_IMAGE_SIDE", "MAX_STAMP_PIXELS", "STAMPS_ENV", "Stamp",
           "category_counts", "check_size", "find_photo_stamps", "is_photographic",
           "make_benchmark", "parse_size", "parse_range", "photo_statistics", "stamps_dir"]
