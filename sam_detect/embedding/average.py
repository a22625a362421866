# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The weight-free embedder: colour, gradient and texture histograms of a faded crop.

:class:`AverageEmbedder` needs no model files, runs in well under a millisecond per crop and is
deterministic, so it is the fallback when no pretrained encoder is installed and the embedder the
tests use. Each crop is letterboxed to ``SIZE x SIZE`` and described by three blocks:

* **colour**: a hue/saturation/value histogram with separate grey bins,
* **shape**: histograms of gradient orientation on a 1/2/4/8 grid pyramid (HOG-like), made
  mirror-invariant because an object facing left is the same object facing right,
* **texture**: rotation-invariant local binary pattern histograms at two radii.

Every histogram is weighted toward the crop centre and away from near-black pixels (the faded
context), square-rooted (Hellinger, so a few dominant bins do not swamp the rest), L2-normalised
and scaled by its block weight; the concatenation is L2-normalised.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from sam_detect.embedding.base import l2_normalise
from sam_detect.errors import InvalidImageError

SIZE = 64  # pixels of the letterboxed crop; larger sizes measured no better on real photos
CENTRE_SIGMA = 0.35  # of SIZE: the centre prior, since the object sits in the middle of its crop
DARK_GATE = (0.04, 0.15)  # max(R, G, B) / 255 ramp from "faded context" (0) to "object" (1)
HUE_BINS, SAT_BINS, VAL_BINS, GREY_BINS = 12, 3, 3, 4
GREY_CHROMA = 0.2  # saturation * value below which a pixel has no reliable hue
ORIENT_BINS = 9  # unsigned gradient orientations, 20 degrees each
GRID_WEIGHTS = ((1, 0.5), (2, 1.0), (4, 1.0), (8, 0.7))  # (cells per side, weight) per level
LBP_RADII = (1, 2)
LBP_STEP = 2  # grey levels a neighbour must exceed the centre by to count as brighter (noise)
BLOCK_WEIGHTS = {"colour": 0.6, "shape": 1.5, "texture": 1.4}


def validate_crops(crops: Any) -> list[np.ndarray]:
    """Return ``crops`` as a list of RGB ``uint8`` arrays, or raise :class:`InvalidImageError`.

    Grey ``(h, w)`` and RGBA ``(h, w, 4)`` crops are converted; anything else, or an empty crop,
    is refused with a one-line message.
    """
    if isinstance(crops, np.ndarray) and crops.ndim == 4:
        crops = list(crops)
    out = []
    for i, crop in enumerate(crops):
        crop = np.asarray(crop)
        if crop.ndim == 2:
            crop = np.repeat(crop[:, :, None], 3, axis=2)
        elif crop.ndim == 3 and crop.shape[2] == 4:
            crop = crop[:, :, :3]
        if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
            raise InvalidImageError(
                f"crop {i} must be an RGB uint8 array (h, w, 3), got {crop.dtype} {crop.shape}"
            )
        if crop.shape[0] < 1 or crop.shape[1] < 1:
            raise InvalidImageError(f"crop {i} is empty {crop.shape}; crops must be at least 1x1")
        out.append(np.ascontiguousarray(crop))
    return out


def letterbox(crops: list[np.ndarray], size: int) -> np.ndarray:
    """Resize each crop to fit ``size x size`` keeping its aspect, centred on black.

    Black padding looks like fully faded context, so a long thin object is not stretched.
    """
    out = np.zeros((len(crops), size, size, 3), np.uint8)
    for i, crop in enumerate(crops):
        stride = max(crop.shape[:2]) // (4 * size)
        if stride > 1:
            # a strided view first: averaging 4x4 samples per output pixel is still alias-free
            # enough, and INTER_AREA over a whole megapixel crop costs milliseconds
            crop = np.ascontiguousarray(crop[::stride, ::stride])
        h, w = crop.shape[:2]
        scale = size / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        # INTER_AREA averages when shrinking (no aliasing); it is nearest-neighbour-like when
        # enlarging, which would turn tiny crops into blocks with strong false edges
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        y, x = (size - nh) // 2, (size - nw) // 2
        out[i, y:y + nh, x:x + nw] = cv2.resize(crop, (nw, nh), interpolation=interp)
    return out


def _riu2_table() -> np.ndarray:
    """Map each 8-bit LBP code to its rotation-invariant uniform class (0-8, 9 = non-uniform)."""
    table = np.empty(256, np.int64)
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        changes = sum(bits[i] != bits[(i + 1) % 8] for i in range(8))
        table[code] = sum(bits) if changes <= 2 else 9
    return table


_RIU2 = _riu2_table()
_LBP_CLASSES = 10
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def _histogram(index: np.ndarray, weights: np.ndarray, bins: int) -> np.ndarray:
    """Weighted per-crop histograms: ``index`` (n, ...) of bin numbers -> (n, bins)."""
    n = index.shape[0]
    offset = (np.arange(n) * bins).reshape((n,) + (1,) * (index.ndim - 1))
    flat = np.bincount((index + offset).ravel(), weights.ravel(), minlength=n * bins)
    return flat.reshape(n, bins)


def _hellinger(hist: np.ndarray) -> np.ndarray:
    """Square-root then L2-normalise each row (rows sum to anything >= 0)."""
    return l2_normalise(np.sqrt(np.maximum(hist, 0.0)))


class AverageEmbedder:
    """Describe crops with colour, gradient-orientation and texture histograms (no weights).

    Attributes:
        name: ``"average-v1"``; bump the suffix whenever the descriptor changes, so a store filled
            by an older version is refused instead of silently mixing vectors.
        dim: Length of each vector (112 colour + 387 shape + 20 texture).
        unknown_threshold: Cosine similarity below which the nearest stored example is too far to
            trust. These vectors are non-negative, so similarities are compressed: on real photos
            a crop's nearest example of its own kind scored 0.89-0.96 (10th-50th percentile), its
            nearest unrelated object 0.90-0.95 (median), so the threshold only drops clear misses.

    Example:
        >>> import numpy as np
        >>> emb = AverageEmbedder()
        >>> crops = [np.full((30, 40, 3), (200, 30, 30), np.uint8), np.zeros((1, 1, 3), np.uint8)]
        >>> vectors = emb.embed(crops)
        >>> vectors.shape, vectors.dtype, round(float(np.linalg.norm(vectors[0])), 4)
        ((2, 519), dtype('float32'), 1.0)
    """

    name = "average-v1"
    unknown_threshold = 0.92

    def __init__(self) -> None:
        """Precompute the centre prior and the lookup tables (no parameters: one descriptor)."""
        colour = HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS
        shape = ORIENT_BINS * sum(max(1, g * g // 2) for g, _ in GRID_WEIGHTS)
        self.dim = colour + shape + _LBP_CLASSES * len(LBP_RADII)
        yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
        centre, sigma = (SIZE - 1) / 2.0, CENTRE_SIGMA * SIZE
        self._centre = np.exp(-((yy - centre) ** 2 + (xx - centre) ** 2) / (2 * sigma * sigma))
        # per-byte lookup tables: HSV_FULL stores hue, saturation and value as 0-255
        levels = np.arange(256)
        low, high = DARK_GATE
        # dark pixels keep a trace of weight so that an all-black crop still has a histogram
        self._gate = np.clip((levels / 255.0 - low) / (high - low), 0.01, 1).astype(np.float32)
        self._hue_bin = (levels * HUE_BINS // 256).astype(np.int32)
        self._sat_bin = (levels * SAT_BINS // 256).astype(np.int32)
        self._val_bin = (levels * VAL_BINS // 256).astype(np.int32)
        chromatic_bins = HUE_BINS * SAT_BINS * VAL_BINS
        self._grey_bin = (chromatic_bins + levels * GREY_BINS // 256).astype(np.int32)
        # the orientation histograms go straight into the finest grid's cells (coarser levels are
        # sums of those): per pixel, the index of its cell's first bin
        self._finest = max(grid for grid, _ in GRID_WEIGHTS)
        self._cells = self._finest * self._finest * ORIENT_BINS
        cell_of = np.arange(SIZE, dtype=np.int32) * self._finest // SIZE
        self._cell_index = (cell_of[:, None] * self._finest + cell_of[None, :]) * ORIENT_BINS
        # angles span 0-360 degrees, i.e. two turns of the unsigned bins, plus the one-bin shift
        self._wrap_bin = ((np.arange(2 * ORIENT_BINS + 2) - 1) % ORIENT_BINS).astype(np.int32)
        # mirroring an image maps orientation bin i (angle a) to the bin of angle 180 - a
        self._mirror_bins = ORIENT_BINS - 1 - np.arange(ORIENT_BINS)

    def __repr__(self) -> str:
        """Return the embedder's name and dimension."""
        return f"AverageEmbedder(name={self.name!r}, dim={self.dim})"

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """Return an ``(n, dim)`` float32 array of unit vectors for ``n`` RGB ``uint8`` crops.

        Args:
            crops: Faded crops of any size ``>= 1x1``.

        Raises:
            InvalidImageError: when a crop is not an RGB ``uint8`` image.
        """
        crops = validate_crops(crops)
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        images = letterbox(crops, SIZE)
        n = len(images)
        # one tall image: OpenCV converts the whole batch in a single call
        hsv = cv2.cvtColor(images.reshape(n * SIZE, SIZE, 3), cv2.COLOR_RGB2HSV_FULL)
        hsv = hsv.reshape(n, SIZE, SIZE, 3)
        value = hsv[..., 2]
        weights = self._centre[None] * self._gate[value]
        blocks = [
            BLOCK_WEIGHTS["colour"] * self._colour(hsv, weights),
            BLOCK_WEIGHTS["shape"] * self._shape(value.astype(np.float32) * np.float32(1 / 255)),
            BLOCK_WEIGHTS["texture"] * self._texture(images, weights),
        ]
        return l2_normalise(np.concatenate(blocks, axis=1))

    def _colour(self, hsv: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Hue x saturation x value histogram plus grey-level bins for unsaturated pixels."""
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        chromatic = (self._hue_bin[hue] * SAT_BINS + self._sat_bin[sat]) * VAL_BINS
        chromatic += self._val_bin[val]
        grey = sat.astype(np.uint16) * val < np.uint16(GREY_CHROMA * 255 * 255)
        index = np.where(grey, self._grey_bin[val], chromatic)
        hist = _histogram(index, weights, HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS)
        return _hellinger(hist / np.maximum(hist.sum(axis=1, keepdims=True), 1e-9))

    def _shape(self, value: np.ndarray) -> np.ndarray:
        """Mirror-invariant gradient-orientation histograms on a grid pyramid."""
        n = value.shape[0]
        gx = np.zeros_like(value)
        gy = np.zeros_like(value)
        gx[:, :, 1:-1] = value[:, :, 2:] - value[:, :, :-2]
        gy[:, 1:-1, :] = value[:, 2:, :] - value[:, :-2, :]
        magnitude, angle = cv2.cartToPolar(gx.reshape(n * SIZE, SIZE), gy.reshape(n * SIZE, SIZE))
        magnitude = magnitude.reshape(n, SIZE, SIZE)
        # soft-assign each pixel's unsigned orientation to its two nearest bins; the position is
        # shifted up by one bin so that it stays positive and truncation is floor
        position = angle.reshape(n, SIZE, SIZE) * np.float32(ORIENT_BINS / np.pi) + np.float32(0.5)
        lower = position.astype(np.int32)
        upper_share = position - lower.astype(np.float32)
        base = self._cell_index[None] + (np.arange(n, dtype=np.int32) * self._cells)[:, None, None]
        total = n * self._cells
        counts = np.bincount((base + self._wrap_bin[lower]).ravel(),
                             (magnitude * (1 - upper_share)).ravel(), minlength=total)
        counts += np.bincount((base + self._wrap_bin[lower + 1]).ravel(),
                              (magnitude * upper_share).ravel(), minlength=total)
        finest = self._finest
        fine = counts.reshape(n, finest, finest, ORIENT_BINS)
        levels = []
        for grid, weight in GRID_WEIGHTS:
            step = finest // grid
            hist = fine.reshape(n, grid, step, grid, step, ORIENT_BINS).sum(axis=(2, 4))
            hist = hist + hist[:, :, ::-1, :][..., self._mirror_bins]
            if grid > 1:
                # the mirrored half repeats the other half bin for bin: keep one, same cosine
                hist = hist[:, :, : grid // 2]
            levels.append(weight * _hellinger(hist.reshape(n, -1)))
        return l2_normalise(np.concatenate(levels, axis=1))

    def _texture(self, images: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Rotation-invariant uniform LBP histograms (10 classes) at each radius."""
        n = images.shape[0]
        grey = cv2.cvtColor(images.reshape(n * SIZE, SIZE, 3), cv2.COLOR_RGB2GRAY)
        grey = grey.reshape(n, SIZE, SIZE).astype(np.int16)
        brighter = grey + np.int16(LBP_STEP)
        blocks = []
        for radius in LBP_RADII:
            padded = np.pad(grey, ((0, 0), (radius, radius), (radius, radius)), mode="edge")
            code = np.zeros(grey.shape, np.uint8)
            for bit, (dy, dx) in enumerate(_NEIGHBOURS):
                y0, x0 = radius + dy * radius, radius + dx * radius
                neighbour = padded[:, y0:y0 + SIZE, x0:x0 + SIZE]
                code |= (neighbour >= brighter).view(np.uint8) << np.uint8(bit)
            hist = _histogram(_RIU2[code], weights, _LBP_CLASSES)
            blocks.append(_hellinger(hist / np.maximum(hist.sum(axis=1, keepdims=True), 1e-9)))
        return l2_normalise(np.concatenate(blocks, axis=1))
