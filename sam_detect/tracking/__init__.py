# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tracking: stable instance ids across frames, re-identification, and the cheap video path.

* :class:`Tracker` (protocol) and :class:`Track` - :mod:`sam_detect.tracking.base`.
* :class:`MaskTracker` - association by mask IoU and embedding similarity, label votes.
* :class:`VideoTracker` - key frames, propagation between them, reused embeddings; what
  :meth:`sam_detect.SAMDetect.track` runs.

Example:
    >>> import numpy as np
    >>> from sam_detect import SAMDetect
    >>> detector = SAMDetect(embedder="average")
    >>> frame = np.full((120, 160, 3), 40, np.uint8); frame[30:70, 20:60] = (220, 30, 30)
    >>> [i.track_id for i in detector.track(frame)], [i.track_id for i in detector.track(frame)]
    ([1], [1])
"""

from __future__ import annotations

from sam_detect.tracking.base import Track, Tracker
from sam_detect.tracking.mask_tracker import MaskTracker
from sam_detect.tracking.propagation import (
    CropPropagator, PromptPropagator, TemplatePropagator, propagator_for)
from sam_detect.tracking.video import VideoTracker, check_keyframe_interval

__all__ = ["CropPropagator", "MaskTracker", "PromptPropagator", "TemplatePropagator", "Track",
           "Tracker", "VideoTracker", "check_keyframe_interval", "propagator_for"]
