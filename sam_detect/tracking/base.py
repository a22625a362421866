# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The tracking stage's contract, and the state one followed object keeps.

A :class:`Tracker` turns each frame's instances into instances that carry a ``track_id`` that
stays the same while an object is followed, and a label voted over the track's history. Its
state is bounded: a :class:`Track` keeps its mask cropped to its box, a few embeddings and a
fixed number of label votes, and a tracker keeps a fixed number of tracks, so an endless stream
uses constant memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from sam_detect.results import BBox, Instance


@dataclass
class Track:
    """One object followed across frames.

    Attributes:
        track_id: The object's id (1, 2, ...; 0 is "not tracked").
        bbox: ``(x0, y0, x1, y1)`` where it was last seen.
        mask_crop: Its last mask cropped to ``bbox`` (a full-frame mask per track would cost
            megabytes at 1080p).
        embedding: Running mean of its embeddings (unit length), or None.
        gallery: Up to ``gallery_size`` distinct-looking embeddings: the views re-identification
            compares with, and what labelling the track teaches.
        votes: The last per-frame ``(label, confidence)`` predictions.
        label: The label the votes settled on (None: unknown).
        confidence: In ``[0, 1]``; grows as more frames agree with ``label``.
        hits: Frames it was found in.
        misses: Consecutive frames it was not found in (0: live; more: lost).
        last_frame: Index of the frame it was last seen in.
        velocity: Box-centre motion in pixels per frame ``(dx, dy)``.
        area: Mask pixels when last seen.
        reuse_embedding: The embedding of the mask in ``reuse_crop``, reusable while the mask
            keeps that shape.
        reuse_crop: The mask crop ``reuse_embedding`` was computed from.
        reuse_age: Frames ``reuse_embedding`` has been reused for.
        coasting: Consecutive frames its mask was moved by its velocity alone.
        peak_area: Its largest recent area (slowly forgotten): a smaller mask is partly hidden.
        patch: Its pixels (RGB) in ``bbox`` when last fully seen: the template the classical
            propagation looks for.
        colours: Hue-saturation histogram of its pixels, learnt while it was not hidden; decides
            which object is in front where two overlap.
        renewed: Labels just taught while it was unknown: if its next labelled frame (within
            ``renew_left`` frames) names one of them, its evidence starts afresh from there.
        renew_left: Frames left for that.
    """

    track_id: int
    bbox: BBox
    mask_crop: np.ndarray
    embedding: np.ndarray | None = None
    gallery: deque = field(default_factory=deque)
    votes: deque = field(default_factory=deque)
    label: str | None = None
    confidence: float = 0.0
    hits: int = 1
    misses: int = 0
    last_frame: int = 0
    velocity: tuple[float, float] = (0.0, 0.0)
    area: int = 0
    reuse_embedding: np.ndarray | None = field(default=None, repr=False)
    reuse_crop: np.ndarray | None = field(default=None, repr=False)
    reuse_age: int = 0
    coasting: int = 0
    peak_area: int = 0
    patch: np.ndarray | None = field(default=None, repr=False)
    colours: np.ndarray | None = field(default=None, repr=False)
    renewed: frozenset = field(default=frozenset(), repr=False)
    renew_left: int = field(default=0, repr=False)

    @property
    def live(self) -> bool:
        """Whether it was found in the latest frame."""
        return self.misses == 0

    def predicted_bbox(self, frames_ahead: int = 1) -> BBox:
        """Return where the box will be ``frames_ahead`` frames after it was last seen."""
        dx, dy = (round(v * frames_ahead) for v in self.velocity)
        x0, y0, x1, y1 = self.bbox
        return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)

    def full_mask(self, shape: tuple[int, int], bbox: BBox | None = None) -> np.ndarray:
        """Return the last mask placed at ``bbox`` (default: where it was seen) in ``shape``."""
        return paste_crop(self.mask_crop, bbox or self.bbox, shape)


@runtime_checkable
class Tracker(Protocol):
    """Gives a frame's instances stable track ids and labels voted over each track's history.

    Implementations: :class:`~sam_detect.tracking.mask_tracker.MaskTracker`.
    """

    name: str

    def update(self, instances: Sequence[Instance],
               hints: Sequence[int | None] | None = None) -> list[Instance]:
        """Associate one frame's instances with the tracks and return them with ``track_id``.

        Args:
            instances: This frame's instances, with embeddings.
            hints: Per instance, the track it was propagated from (None: unknown), trusted
                unless two instances name the same track.

        Returns:
            The instances, each with ``track_id`` set and ``label`` / ``confidence`` replaced by
            its track's voted label.
        """
        ...

    def tracks(self) -> list[Track]:
        """Return every track kept, live and lost."""
        ...

    def get(self, track_id: int) -> Track | None:
        """Return one track, or None when it is unknown or was forgotten."""
        ...

    def set_label(self, track_id: int, label: str | None) -> None:
        """Make ``label`` the track's label from now on (a user taught it)."""
        ...

    def reset(self) -> None:
        """Forget every track (a new video)."""
        ...


def crop_to_bbox(mask: np.ndarray, bbox: BBox) -> np.ndarray:
    """Return ``mask[y0:y1, x0:x1]`` as a contiguous copy."""
    x0, y0, x1, y1 = bbox
    return np.ascontiguousarray(mask[y0:y1, x0:x1])


def paste_crop(crop: np.ndarray, bbox: BBox, shape: tuple[int, int]) -> np.ndarray:
    """Return a full-frame mask of ``shape`` with ``crop`` placed at ``bbox`` (clipped)."""
    height, width = shape
    full = np.zeros((height, width), bool)
    x0, y0 = bbox[0], bbox[1]
    h, w = crop.shape
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + w, width), min(y0 + h, height)
    if fx1 > fx0 and fy1 > fy0:
        full[fy0:fy1, fx0:fx1] = crop[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    return full


def crop_iou(crop_a: np.ndarray, box_a: BBox, crop_b: np.ndarray, box_b: BBox) -> float:
    """Return the IoU of two masks given as crops at boxes, without full-frame arrays.

    Example:
        >>> import numpy as np
        >>> a = np.ones((2, 2), bool)
        >>> crop_iou(a, (0, 0, 2, 2), a, (1, 0, 3, 2))
        0.3333333333333333
    """
    ix0, iy0 = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    ix1 = min(box_a[0] + crop_a.shape[1], box_b[0] + crop_b.shape[1])
    iy1 = min(box_a[1] + crop_a.shape[0], box_b[1] + crop_b.shape[0])
    area_a, area_b = int(np.count_nonzero(crop_a)), int(np.count_nonzero(crop_b))
    if ix1 <= ix0 or iy1 <= iy0:
        return 0.0
    part_a = crop_a[iy0 - box_a[1]:iy1 - box_a[1], ix0 - box_a[0]:ix1 - box_a[0]]
    part_b = crop_b[iy0 - box_b[1]:iy1 - box_b[1], ix0 - box_b[0]:ix1 - box_b[0]]
    inter = int(np.count_nonzero(part_a & part_b))
    union = area_a + area_b - inter
    return inter / union if union else 0.0


def shape_iou(crop_a: np.ndarray, crop_b: np.ndarray) -> float:
    """Return the IoU of two mask crops laid over each other at their top-left corners.

    Measures whether a mask kept its shape while it moved: 1.0 for a pure translation.
    """
    return crop_iou(crop_a, (0, 0, 0, 0), crop_b, (0, 0, 0, 0))


__all__ = ["Track", "Tracker", "crop_iou", "crop_to_bbox", "paste_crop", "shape_iou"]
