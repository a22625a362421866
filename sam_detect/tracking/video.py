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

from sam_detect.options import BY_NAME
from sam_detect.results import Detections, Instance, Segment, mask_to_bbox
from sam_detect.tracking.base import Track, crop_to_bbox, shape_iou
from sam_detect.tracking.mask_tracker import MaskTracker
from sam_detect.tracking.propagation import Propagator, propagator_for

MOTION_WIDTH = 160  # frames are compared at this width: motion, not detail
COASTING_SCORE = 0.3  # segmentation score of a mask moved by motion alone
MIN_VISIBLE = 0.2  # share of its largest area below which a track's mask counts as hidden
CONTESTED_DISTANCE = 3.0  # px: a pixel this close to two predicted masks is contested
HIST_BINS = (18, 16)  # hue x saturation bins of a track's colour model


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
        max_coast: When a track's mask cannot be propagated, it moves on by its velocity alone
            for up to this many frames (a short occlusion), then is lost.
        propagator: The cheap step; chosen for the detector's segmenter when None.
        segmenter: Segments key frames instead of the detector's segmenter (an evaluation's
            ground-truth masks); None: the detector's.

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
    max_coast: int = 8
    propagator: Propagator | None = None
    segmenter: Any = None
    frames: int = field(default=0, init=False)
    keyframes: int = field(default=0, init=False)
    last_keyframe: bool = field(default=False, init=False)
    _since_keyframe: int = field(default=0, init=False, repr=False)
    _force_keyframe: bool = field(default=True, init=False, repr=False)
    _previous: np.ndarray | None = field(default=None, init=False, repr=False)
    _segmenter: Any = field(default=None, init=False, repr=False)
    _coasted: set = field(default_factory=set, init=False, repr=False)
    _pinned: bool = field(default=False, init=False, repr=False)
    _reuse_fade: Any = field(default=None, init=False, repr=False)
    _frame_shape: tuple | None = field(default=None, init=False, repr=False)
    _forgotten: list = field(default_factory=list, init=False, repr=False)
    _relabels: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.tracker is None:
            self.tracker = MaskTracker()
        check_keyframe_interval(self.keyframe_interval)

    def forget_votes(self, labels: Any = None) -> None:
        """Drop the votes for ``labels`` (None: all) before the next frame: the store changed.

        Votes for those labels are dropped, and a track whose next frame names one of them
        starts afresh from that frame (a newly taught object is labelled at once); every other
        track keeps its evidence. Safe to call from another thread than the one running
        :meth:`step`: the next step applies it.
        """
        self._forgotten.append(None if labels is None else frozenset(labels))

    def relabel(self, track_id: int, label: str | None) -> None:
        """Give a track ``label`` from the next frame on (safe from another thread)."""
        self._relabels[int(track_id)] = label

    def _apply_pending(self) -> None:
        while self._forgotten:
            labels = self._forgotten.pop(0)
            forget = getattr(self.tracker, "forget", None)
            if forget is not None:
                forget(labels)
            else:  # a tracker without per-label evidence: every track decides again
                for track in self.tracker.tracks():
                    track.votes.clear()
        while self._relabels:
            track_id, label = self._relabels.popitem()
            if self.tracker.get(track_id) is not None:
                self.tracker.set_label(track_id, label)

    def set_propagator(self, propagator: Propagator) -> None:
        """Use ``propagator`` from now on, whatever the segmenter (tests, evaluations)."""
        self.propagator = propagator
        self._pinned = True

    def reset(self) -> None:
        """Forget all tracks and the previous frame (a new video)."""
        self.tracker.reset()
        self.frames = self.keyframes = self._since_keyframe = 0
        self._force_keyframe = True
        self._previous = None

    # -- one frame -----------------------------------------------------------------------------

    def step(self, detector: Any, image: np.ndarray, top_k: int | None = None) -> Detections:
        """Track one RGB frame; return instances with track ids.

        ``detector`` runs the per-frame pipeline (:meth:`sam_detect.SAMDetect.run_frames`) on
        the masks this tracker chose, and its ``segmenter`` and ``fade_strategy`` are read.
        """
        start = time.perf_counter()
        if self._frame_shape is not None and self._frame_shape != image.shape[:2]:
            self.reset()  # a new resolution is a new video
        self._frame_shape = image.shape[:2]
        self._apply_pending()
        segmenter = self.segmenter if self.segmenter is not None else detector.segmenter
        if self.propagator is None or (not self._pinned and self._segmenter is not segmenter):
            self.propagator = propagator_for(segmenter)
            self._segmenter = segmenter
        grey = _small_grey(image)
        self._coasted = set()
        live = [t for t in self.tracker.tracks() if t.live]
        keyframe = self._is_keyframe(grey, live, image.shape[:2])
        ahead = [self._frames_ahead(t) for t in live]
        if keyframe:
            segments, hints = self._keyframe(segmenter, image, live, ahead)
        else:
            segments, hints = self._propagate(image, live, ahead)
        segmented = time.perf_counter()
        reused = self._reusable(detector.fade_strategy, segments, hints)
        (detected,) = detector.run_frames([image], top_k, segments=[segments],
                                          embeddings=[reused])
        searched = time.perf_counter()
        tracked = self.tracker.update(list(detected), hints)
        for inst, reused_embedding in zip(tracked, reused):
            track = self.tracker.get(inst.track_id)
            self._remember_embedding(track, inst, reused_embedding is not None)
            if track is None:
                continue
            if track.track_id not in self._coasted:
                self._learn_colours(image, track, inst)
            if track.track_id in self._coasted:
                track.coasting += 1
            elif track.coasting:
                # Found again after coasting: the motion since then is not a velocity.
                track.coasting, track.velocity = 0, (0.0, 0.0)
        # Coasted masks keep their tracks alive but are guesses: they are not reported.
        tracked = [inst for inst in tracked if inst.track_id not in self._coasted]
        tracked = self._one_track_per_object(tracked)
        for index, inst in enumerate(tracked):
            inst.id = index
        done = time.perf_counter()
        self._previous = grey
        self.frames += 1
        self.keyframes += int(keyframe)
        self.last_keyframe = keyframe
        timings = {**{k: detected.timings_ms[k] for k in ("fade", "embed", "search")},
                   "segment": (segmented - start) * 1e3 + detected.timings_ms["segment"],
                   "track": (done - searched) * 1e3, "total": (done - start) * 1e3}
        return Detections(tracked, image.shape[:2], timings)

    def _one_track_per_object(self, tracked: list[Instance]) -> list[Instance]:
        """Report one track per object: of two that cover the same pixels, the older one.

        On a cluttered background a key frame can propose a region that a propagated track
        already covers; the younger track is taken as lost (kept for re-identification, not
        followed or reported), so the same pixels never carry two ids.
        """
        kept: list[Instance] = []
        order = {id(inst): index for index, inst in enumerate(tracked)}
        for inst in sorted(tracked, key=lambda i: (i.track_id or 1 << 62)):
            if any(_overlap_of_smaller(inst, other) > DUPLICATE_OVERLAP for other in kept):
                track = self.tracker.get(inst.track_id) if inst.track_id else None
                if track is not None:
                    track.misses = max(track.misses, 1)
                continue
            kept.append(inst)
        return sorted(kept, key=lambda i: order[id(i)])

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

    def _keyframe(self, segmenter: Any, image: np.ndarray, live: list[Track],
                  ahead: list[int]) -> tuple[list[Segment], list[int | None]]:
        shape = image.shape[:2]
        predicted = {t.track_id: t.full_mask(shape, t.predicted_bbox(a))
                     for t, a in zip(live, ahead)}
        segments: list[Segment] = []
        hints: list[int | None] = []
        for segment in segmenter.segment(image):
            # One mask over two or more tracks (touching or overlapping objects that the
            # segmenter merged): split it among them by their predicted masks.
            covering = [t for t in live if _covered(segment.mask, predicted[t.track_id])]
            if len(covering) < 2:
                segments.append(segment)
                hints.append(self._same_object(segment, covering))
                continue
            self._force_keyframe = True  # in contact: key frames until they separate
            parts = split_among(segment.mask, [predicted[t.track_id] for t in covering],
                                self._colour_likelihoods(image, segment.mask, covering))
            for track, part in zip(covering, parts):
                if np.count_nonzero(part) >= MIN_VISIBLE * track.peak_area:
                    segments.append(Segment(part, segment.score))
                else:  # hidden behind the other: it stays where it was predicted, unreported
                    hidden = self._coast(track, ahead[live.index(track)], shape)
                    if hidden is None:
                        continue
                    segments.append(hidden)
                hints.append(track.track_id)
        # A live track the segmenter missed this time is propagated, if nothing found is there.
        found = np.zeros(shape, bool)
        for segment in segments:
            found |= segment.mask
        missed = [(t, a) for t, a in zip(live, ahead)
                  if t.track_id not in hints
                  and np.count_nonzero(predicted[t.track_id] & found)
                  < 0.3 * np.count_nonzero(predicted[t.track_id])]
        if missed:
            # No coasting here: an object the segmenter found elsewhere must stay free to match.
            extra, extra_hints = self._propagate(image, [t for t, _ in missed],
                                                 [a for _, a in missed], coast=False)
            for segment, hint in zip(extra, extra_hints):
                if np.count_nonzero(segment.mask & found) < 0.3 * max(1, segment.area):
                    segments.append(segment)
                    hints.append(hint)
        return segments, hints

    def _same_object(self, segment: Segment, covering: list[Track]) -> int | None:
        """Return the one track a key-frame mask surely continues, else None.

        Sure means: the mask covers only that track's prediction and kept its shape, so the
        track's embedding is reused instead of associating (and embedding) it afresh.
        """
        if len(covering) != 1 or covering[0].reuse_crop is None:
            return None
        if shape_iou(covering[0].reuse_crop, crop_to_bbox(segment.mask, segment.bbox)) < (
                self.reuse_iou):
            return None
        return covering[0].track_id

    def _propagate(self, image: np.ndarray, tracks: list[Track], ahead: list[int],
                   coast: bool = True) -> tuple[list[Segment], list[int | None]]:
        assert self.propagator is not None
        results = self.propagator.propagate(image, tracks, ahead) if tracks else []
        kept: list[tuple[Segment, Track, int]] = []
        shape = image.shape[:2]
        for track, segment, frames in zip(tracks, results, ahead):
            change = self.area_change
            if segment is None or not track.area / change <= segment.area <= track.area * change:
                self._force_keyframe = True  # lost it: look everywhere on the next frame
                # Coast: a short occlusion or a segmenter miss is bridged by motion alone.
                segment = self._coast(track, frames, shape) if coast else None
                if segment is None:
                    continue
            kept.append((segment, track, frames))
        # Two tracks that claim the same pixels (one passes in front of the other): the shared
        # pixels go to the nearer predicted mask.
        for i in range(len(kept)):
            for j in range(i + 1, len(kept)):
                (seg_a, track_a, ahead_a), (seg_b, track_b, ahead_b) = kept[i], kept[j]
                if _intersection_of(seg_a, seg_b) == 0:
                    continue
                # Objects in contact: the cheap step cannot tell them apart for long, so the
                # next frame is a key frame (and so on until they separate).
                self._force_keyframe = True
                union = seg_a.mask | seg_b.mask
                part_a, part_b = split_among(union, [
                    track_a.full_mask(shape, track_a.predicted_bbox(ahead_a)),
                    track_b.full_mask(shape, track_b.predicted_bbox(ahead_b))],
                    self._colour_likelihoods(image, union, [track_a, track_b]))
                kept[i] = (Segment(part_a & seg_a.mask, seg_a.score), track_a, ahead_a)
                kept[j] = (Segment(part_b & seg_b.mask, seg_b.score), track_b, ahead_b)
        chosen = []
        for segment, track, frames in kept:
            if segment.area < MIN_VISIBLE * track.peak_area:
                self._force_keyframe = True  # hidden behind another object
                segment = self._coast(track, frames, shape) if coast else None
                if segment is None:
                    continue
            chosen.append((segment, track))
        return [s for s, _ in chosen], [t.track_id for _, t in chosen]

    def _coast(self, track: Track, frames: int, shape: tuple[int, int]) -> Segment | None:
        """Return the track's mask moved by its velocity alone, or None when it coasted enough.

        Bridges a short occlusion or a segmenter miss; the mask is not reported, only kept.
        """
        if track.coasting >= self.max_coast:
            return None
        mask = track.full_mask(shape, track.predicted_bbox(frames))
        if not mask.any():
            return None  # moved out of the frame
        self._coasted.add(track.track_id)
        return Segment(mask, COASTING_SCORE)

    # -- colour models -------------------------------------------------------------------------

    def _colour_likelihoods(self, image: np.ndarray, mask: np.ndarray,
                            tracks: list[Track]) -> list[np.ndarray | None]:
        """Return, per track, how well each pixel in ``mask``'s box fits its colours."""
        x0, y0, x1, y1 = mask_to_bbox(mask)
        hsv = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2HSV)
        out: list[np.ndarray | None] = []
        for track in tracks:
            if track.colours is None:
                out.append(None)
                continue
            out.append(cv2.calcBackProject([hsv], [0, 1], track.colours,
                                           [0, 180, 0, 256], 1).astype(np.float32))
        return out

    @staticmethod
    def _learn_colours(image: np.ndarray, track: Track, instance: Instance) -> None:
        """Update the track's colour model and template from a mask that shows all of it."""
        if instance.area < 0.8 * track.peak_area:
            track.patch = None  # partly hidden: its pixels may be someone else's
            return
        x0, y0, x1, y1 = instance.bbox
        track.patch = np.ascontiguousarray(image[y0:y1, x0:x1])
        hsv = cv2.cvtColor(track.patch, cv2.COLOR_RGB2HSV)
        region = instance.mask[y0:y1, x0:x1].astype(np.uint8)
        hist = cv2.calcHist([hsv], [0, 1], region, list(HIST_BINS), [0, 180, 0, 256])
        hist = hist * (255.0 / max(float(hist.max()), 1e-6))
        track.colours = hist if track.colours is None else 0.7 * track.colours + 0.3 * hist

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

    def _reusable(self, fade: Any, segments: list[Segment],
                  hints: list[int | None]) -> list[np.ndarray | None]:
        """Return, per segment, its track's embedding when it can be reused, else None."""
        if fade is not self._reuse_fade:  # embeddings of another fade are not comparable
            self._reuse_fade = fade
            for track in self.tracker.tracks():
                track.reuse_embedding = None
        return [self._reused(hint, segment) for hint, segment in zip(hints, segments)]

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


# Two reported tracks whose masks share more than this part of the smaller one are one object.
DUPLICATE_OVERLAP = 0.6


def _overlap_of_smaller(a: Instance, b: Instance) -> float:
    """Return the shared pixels of two instances' masks over the smaller mask's area."""
    x0, y0 = max(a.bbox[0], b.bbox[0]), max(a.bbox[1], b.bbox[1])
    x1, y1 = min(a.bbox[2], b.bbox[2]), min(a.bbox[3], b.bbox[3])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    shared = np.count_nonzero(a.mask[y0:y1, x0:x1] & b.mask[y0:y1, x0:x1])
    return shared / max(1, min(int(a.area), int(b.area)))


def check_keyframe_interval(value: Any) -> int:
    """Return ``value`` as a key-frame interval, or raise naming ``keyframe_interval``.

    The option table's check (:data:`sam_detect.options.OPTIONS`), as every front end has it.
    """
    return BY_NAME["keyframe_interval"].check(value)


def _small_shape(image: np.ndarray) -> tuple[int, int]:
    height, width = image.shape[:2]
    scale = min(1.0, MOTION_WIDTH / width)
    return (max(1, round(height * scale)), max(1, round(width * scale)))


def _small_grey(image: np.ndarray) -> np.ndarray:
    height, width = _small_shape(image)
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (3, 3), 0)


def _covered(mask: np.ndarray, predicted: np.ndarray, share: float = 0.5) -> bool:
    """Return whether ``mask`` covers at least ``share`` of ``predicted``."""
    area = np.count_nonzero(predicted)
    return bool(area) and np.count_nonzero(mask & predicted) >= share * area


def _intersection_of(a: Segment, b: Segment) -> int:
    box_a, box_b = a.bbox, b.bbox
    return _intersection(crop_to_bbox(a.mask, box_a), box_a, crop_to_bbox(b.mask, box_b), box_b)


def split_among(mask: np.ndarray, predicted: list[np.ndarray],
                likelihoods: list[np.ndarray | None] | None = None) -> list[np.ndarray]:
    """Split ``mask``'s pixels among ``predicted`` masks: each pixel goes to the nearest one.

    Pixels inside several predicted masks (where the objects overlap) go to the object whose
    colours they look like (``likelihoods``: per object, a per-pixel likelihood over the
    mask's box, as from a colour histogram), which is the one in front; without likelihoods,
    to the first. Work is confined to the mask's box.

    Example:
        >>> import numpy as np
        >>> blob = np.zeros((1, 6), bool); blob[0, :] = True
        >>> left, right = blob.copy(), blob.copy(); left[0, 2:] = False; right[0, :4] = False
        >>> [p.astype(int).tolist() for p in split_among(blob, [left, right])]
        [[[1, 1, 1, 0, 0, 0]], [[0, 0, 0, 1, 1, 1]]]
    """
    x0, y0, x1, y1 = mask_to_bbox(mask)
    region = mask[y0:y1, x0:x1]
    distances = []
    for other in predicted:
        outside = (~other[y0:y1, x0:x1]).astype(np.uint8)
        padded = np.pad(outside, 1, constant_values=1)
        distances.append(cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1])
    distance = np.stack(distances)
    owner = np.argmin(distance, axis=0)
    if likelihoods is not None and all(lk is not None for lk in likelihoods):
        near = distance <= CONTESTED_DISTANCE
        contested = near.sum(axis=0) >= 2
        colour = np.where(near, np.stack(likelihoods), -1.0)
        owner = np.where(contested, np.argmax(colour, axis=0), owner)
    parts = []
    for index in range(len(predicted)):
        part = np.zeros(mask.shape, bool)
        part[y0:y1, x0:x1] = region & (owner == index)
        parts.append(part)
    return parts


def _intersection(crop_a: np.ndarray, box_a: Any, crop_b: np.ndarray, box_b: Any) -> int:
    ix0, iy0 = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    ix1, iy1 = min(box_a[2], box_b[2]), min(box_a[3], box_b[3])
    if ix1 <= ix0 or iy1 <= iy0:
        return 0
    part_a = crop_a[iy0 - box_a[1]:iy1 - box_a[1], ix0 - box_a[0]:ix1 - box_a[0]]
    part_b = crop_b[iy0 - box_b[1]:iy1 - box_b[1], ix0 - box_b[0]:ix1 - box_b[0]]
    return int(np.count_nonzero(part_a & part_b))


__all__ = ["VideoTracker", "check_keyframe_interval", "split_among"]
