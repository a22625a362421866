# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A reference set of generic objects: what "anything else" looks like to an embedder.

An absolute cosine threshold means something different for every embedder and every label: a
plain red box is 0.45 similar to a blue disc under EfficientNet, a textured photo much less. The
open-set decision therefore compares a query's similarity to a taught label with its similarity
to *generic objects*: crops of the colour photos bundled with scikit-image (astronaut, cat,
coffee, rocket, coins...), segmented by the classical segmenter, plus plain primitives (discs,
boxes, triangles, rings, ellipses, stars in random colours: the flat things a robot sees on a
table), all faded like every crop. A query that is no closer to the label than to generic
objects is not recognised.

The crops are embedded once per embedder and fade and cached in memory and on disk
(``$SAM_DETECT_CACHE`` or ``~/.cache/sam_detect``), keyed by a fingerprint of the embedder's
output, so two differently initialised models of one name never share a cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import weakref
from pathlib import Path
from typing import Any, Callable

import numpy as np

logger = logging.getLogger("sam_detect")

# scikit-image's bundled colour photos (no download). Busy textures (grass, gravel, brick) are
# left out on purpose: they look like backgrounds, not objects.
REFERENCE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "retina",
                    "hubble_deep_field", "immunohistochemistry", "logo", "colorwheel", "coins",
                    "camera", "moon", "horse", "clock", "page", "cell", "text")
SEGMENTS_PER_PHOTO = 12
GRID = 2  # also a GRID x GRID tiling of each photo, so large objects count too
PRIMITIVES = 96
REFERENCE_VERSION = 2

_memory: dict[str, np.ndarray] = {}
_fingerprints: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _photos() -> list[np.ndarray]:
    """Return the bundled photos as RGB uint8 arrays, at most 480 pixels on a side."""
    import cv2
    from skimage import data

    photos = []
    for name in REFERENCE_PHOTOS:
        try:
            image = np.asarray(getattr(data, name)())
        except Exception:  # a missing optional photo only shrinks the set
            continue
        if image.dtype != np.uint8:
            image = (255 * (image.astype(np.float64) / max(float(image.max()), 1e-9))).astype(
                np.uint8)
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        image = np.ascontiguousarray(image[:, :, :3])
        scale = 480 / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, (round(image.shape[1] * scale),
                                       round(image.shape[0] * scale)),
                               interpolation=cv2.INTER_AREA)
        photos.append(image)
    return photos


def _primitives(count: int = PRIMITIVES, seed: int = 7) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return ``count`` (image, mask) pairs: one plain shape in a random colour on a floor."""
    import cv2

    rng = np.random.default_rng(seed)
    shapes = ("disc", "box", "triangle", "ring", "ellipse", "star")
    out = []
    for index in range(count):
        size = 160
        floor = rng.normal(rng.uniform(40, 200), rng.uniform(2, 20), (size, size, 1))
        image = np.clip(np.repeat(floor, 3, axis=2), 0, 255).astype(np.uint8)
        hsv = np.uint8([[[rng.integers(0, 180), rng.integers(60, 256), rng.integers(90, 256)]]])
        colour = tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])
        mask = np.zeros((size, size), np.uint8)
        centre = (size // 2, size // 2)
        radius = int(rng.integers(25, 60))
        shape = shapes[index % len(shapes)]
        if shape == "disc":
            cv2.circle(mask, centre, radius, 1, -1)
        elif shape == "box":
            half = (radius, int(radius * rng.uniform(0.4, 1.0)))
            cv2.rectangle(mask, (80 - half[0], 80 - half[1]), (80 + half[0], 80 + half[1]), 1, -1)
        elif shape == "ring":
            cv2.circle(mask, centre, radius, 1, -1)
            cv2.circle(mask, centre, radius // 2, 0, -1)
        elif shape == "ellipse":
            cv2.ellipse(mask, centre, (radius, int(radius * rng.uniform(0.3, 0.8))),
                        float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:
            corners = 3 if shape == "triangle" else 10
            angles = np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, np.pi)
            radii = np.full(corners, radius, float)
            if shape == "star":
                radii[1::2] *= 0.45
            points = np.stack([80 + radii * np.cos(angles), 80 + radii * np.sin(angles)], 1)
            cv2.fillPoly(mask, [points.astype(np.int32)], 1)
        region = mask.astype(bool)
        image[region] = colour
        out.append((image, region))
    return out


def reference_objects() -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the generic objects as ``(RGB image, boolean mask)`` pairs.

    Segments and a tiling of the bundled photos, then the plain primitives; the order is fixed,
    so row ``i`` of :func:`reference_embeddings` is object ``i``.
    """
    from sam_detect.segmentation import NaiveSegmenter

    segmenter = NaiveSegmenter()
    objects = []
    for image in _photos():
        height, width = image.shape[:2]
        segments = sorted(segmenter.segment(image), key=lambda s: -s.area)
        masks = [s.mask for s in segments[:SEGMENTS_PER_PHOTO]]
        for row in range(GRID):
            for col in range(GRID):
                tile = np.zeros((height, width), bool)
                tile[row * height // GRID:(row + 1) * height // GRID,
                     col * width // GRID:(col + 1) * width // GRID] = True
                masks.append(tile)
        objects += [(image, mask) for mask in masks]
    return objects + _primitives()


def reference_crops(fade: Any) -> list[np.ndarray]:
    """Return faded crops of generic objects: segments and tiles of the bundled photos.

    Args:
        fade: The detector's fade strategy, so reference crops look like the queries.
    """
    from sam_detect.fading import make_faded_crop

    return [make_faded_crop(image, mask, fade)[0] for image, mask in reference_objects()]


def view_change(rng: np.random.Generator, image: np.ndarray,
                mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(image, mask)`` seen again as a robot's camera would: another view of it.

    Scale, in-plane rotation, a mirror, brightness, contrast and colour cast, blur and a part
    hidden or cut off: what separates two sightings of one object. Used to learn, per embedder,
    how similar two views of one object are (the positives of a label taught once).

    Example:
        >>> image = np.zeros((40, 40, 3), np.uint8); mask = np.zeros((40, 40), bool)
        >>> mask[10:30, 10:30] = True; image[mask] = (200, 50, 50)
        >>> seen, seen_mask = view_change(np.random.default_rng(0), image, mask)
        >>> seen.shape == image.shape and bool(seen_mask.any())
        True
    """
    import cv2

    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    centre = (float(xs.mean()), float(ys.mean())) if len(xs) else (width / 2, height / 2)
    angle = float(rng.uniform(-40, 40))
    scale = float(np.exp(rng.uniform(np.log(0.7), np.log(1.3))))
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    image = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    mask = cv2.warpAffine(mask.astype(np.uint8), matrix, (width, height),
                          flags=cv2.INTER_NEAREST) > 0
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    colour = image.astype(np.float32) / 255.0
    gain = rng.uniform(0.7, 1.3) * (1.0 + rng.uniform(-0.12, 0.12, 3))
    contrast = rng.uniform(0.75, 1.25)
    colour = (colour - colour.mean()) * contrast + colour.mean()
    colour = np.power(np.clip(colour * gain.astype(np.float32), 0, 1), rng.uniform(0.8, 1.25))
    image = (np.clip(colour, 0, 1) * 255 + 0.5).astype(np.uint8)
    if rng.random() < 0.5:
        size = int(rng.choice([3, 5]))
        image = cv2.GaussianBlur(image, (size, size), 0)
    ys, xs = np.nonzero(mask)
    if len(xs) > 16 and rng.random() < 0.5:  # a part hidden or out of the frame: one side cut
        share = rng.uniform(0.1, 0.3)
        axis = xs if rng.random() < 0.5 else ys
        low, high = axis.min(), axis.max()
        cut = low + share * (high - low) if rng.random() < 0.5 else high - share * (high - low)
        keep = axis >= cut if cut < (low + high) / 2 else axis <= cut
        hidden = np.zeros_like(mask)
        hidden[ys[~keep], xs[~keep]] = True
        mask = mask & ~hidden
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def reference_views(fade: Any, seed: int = 11) -> list[np.ndarray]:
    """Return one faded crop of each generic object seen again (:func:`view_change`).

    Row ``i`` is another view of reference object ``i`` (an empty view keeps the original).
    """
    from sam_detect.fading import make_faded_crop

    rng = np.random.default_rng(seed)
    crops = []
    for image, mask in reference_objects():
        seen, seen_mask = view_change(rng, image, mask)
        if seen_mask.sum() < 16:
            seen, seen_mask = image, mask
        crops.append(make_faded_crop(seen, seen_mask, fade)[0])
    return crops


def fingerprint(embedder: Any, fade: Any) -> str:
    """Return a key for ``embedder``'s outputs and ``fade``: its name and a probe embedding.

    Remembered per embedder object and fade, so the probe is embedded once, not per frame.
    """
    from sam_detect.fading import describe_fade

    fade_key = json.dumps(describe_fade(fade), sort_keys=True, default=str)
    try:
        known = _fingerprints.setdefault(embedder, {})
    except TypeError:  # an embedder that cannot be weakly referenced: no memo
        known = {}
    if fade_key not in known:
        known[fade_key] = _fingerprint(embedder, fade)
    return known[fade_key]


def _fingerprint(embedder: Any, fade: Any) -> str:
    from sam_detect.fading import describe_fade

    probe = np.zeros((32, 32, 3), np.uint8)
    probe[8:24, 4:28] = (200, 120, 40)
    probe[12:20, 12:20] = (30, 60, 200)
    vector = np.asarray(embedder.embed([probe]), np.float32)[0]
    digest = hashlib.sha256()
    digest.update(json.dumps([REFERENCE_VERSION, embedder.name, describe_fade(fade)],
                             sort_keys=True, default=str).encode())
    digest.update(np.round(vector, 3).astype(np.float32).tobytes())
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(embedder.name))
    return f"{safe}-{digest.hexdigest()[:16]}"


def cache_dir() -> Path:
    """Return the folder of the on-disk reference cache."""
    root = os.environ.get("SAM_DETECT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "sam_detect")
    return Path(root) / "reference"


def reference_embeddings(embedder: Any, fade: Any) -> np.ndarray:
    """Return the ``(n, dim)`` unit embeddings of the reference crops for ``embedder``/``fade``.

    Computed on first use (about 200 crops) and cached; a cache that cannot be written only costs
    the recomputation next time.
    """
    return _cached_embeddings(embedder, fade, "", reference_crops)


def reference_view_embeddings(embedder: Any, fade: Any) -> np.ndarray:
    """Return unit embeddings of the generic objects seen again: row ``i`` views object ``i``.

    With :func:`reference_embeddings`, they tell how similar two sightings of one object are
    for ``embedder`` (:func:`reference_views`); computed once and cached like the reference set.
    """
    return _cached_embeddings(embedder, fade, "-views", reference_views)


def _cached_embeddings(embedder: Any, fade: Any, suffix: str,
                       crops: Callable[[Any], list[np.ndarray]]) -> np.ndarray:
    key = fingerprint(embedder, fade) + suffix
    with _lock:
        if key in _memory:
            return _memory[key]
        path = cache_dir() / f"{key}.npy"
        vectors = None
        try:
            vectors = np.load(path)
            if vectors.ndim != 2 or vectors.shape[1] != embedder.dim:
                vectors = None
        except (OSError, ValueError):
            vectors = None
        if vectors is None:
            logger.info("embedding the generic-object reference set%s for %s (once)",
                        suffix.replace("-", " "), embedder.name)
            vectors = np.asarray(embedder.embed(crops(fade)), np.float32)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary = path.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(temporary, vectors)
                os.replace(temporary, path)
            except OSError as error:
                logger.debug("cannot cache the reference set at %s: %s", path, error)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        _memory[key] = vectors
        return vectors


def reference_similarity(queries: np.ndarray, reference: np.ndarray, top: int = 3) -> np.ndarray:
    """Return, per query row, the mean of its ``top`` highest similarities to the reference set.

    The mean of a few rather than the maximum: one odd reference crop should not decide alone.

    Example:
        >>> reference = np.eye(3, dtype=np.float32)
        >>> reference_similarity(np.array([[1.0, 0.0, 0.0]]), reference, top=1)
        array([1.], dtype=float32)
    """
    queries = np.atleast_2d(np.asarray(queries, np.float32))
    if not len(reference) or not len(queries):
        return np.full(len(queries), -1.0, np.float32)
    scores = queries @ reference.T
    top = max(1, min(top, scores.shape[1]))
    best = -np.partition(-scores, top - 1, axis=1)[:, :top]
    return best.mean(axis=1).astype(np.float32)
