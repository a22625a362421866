# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Masks from a person's prompts: positive/negative points and a box.

Two implementations of one small protocol, :class:`PromptedMasker`:

* :class:`GrabCutMasker` - classical, CPU, no weights: OpenCV's GrabCut seeded by the points
  (sure foreground/background disks) inside a box, or inside regions of a few sizes around the
  points when no box is given; each size gives one candidate mask, so a person can cycle them.
* :class:`SAM2Masker` - SAM2's prompted predictor (the segmenter's own model), which keeps the
  encoded features of the last few images by content so that clicks never re-encode.

:func:`create_masker` picks SAM2's when the detector's segmenter answers prompts, GrabCut
otherwise.

Example:
    >>> import numpy as np
    >>> img = np.full((120, 160, 3), 40, np.uint8); img[30:80, 50:110] = (220, 40, 40)
    >>> masks = GrabCutMasker().candidates(img, points=[(80, 55)], point_labels=[1])
    >>> m = masks[0].mask; bool(m[55, 80]), bool(m[5, 5])
    (True, False)
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Protocol, Sequence, runtime_checkable

import cv2
import numpy as np

from sam_detect.errors import SamDetectError
from sam_detect.results import Segment

#: GrabCut runs on a window around the prompts whose longer side is at most this.
WORK_SIDE = 160
#: Candidate regions around point prompts, as fractions of the image's shorter side.
REGION_FRACTIONS = (0.45, 0.75)
SEED_RADIUS = 3


@runtime_checkable
class PromptedMasker(Protocol):
    """Turns prompts on an image into candidate masks, best first."""

    def candidates(self, image: np.ndarray, points: Sequence[Sequence[float]] | None = None,
                   point_labels: Sequence[int] | None = None, box: Sequence[float] | None = None,
                   first: int = 0, limit: int | None = None) -> list[Segment]:
        """Return candidate masks for the prompts (xy pixels; labels 1 = object, 0 = not).

        ``first`` and ``limit`` select which candidates to compute (best first), so a caller can
        answer with the first at once and make the others while the person looks at it.
        """
        ...


def check_prompts(
    shape: tuple[int, ...],
    points: Sequence[Sequence[float]] | None,
    point_labels: Sequence[int] | None,
    box: Sequence[float] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate prompts against an image of ``shape``; return points, labels and box arrays.

    Raises:
        SamDetectError: for no prompt at all, no positive point without a box, mismatched
            lengths, coordinates outside the image or an empty box.

    Example:
        >>> pts, labels, box = check_prompts((10, 20, 3), [(3, 4)], None, None)
        >>> pts.tolist(), labels.tolist(), box
        ([[3.0, 4.0]], [1], None)
    """
    height, width = shape[:2]
    pts = np.asarray(points if points is not None else [], dtype=np.float64).reshape(-1, 2)
    labels = (np.ones(len(pts), np.int64) if point_labels is None
              else np.asarray(point_labels, dtype=np.int64).reshape(-1))
    if len(labels) != len(pts):
        raise SamDetectError(f"got {len(pts)} points but {len(labels)} point labels")
    if not set(labels.tolist()) <= {0, 1}:
        raise SamDetectError("point labels must be 1 (on the object) or 0 (background)")
    if len(pts) and (not np.isfinite(pts).all() or (pts < 0).any()
                     or (pts[:, 0] >= width).any() or (pts[:, 1] >= height).any()):
        raise SamDetectError(f"points must lie inside the {width}x{height} image")
    box_array = None
    if box is not None:
        box_array = np.asarray(box, dtype=np.float64).reshape(-1)
        if box_array.shape != (4,) or not np.isfinite(box_array).all():
            raise SamDetectError("box must be four numbers x0, y0, x1, y1")
        box_array = np.clip(box_array, 0, [width, height, width, height])
        if box_array[2] - box_array[0] < 2 or box_array[3] - box_array[1] < 2:
            raise SamDetectError("box is empty; drag a larger box")
    if box_array is None and not (labels == 1).any():
        raise SamDetectError("give a box or at least one positive point on the object")
    return pts, labels, box_array


def _dedupe(segments: list[Segment], iou_limit: float = 0.92) -> list[Segment]:
    kept: list[Segment] = []
    for segment in segments:
        if not segment.mask.any():
            continue
        if all(_iou(segment.mask, other.mask) < iou_limit for other in kept):
            kept.append(segment)
    return kept


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


class GrabCutMasker:
    """Classical prompted masks: GrabCut seeded by points and a box.

    Args:
        iterations: GrabCut iterations per candidate.
        work_side: Longer side of the window GrabCut runs on (masks are scaled back).

    Positive points become small sure-foreground disks, negative points sure-background disks.
    With a box, everything outside it is background and one mask is returned. With points only,
    squares of a few sizes around the positive points play the box's part and each gives one
    candidate. Only the connected parts touching a positive point (or, with a box and no point,
    the largest part) are kept.
    """

    name = "grabcut"

    def __init__(self, iterations: int = 3, work_side: int = WORK_SIDE) -> None:
        self.iterations = iterations
        self.work_side = work_side

    def candidates(self, image: np.ndarray, points: Sequence[Sequence[float]] | None = None,
                   point_labels: Sequence[int] | None = None, box: Sequence[float] | None = None,
                   first: int = 0, limit: int | None = None) -> list[Segment]:
        """Return candidate masks for the prompts, best first (see the class docstring)."""
        pts, labels, box_array = check_prompts(image.shape, points, point_labels, box)
        if box_array is not None:
            regions = [box_array]
        else:
            positive = pts[labels == 1]
            centre = (positive.min(0) + positive.max(0)) / 2
            spread = positive.max(0) - positive.min(0)
            regions = []
            for fraction in REGION_FRACTIONS:
                half = np.maximum(spread / 2 + 4, fraction * min(image.shape[:2]) / 2)
                regions.append(np.concatenate([centre - half, centre + half]))
        segments = []
        for region in regions[first:None if limit is None else first + limit]:
            mask = self._grabcut(image, region, pts, labels)
            if mask is not None:
                segments.append(Segment(mask=mask, score=self._score(mask, region)))
        return _dedupe(segments)

    def _grabcut(self, image: np.ndarray, region: np.ndarray, pts: np.ndarray,
                 labels: np.ndarray) -> np.ndarray | None:
        """Run GrabCut on a window around ``region`` only: the rest of the picture is background.

        The window (the region plus a margin that models the local background) is scaled so its
        longer side is at most ``work_side``: the cost no longer grows with the picture's size.
        """
        height, width = image.shape[:2]
        x0, y0 = max(0.0, float(region[0])), max(0.0, float(region[1]))
        x1, y1 = min(float(width), float(region[2])), min(float(height), float(region[3]))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        margin = max(8.0, 0.25 * max(x1 - x0, y1 - y0))
        wx0, wy0 = int(max(0, x0 - margin)), int(max(0, y0 - margin))
        wx1, wy1 = int(min(width, np.ceil(x1 + margin))), int(min(height, np.ceil(y1 + margin)))
        window = image[wy0:wy1, wx0:wx1]
        scale = min(1.0, self.work_side / max(window.shape[:2]))
        size = (max(2, round(window.shape[1] * scale)), max(2, round(window.shape[0] * scale)))
        small = cv2.resize(window, size, interpolation=cv2.INTER_AREA) if scale < 1 else window
        bgr = np.ascontiguousarray(small[:, :, ::-1])
        seeds = np.full(bgr.shape[:2], cv2.GC_BGD, np.uint8)
        rx0, ry0 = int((x0 - wx0) * scale), int((y0 - wy0) * scale)
        rx1, ry1 = int(np.ceil((x1 - wx0) * scale)), int(np.ceil((y1 - wy0) * scale))
        seeds[ry0:ry1, rx0:rx1] = cv2.GC_PR_FGD
        local = (pts - [wx0, wy0]) * scale
        inside = ((local >= 0) & (local < [bgr.shape[1], bgr.shape[0]])).all(axis=1)
        for (x, y), label in zip(local[inside].round().astype(int), labels[inside]):
            cv2.circle(seeds, (int(x), int(y)), SEED_RADIUS,
                       int(cv2.GC_FGD if label == 1 else cv2.GC_BGD), -1)
        if not ((seeds == cv2.GC_BGD).any() and (seeds != cv2.GC_BGD).any()):
            # GrabCut needs both sides to model: a region covering the whole image gets a frame.
            seeds[[0, -1], :] = cv2.GC_BGD
            seeds[:, [0, -1]] = cv2.GC_BGD
        background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        # GrabCut seeds its colour models with k-means on OpenCV's global RNG: the same click
        # must give the same mask whatever ran before it.
        cv2.setRNGSeed(0)
        try:
            cv2.grabCut(bgr, seeds, None, background, foreground, self.iterations,
                        cv2.GC_INIT_WITH_MASK)
        except cv2.error:
            return None
        small_mask = (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)
        small_mask = self._keep_touching(small_mask, local[inside][labels[inside] == 1])
        if small_mask is None:
            return None
        full = np.zeros((height, width), bool)
        full[wy0:wy1, wx0:wx1] = cv2.resize(
            small_mask.astype(np.uint8), (wx1 - wx0, wy1 - wy0),
            interpolation=cv2.INTER_NEAREST).astype(bool)
        return full

    @staticmethod
    def _keep_touching(mask: np.ndarray, positive: np.ndarray) -> np.ndarray | None:
        count, components = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        if count <= 1:
            return None
        if len(positive):
            keep = {int(components[int(min(y, mask.shape[0] - 1)), int(min(x, mask.shape[1] - 1))])
                    for x, y in positive}
            keep.discard(0)
        else:
            areas = np.bincount(components.ravel())
            areas[0] = 0
            keep = {int(areas.argmax())}
        if not keep:
            return None
        return np.isin(components, list(keep))

    @staticmethod
    def _score(mask: np.ndarray, region: np.ndarray) -> float:
        """Rate a mask by how well it stays inside its region (touching its edges is a doubt)."""
        x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
        x1 = min(mask.shape[1], int(np.ceil(region[2])))
        y1 = min(mask.shape[0], int(np.ceil(region[3])))
        inside = mask[y0:y1, x0:x1]
        if not inside.any():
            return 0.0
        edge = np.concatenate([inside[0], inside[-1], inside[:, 0], inside[:, -1]])
        return float(1.0 - edge.mean())

    def __repr__(self) -> str:
        return f"GrabCutMasker(iterations={self.iterations}, work_side={self.work_side})"


class SAM2Masker:
    """SAM2's prompted predictor, with the last few images' features kept by content.

    Args:
        segmenter: A :class:`~sam_detect.segmentation.sam2.SAM2Segmenter` (the detector's own,
            so the model is loaded once).
        cache_size: How many encoded images to keep.

    The segmenter itself remembers only its last image; the detector's segment-everything pass
    and background pre-encoding of the next pictures would evict it, so this keeps a small LRU of
    the encoded features and puts them back before decoding.
    """

    name = "sam2"

    def __init__(self, segmenter: Any, cache_size: int = 4) -> None:
        self.segmenter = segmenter
        self.cache_size = cache_size
        self._cache: collections.OrderedDict[Any, tuple[Any, ...]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def _set_image(self, image: np.ndarray) -> None:
        import zlib

        key = (image.shape, zlib.crc32(memoryview(np.ascontiguousarray(image)).cast("B")))
        seg = self.segmenter
        if key in self._cache:
            # Put the cached encoding back (the segmenter's own single-image cache fields).
            seg._features, seg._image_size, seg._fingerprint = self._cache[key]
            self._cache.move_to_end(key)
            return
        seg.set_image(image)
        self._cache[key] = (seg._features, seg._image_size, seg._fingerprint)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def candidates(self, image: np.ndarray, points: Sequence[Sequence[float]] | None = None,
                   point_labels: Sequence[int] | None = None, box: Sequence[float] | None = None,
                   first: int = 0, limit: int | None = None) -> list[Segment]:
        """Return SAM2's mask for all prompts together, then (for one point) its alternatives."""
        pts, labels, box_array = check_prompts(image.shape, points, point_labels, box)
        wanted = range(first, 2 if limit is None else first + limit)
        with self._lock:
            self._set_image(image)
            kwargs: dict[str, Any] = {}
            if len(pts):
                kwargs.update(points=pts[None].astype(np.float32),
                              point_labels=labels[None].astype(np.int64))
            if box_array is not None:
                kwargs["boxes"] = box_array[None].astype(np.float32)
            masks, scores = self.segmenter.predict(**kwargs)
            segments = [Segment(mask=masks[0], score=float(scores[0]))]
            if 1 in wanted and len(pts) == 1 and box_array is None:
                # A single click is ambiguous (part or whole?): offer the box of the mask too.
                ys, xs = np.nonzero(masks[0])
                if len(xs):
                    whole = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]],
                                     np.float32)
                    more, more_scores = self.segmenter.predict(boxes=whole)
                    segments.append(Segment(mask=more[0], score=float(more_scores[0])))
        if 0 not in wanted:
            segments = [s for s in _dedupe(segments)[1:]] if len(segments) > 1 else []
            return segments
        return _dedupe(segments)[:len(wanted)]

    def __repr__(self) -> str:
        return f"SAM2Masker({self.segmenter!r})"


def create_masker(segmenter: Any) -> PromptedMasker:
    """Return SAM2's prompted masker when ``segmenter`` answers prompts, else GrabCut's."""
    if callable(getattr(segmenter, "predict", None)) and callable(
            getattr(segmenter, "set_image", None)):
        return SAM2Masker(segmenter)
    return GrabCutMasker()


__all__ = ["GrabCutMasker", "PromptedMasker", "SAM2Masker", "check_prompts", "create_masker"]
