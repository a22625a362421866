# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Cheap per-track mask updates between key frames.

Segment-everything finds every object but costs a full pass (SAM2: an encoder pass plus a
16x16 grid of prompts through the decoder). Between key frames the objects are already known, so
each track's new mask comes from a cheaper step:

* :class:`PromptPropagator` (SAM2 and any promptable segmenter): the frame is encoded once and
  the decoder gets one prompt per track: its motion-predicted box, padded, plus an interior
  point of its last mask.
* :class:`TemplatePropagator` (the classical segmenter): the track's last appearance is found
  again near its predicted box by template matching under its mask; the mask moves rigidly.
* :class:`CropPropagator` (any other segmenter): the segmenter runs on a padded crop around each
  track's predicted box, and the component that overlaps the predicted mask is kept, clipped to
  that mask grown by the distance an object can move in a frame (so an object that touches a
  neighbour does not swallow it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import cv2
import numpy as np

from sam_detect.results import BBox, Segment
from sam_detect.tracking.base import Track, crop_iou, paste_crop


class Propagator(Protocol):
    """Moves known tracks' masks to a new frame."""

    def propagate(self, image: np.ndarray, tracks: Sequence[Track],
                  frames_ahead: Sequence[int]) -> list[Segment | None]:
        """Return each track's mask in ``image`` (None when it was not found)."""
        ...


def padded_box(bbox: BBox, padding: float, minimum: int, shape: tuple[int, int]) -> BBox:
    """Return ``bbox`` grown by ``padding`` x its size (at least ``minimum`` px), clipped."""
    x0, y0, x1, y1 = bbox
    pad_x = max(minimum, round((x1 - x0) * padding))
    pad_y = max(minimum, round((y1 - y0) * padding))
    height, width = shape
    return (max(0, x0 - pad_x), max(0, y0 - pad_y), min(width, x1 + pad_x),
            min(height, y1 + pad_y))


def interior_point(track: Track, bbox: BBox) -> tuple[float, float]:
    """Return the point deepest inside the track's mask, placed at ``bbox``."""
    crop = np.pad(track.mask_crop.astype(np.uint8), 1)
    distance = cv2.distanceTransform(crop, cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return (float(bbox[0] + x - 1) + 0.5, float(bbox[1] + y - 1) + 0.5)


@dataclass
class PromptPropagator:
    """One box-and-point prompt per track through a promptable segmenter (SAM2).

    Args:
        segmenter: Has ``segment_prompts(image, points=, point_labels=, boxes=)`` and caches
            the image embedding, so all tracks share one encoder pass.
        padding: The predicted box grows by this fraction of its size on each side (motion).
    """

    segmenter: Any
    padding: float = 0.1

    def propagate(self, image: np.ndarray, tracks: Sequence[Track],
                  frames_ahead: Sequence[int]) -> list[Segment | None]:
        """Return each track's mask in ``image``; see :class:`Propagator`."""
        if not tracks:
            return []
        shape = image.shape[:2]
        boxes, points = [], []
        for track, ahead in zip(tracks, frames_ahead):
            predicted = track.predicted_bbox(ahead)
            boxes.append(padded_box(predicted, self.padding, 2, shape))
            x, y = interior_point(track, predicted)
            points.append((min(max(x, 0.0), shape[1] - 1.0), min(max(y, 0.0), shape[0] - 1.0)))
        segments = self.segmenter.segment_prompts(
            image, points=np.asarray(points, np.float32)[:, None, :],
            point_labels=np.ones((len(points), 1), np.int64),
            boxes=np.asarray(boxes, np.float32))
        return [segment if segment.area > 0 else None for segment in segments]


class OneTrackAtATime:
    """A propagator that finds each track on its own (``_one``), one after another."""

    def propagate(self, image: np.ndarray, tracks: Sequence[Track],
                  frames_ahead: Sequence[int]) -> list[Segment | None]:
        """Return each track's mask in ``image``; see :class:`Propagator`."""
        return [self._one(image, track, ahead) for track, ahead in zip(tracks, frames_ahead)]

    def _one(self, image: np.ndarray, track: Track, ahead: int) -> Segment | None:
        raise NotImplementedError


@dataclass
class CropPropagator(OneTrackAtATime):
    """Re-segment a padded crop around each track's predicted box (the classical segmenter).

    Args:
        segmenter: Any :class:`~sam_detect.segmentation.Segmenter`.
        padding: The crop is the predicted box grown by this fraction of its size on each side;
            its border must show background, which the classical segmenter models.
        min_padding: Least padding in pixels.
        growth: How far, as a fraction of the object's size (plus its speed), a mask may reach
            beyond its predicted position.
    """

    segmenter: Any
    padding: float = 0.5
    min_padding: int = 12
    growth: float = 0.15

    def _one(self, image: np.ndarray, track: Track, ahead: int) -> Segment | None:
        shape = image.shape[:2]
        predicted = track.predicted_bbox(ahead)
        window = padded_box(predicted, self.padding, self.min_padding, shape)
        x0, y0, x1, y1 = window
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        segments = self.segmenter.segment(np.ascontiguousarray(image[y0:y1, x0:x1]))
        expected = paste_crop(track.mask_crop, (predicted[0] - x0, predicted[1] - y0, 0, 0),
                              (y1 - y0, x1 - x0))
        if not segments or not expected.any():
            return None
        overlaps = [crop_iou(s.mask, (0, 0, 0, 0), expected, (0, 0, 0, 0)) for s in segments]
        best = int(np.argmax(overlaps))
        if overlaps[best] <= 0.0:
            return None
        size = max(predicted[2] - predicted[0], predicted[3] - predicted[1])
        speed = float(np.hypot(*track.velocity)) * ahead
        radius = int(round(self.growth * size + speed)) + 2
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        reach = cv2.dilate(expected.view(np.uint8), kernel).astype(bool)
        local = segments[best].mask & reach
        if not local.any():
            return None
        return Segment(paste_crop(local, window, shape), segments[best].score)


@dataclass
class TemplatePropagator(OneTrackAtATime):
    """Find each track's last appearance again near its predicted box (the classical path).

    The pixels under the track's last mask are matched (``cv2.matchTemplate``, squared
    difference under the mask) within the predicted box grown by ``search``; the mask moves
    to the best place. A rigid move per frame, costing about a millisecond per object; shape
    changes are picked up at the next key frame. A match worse than ``max_rmse`` grey levels
    (the object is hidden, or turned) is a miss.

    Args:
        search: Search margin as a fraction of the object's size (on top of its motion).
        min_search: Least search margin in pixels.
        max_rmse: Largest root-mean-square colour difference of an accepted match.
    """

    search: float = 0.25
    min_search: int = 8
    max_rmse: float = 40.0

    def _one(self, image: np.ndarray, track: Track, ahead: int) -> Segment | None:
        patch = track.patch
        if patch is None or patch.shape[:2] != track.mask_crop.shape:
            return None
        shape = image.shape[:2]
        height, width = patch.shape[:2]
        margin = max(self.min_search, round(self.search * max(height, width)))
        predicted = track.predicted_bbox(ahead)
        x0, y0 = max(0, predicted[0] - margin), max(0, predicted[1] - margin)
        x1 = min(shape[1], predicted[0] + width + margin)
        y1 = min(shape[0], predicted[1] + height + margin)
        if x1 - x0 < width or y1 - y0 < height:
            return None  # at the frame's edge: leave it to the key frame
        mask = track.mask_crop.astype(np.uint8)
        pixels = int(np.count_nonzero(mask))
        if pixels == 0:
            return None
        scores = cv2.matchTemplate(np.ascontiguousarray(image[y0:y1, x0:x1]), patch,
                                   cv2.TM_SQDIFF, mask=mask)
        error, _, (dx, dy), _ = cv2.minMaxLoc(scores)
        rmse = float(np.sqrt(max(error, 0.0) / (pixels * patch.shape[2])))
        if not np.isfinite(rmse) or rmse > self.max_rmse:
            return None
        box = (x0 + dx, y0 + dy, x0 + dx + width, y0 + dy + height)
        return Segment(paste_crop(track.mask_crop, box, shape), 1.0 - rmse / 255.0)


def propagator_for(segmenter: Any) -> Propagator:
    """Return the cheap step for ``segmenter``.

    Prompts for a promptable segmenter (SAM2: one decoder prompt per track on the once-encoded
    frame); template matching for the classical segmenter; crops for any other.
    """
    if callable(getattr(segmenter, "segment_prompts", None)):
        return PromptPropagator(segmenter)
    if getattr(segmenter, "name", None) == "naive":
        return TemplatePropagator()
    return CropPropagator(segmenter)


__all__ = ["CropPropagator", "PromptPropagator", "Propagator", "TemplatePropagator",
           "padded_box", "propagator_for"]
