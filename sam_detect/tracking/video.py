# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The video path: key frames, cheap propagation between them, reused embeddings, tracking.

:class:`VideoTracker` is what :meth:`sam_detect.SAMDetect.track` runs on each frame:

1. **Key frame or not.** A key frame runs the full segmenter. It comes every
   ``keyframe_interval`` frames, on the first frame, after a track could not be propagated, and
   whenever motion is seen outside every live track's box (an object entered or came back).
   Motion is the difference of two small grey copies of the frames, so the test is cheap.
2. **Between key frames** each live track's mask comes from the segmenter's cheap step
   (:mod:`sam_detect.tracking.propagation`). On a key frame, a live track the segmenter missed
   is propagated too, when nothing found overlaps it.
3. **Embeddings are reused** while a track's mask keeps its shape (``reuse_iou``), for at most
   ``max_reuse`` frames; the k-NN search runs every frame (it is cheap, and sees newly taught
   examples at once).
4. The instances go to the :class:`~sam_detect.tracking.base.Tracker`, which gives them track
   ids and voted labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import Any

import cv2
import numpy as np

from sam_detect.errors import SamDetectError
from sam_detect.fading import make_faded_crop
from sam_detect.results import Detections, Instance, Segment
from sam_detect.tracking.base import Track, crop_iou, crop_to_bbox, shape_iou
from sam_detect.tracking.mask_tracker import MaskTracker
from sam_detect.tracking.propagation import Propagator, propagator_for

MOTION_WIDTH = 160  # frames are compared at this width: motion, not detail


@dataclass
class VideoTracker:
    """Track objects through a video with less work than detecting every frame.

    Args:
        tracker: The association stage; a :class:`MaskTracker` by default.
        keyframe_interval: Run the full segmenter every this many frames (1: every frame).
        motion_fraction: A key frame is forced when this share of the frame moves outside the
            live tracks' boxes.
        motion_threshold: Grey-level change that counts as motion.
        reuse_iou: Reuse a track's embedding while its mask's shape IoU with the embedded mask
            stays at least this.
        max_reuse: Frames an embedding is reused for at most.
        area_change: A propagated mask whose area changed by more than this factor is rejected.
        propagator: The cheap step; chosen for the detector's segmenter when None.

    Attributes:
        frames: Frames tracked since the last reset.
        keyframes: How many of them were key frames.
        last_keyframe: Whether the latest frame was one.
    """

    tracker: Any = None
    keyframe_interval: int = 5
    motion_fraction: float = 0.005
    motion_threshold: int = 25
    reuse_iou: float = 0.9
    max_reuse: int = 30
    area_change: float = 2.5
    propagator: Propagator | None = None
    frames: int = field(default=0, init=False)
    keyframes: int = field(default=0, init=False)
    last_keyframe: bool = field(default=False, init=False)
    _since_keyframe: int = field(default=0, init=False, repr=False)
    _force_keyframe: bool = field(default=True, init=False, repr=False)
    _previous: np.ndarray | None = field(default=None, init=False, repr=False)
    _segmenter: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.tracker is None:
            self.tracker = MaskTracker()
        check_keyframe_interval(self.keyframe_interval)

    def reset(self) -> None:
        """Forget all tracks and the previous frame (a new video)."""
        self.tracker.reset()
        self.frames = self.keyframes = self._since_keyframe = 0
        self._force_keyframe = True
        self._previous = None

    # -- one frame -----------------------------------------------------------------------------

    def step(self, detector: Any, image: np.ndarray, top_k: int | None = None) -> Detections:
        """Track one RGB frame with ``detector``'s stages; return instances with track ids."""
        start = time.perf_counter()
        if self._previous is not None and self._previous.shape[:2] != _small_shape(image):
            self.reset()  # a new resolution is a new video
        if self.propagator is None or self._segmenter is not detector.segmenter:
            self.propagator = propagator_for(detector.segmenter)
            self._segmenter = detector.segmenter
        grey = _small_grey(image)
        live = [t for t in self.tracker.tracks() if t.live]
        keyframe = self._is_keyframe(grey, live, image.shape[:2])
        ahead = [self._frames_ahead(t) for t in live]
        if keyframe:
            segments, hints = self._keyframe(detector, image, live, ahead)
        else:
            segments, hints = self._propagate(image, live, ahead)
        segmented = time.perf_counter()
        embeddings, fade_ms = self._embeddings(detector, image, segments, hints)
        embedded = time.perf_counter()
        predictions = detector.classify(embeddings, top_k)
        searched = time.perf_counter()
        instances = [
            Instance.from_segment(s, label=p.label, confidence=p.confidence,
                                  neighbours=p.neighbours, embedding=e, id=index)
            for index, (s, p, e) in enumerate(zip(segments, predictions, embeddings))]
        reused = [self._reused(hint, segment) for hint, segment in zip(hints, segments)]
        tracked = self.tracker.update(instances, hints)
        for inst, fresh in zip(tracked, reused):
            self._remember_embedding(self.tracker.get(inst.track_id), inst, not fresh)
        done = time.perf_counter()
        self._previous = grey
        self.frames += 1
        self.keyframes += int(keyframe)
        self.last_keyframe = keyframe
        timings = {"segment": segmented - start, "fade": fade_ms / 1e3,
                   "embed": embedded - segmented - fade_ms / 1e3, "search": searched - embedded,
                   "track": done - searched, "total": done - start}
        return Detections(tracked, image.shape[:2], {k: v * 1e3 for k, v in timings.items()})

    # -- key frames ----------------------------------------------------------------------------

    def _is_keyframe(self, grey: np.ndarray, live: list[Track], shape: tuple[int, int]) -> bool:
        self._since_keyframe += 1
        due = (self._force_keyframe or self._previous is None
               or self._since_keyframe >= self.keyframe_interval
               or self._unexplained_motion(grey, live, shape))
        if due:
            self._since_keyframe = 0
            self._force_keyframe = False
        return due

    def _unexplained_motion(self, grey: np.ndarray, live: list[Track],
                            shape: tuple[int, int]) -> bool:
        assert self._previous is not None
        moving = cv2.absdiff(grey, self._previous) > self.motion_threshold
        scale_y, scale_x = grey.shape[0] / shape[0], grey.shape[1] / shape[1]
        for track in live:
            for x0, y0, x1, y1 in (track.bbox, track.predicted_bbox(self._frames_ahead(track))):
                pad_x, pad_y = 0.25 * (x1 - x0) + 4, 0.25 * (y1 - y0) + 4
                moving[max(0, int((y0 - pad_y) * scale_y)):int((y1 + pad_y) * scale_y) + 1,
                       max(0, int((x0 - pad_x) * scale_x)):int((x1 + pad_x) * scale_x) + 1] = False
        return float(np.count_nonzero(moving)) / moving.size > self.motion_fraction

    def _keyframe(self, detector: Any, image: np.ndarray, live: list[Track],
                  ahead: list[int]) -> tuple[list[Segment], list[int | None]]:
        segments = list(detector.segmenter.segment(image))
        hints: list[int | None] = [None] * len(segments)
        # A live track the segmenter missed this time is propagated, if nothing found is there.
        crops = [(crop_to_bbox(s.mask, s.bbox), s.bbox) for s in segments]
        missed, missed_ahead = [], []
        for track, frames in zip(live, ahead):
            predicted = track.predicted_bbox(frames)
            if all(crop_iou(c, b, track.mask_crop, predicted) < 0.3 for c, b in crops):
                missed.append(track)
                missed_ahead.append(frames)
        if missed:
            found, found_hints = self._propagate(image, missed, missed_ahead)
            for segment, hint in zip(found, found_hints):
                crop = crop_to_bbox(segment.mask, segment.bbox)
                area = max(1, segment.area)
                if all(_intersection(crop, segment.bbox, c, b) < 0.3 * area for c, b in crops):
                    segments.append(segment)
                    hints.append(hint)
        return segments, hints

    def _propagate(self, image: np.ndarray, tracks: list[Track],
                   ahead: list[int]) -> tuple[list[Segment], list[int | None]]:
        assert self.propagator is not None
        results = self.propagator.propagate(image, tracks, ahead) if tracks else []
        kept: list[tuple[Segment, Track]] = []
        for track, segment in zip(tracks, results):
            change = self.area_change
            if segment is None or not track.area / change <= segment.area <= track.area * change:
                self._force_keyframe = True  # lost it: look everywhere on the next frame
                continue
            kept.append((segment, track))
        # Two tracks on one object (one hid the other): keep the longer-followed one.
        kept.sort(key=lambda pair: -pair[1].hits)
        chosen: list[tuple[Segment, Track]] = []
        for segment, track in kept:
            crop = crop_to_bbox(segment.mask, segment.bbox)
            if any(crop_iou(crop, segment.bbox, crop_to_bbox(s.mask, s.bbox), s.bbox) > 0.5
                   for s, _ in chosen):
                self._force_keyframe = True
                continue
            chosen.append((segment, track))
        return [s for s, _ in chosen], [t.track_id for _, t in chosen]

    # -- embeddings ----------------------------------------------------------------------------

    def _reused(self, hint: int | None, segment: Segment) -> np.ndarray | None:
        track = self.tracker.get(hint) if hint is not None else None
        if track is None or track.reuse_embedding is None or track.reuse_crop is None:
            return None
        if track.reuse_age >= self.max_reuse:
            return None
        crop = crop_to_bbox(segment.mask, segment.bbox)
        if shape_iou(track.reuse_crop, crop) < self.reuse_iou:
            return None
        return track.reuse_embedding

    def _embeddings(self, detector: Any, image: np.ndarray, segments: list[Segment],
                    hints: list[int | None]) -> tuple[np.ndarray, float]:
        dim = int(detector.embedder.dim)
        embeddings = np.zeros((len(segments), dim), np.float32)
        fresh, crops = [], []
        start = time.perf_counter()
        fade = detector.fade_strategy
        for index, (segment, hint) in enumerate(zip(segments, hints)):
            reused = self._reused(hint, segment)
            if reused is not None:
                embeddings[index] = reused
                continue
            fresh.append(index)
            crops.append(make_faded_crop(image, segment.mask, fade, segment.bbox)[0])
        fade_ms = (time.perf_counter() - start) * 1e3
        if crops:
            embeddings[fresh] = detector.embedder.embed(crops)
        return embeddings, fade_ms

    @staticmethod
    def _remember_embedding(track: Track | None, instance: Instance, reused: bool) -> None:
        if track is None or instance.embedding is None:
            return
        if reused:
            track.reuse_age += 1
            return
        track.reuse_embedding = np.asarray(instance.embedding, np.float32)
        track.reuse_crop = crop_to_bbox(instance.mask, instance.bbox)
        track.reuse_age = 0

    def _frames_ahead(self, track: Track) -> int:
        return max(1, getattr(self.tracker, "frame_index", track.last_frame) + 1
                   - track.last_frame)


def check_keyframe_interval(value: Any) -> int:
    """Return ``value`` as a key-frame interval, or raise naming ``keyframe_interval``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SamDetectError(f"keyframe_interval must be an integer >= 1, got {value!r}")
    return int(value)


def _small_shape(image: np.ndarray) -> tuple[int, int]:
    height, width = image.shape[:2]
    scale = min(1.0, MOTION_WIDTH / width)
    return (max(1, round(height * scale)), max(1, round(width * scale)))


def _small_grey(image: np.ndarray) -> np.ndarray:
    height, width = _small_shape(image)
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (3, 3), 0)


def _intersection(crop_a: np.ndarray, box_a: Any, crop_b: np.ndarray, box_b: Any) -> int:
    ix0, iy0 = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    ix1, iy1 = min(box_a[2], box_b[2]), min(box_a[3], box_b[3])
    if ix1 <= ix0 or iy1 <= iy0:
        return 0
    part_a = crop_a[iy0 - box_a[1]:iy1 - box_a[1], ix0 - box_a[0]:ix1 - box_a[0]]
    part_b = crop_b[iy0 - box_b[1]:iy1 - box_b[1], ix0 - box_b[0]:ix1 - box_b[0]]
    return int(np.count_nonzero(part_a & part_b))


__all__ = ["VideoTracker", "check_keyframe_interval"]
