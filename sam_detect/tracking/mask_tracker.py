# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tracking by mask overlap and appearance, with re-identification and label votes.

Each frame, the instances that were not propagated from a known track are matched to the tracks
by one optimal assignment (:func:`scipy.optimize.linear_sum_assignment`) on a score that mixes
the mask IoU with the track's motion-predicted position and the cosine similarity of embeddings.
A pair may match when the masks overlap and look alike (``min_iou`` and ``min_similarity``), or
when they look very alike wherever they are (``reid_similarity``): that second rule is what
finds an object again after it was hidden or left the view. A track not found is kept, lost,
for ``max_lost`` frames. Labels come from the track's last ``vote_window`` per-frame predictions:
a labelled frame weighs its confidence, an unknown frame :data:`UNKNOWN_VOTE_WEIGHT` (so an
object never taught, labelled by mistake now and then, stays unknown however long it is seen),
and a label changes only when another wins clearly (``switch_margin``), so one bad frame does
not flip it. A track's confidence is the mean over its window of the per-frame probability that
its label is right (0 for frames that said otherwise): a first frame reports its own
confidence, and agreement keeps it there. When the store changes for some labels
(:meth:`MaskTracker.forget`), only their votes are dropped; other tracks keep their evidence.

Example:
    >>> import numpy as np
    >>> from sam_detect.results import Instance
    >>> def box(x):
    ...     m = np.zeros((40, 60), bool); m[10:20, x:x + 10] = True
    ...     return Instance(mask=m, bbox=(x, 10, x + 10, 20), label="cup", confidence=0.8,
    ...                     embedding=np.array([1.0, 0.0], np.float32))
    >>> tracker = MaskTracker()
    >>> first, second = tracker.update([box(5)]), tracker.update([box(8)])
    >>> first[0].track_id, second[0].track_id
    (1, 1)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from sam_detect.results import Instance, mask_to_bbox
from sam_detect.tracking.base import Track, crop_iou, crop_to_bbox

INVALID = 1e6  # assignment cost of a pair that may not match
PEAK_AREA_MEMORY = 0.99  # per frame: how slowly a track forgets its largest area
# An "unknown" frame weighs like a label given at confidence 0.5: a label must be given, at its
# confidence, more than about half as often as the object is left unknown to take over.
UNKNOWN_VOTE_WEIGHT = 0.5


@dataclass
class MaskTracker:
    """Associate instances with tracks by mask IoU and embedding similarity.

    Args:
        iou_weight: Weight of the mask IoU in the match score; the embedding similarity gets
            ``1 - iou_weight``.
        min_iou: Least IoU (with the predicted position) for an overlap match.
        min_similarity: Least embedding similarity for an overlap match.
        reid_similarity: Embedding similarity that matches a track wherever the instance is
            (re-identification of a lost or jumping object).
        max_lost: Frames a track is kept after it was last seen.
        max_tracks: Most tracks kept; the longest-lost go first.
        vote_window: Per-frame label votes kept per track.
        min_votes: Frames of full agreement that a label given by a user
            (:meth:`set_label`) counts as.
        switch_margin: A new label replaces the current one only when its vote weight exceeds
            the current label's by this fraction.
        gallery_size: Distinct embeddings kept per track (for re-identification and teaching).
        gallery_similarity: An embedding this similar to one in the gallery is not added.
        embedding_momentum: Weight of the old mean when a new embedding is averaged in.
    """

    iou_weight: float = 0.5
    min_iou: float = 0.1
    min_similarity: float = 0.5
    reid_similarity: float = 0.85
    max_lost: int = 150
    max_tracks: int = 256
    vote_window: int = 30
    min_votes: int = 5
    switch_margin: float = 0.5
    gallery_size: int = 16
    gallery_similarity: float = 0.97
    embedding_momentum: float = 0.8

    name = "mask"
    _tracks: dict[int, Track] = field(default_factory=dict, init=False, repr=False)
    _next_id: int = field(default=1, init=False, repr=False)
    _frame: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.iou_weight <= 1.0:
            raise ValueError("iou_weight must be in [0, 1]")
        if self.max_lost < 0 or self.max_tracks < 1 or self.vote_window < 1:
            raise ValueError("need max_lost >= 0, max_tracks >= 1 and vote_window >= 1")
        if self.gallery_size < 1 or self.min_votes < 1:
            raise ValueError("need gallery_size >= 1 and min_votes >= 1")

    @classmethod
    def for_embedder(cls, unknown_threshold: float, **options: float) -> MaskTracker:
        """Return a tracker whose similarity thresholds suit an embedder.

        Similarities mean different things per embedder (colour averages of two different
        objects are often 0.9 alike, CNN features 0.5, whitened features 0). An overlap
        match, where the mask overlap is the main evidence, only needs the embedding not to
        say "another object": ``min_similarity`` is the embedder's ``unknown_threshold``
        (where its similarities stop saying "the same object"), at most 0.5. A fixed 0.5 split
        one object into several tracks in a whitened space, where an object often scores
        below 0.5 to itself across views; the cap keeps a badly seen frame (washed out, half
        hidden) on its track where everything scores high. Re-identification, which trusts
        the embedding alone, needs half-way from the threshold to 1 (at least 0.85).
        """
        threshold = float(np.clip(unknown_threshold, -1.0, 1.0))
        options.setdefault("min_similarity", min(cls.min_similarity, threshold))
        options.setdefault("reid_similarity", max(0.85, threshold + 0.5 * (1.0 - threshold)))
        return cls(**options)

    # -- the Tracker protocol ------------------------------------------------------------------

    @property
    def frame_index(self) -> int:
        """Return the number of frames seen since the last :meth:`reset`."""
        return self._frame

    def update(self, instances: Sequence[Instance],
               hints: Sequence[int | None] | None = None) -> list[Instance]:
        """Associate one frame's instances with the tracks; see :class:`Tracker.update`."""
        self._frame += 1
        hints = list(hints) if hints is not None else [None] * len(instances)
        assigned: dict[int, int] = {}  # instance index -> track id
        for index, hint in enumerate(hints):
            if hint is not None and hint in self._tracks and hint not in assigned.values():
                assigned[index] = hint
        free = [i for i in range(len(instances)) if i not in assigned]
        candidates = [t for t in self._tracks.values() if t.track_id not in assigned.values()]
        assigned.update(self._associate([instances[i] for i in free], free, candidates))
        out = []
        for index, instance in enumerate(instances):
            track_id = assigned.get(index)
            track = (self._update_track(self._tracks[track_id], instance) if track_id is not None
                     else self._new_track(instance))
            out.append(replace(instance, track_id=track.track_id, label=track.label,
                               confidence=track.confidence))
        seen = {inst.track_id for inst in out}
        for track in list(self._tracks.values()):
            if track.track_id not in seen:
                track.misses += 1
                if track.misses > self.max_lost:
                    del self._tracks[track.track_id]
        self._bound()
        return out

    def tracks(self) -> list[Track]:
        """Return every track kept, live and lost, by id."""
        return [self._tracks[k] for k in sorted(self._tracks)]

    def get(self, track_id: int) -> Track | None:
        """Return one track, or None."""
        return self._tracks.get(int(track_id))

    def set_label(self, track_id: int, label: str | None) -> None:
        """Make ``label`` the track's label, as if ``min_votes`` frames had agreed fully."""
        track = self._tracks[int(track_id)]
        track.votes.clear()
        track.votes.extend([(label, 1.0)] * self.min_votes)
        track.label = label
        track.confidence = 1.0 if label is not None else 0.0

    def forget(self, labels: frozenset | set | None) -> None:
        """Drop the votes cast for ``labels`` (None: all): their examples changed.

        An unknown track whose next frame names one of ``labels`` starts afresh from that frame
        (a newly taught object is labelled at its own confidence at once); every other track
        keeps its votes.
        """
        for track in self._tracks.values():
            if labels is None:
                track.votes.clear()
            else:
                kept = [vote for vote in track.votes if vote[0] not in labels]
                track.votes.clear()
                track.votes.extend(kept)
            track.label, track.confidence = self._vote(track) if track.votes else (None, 0.0)
            if track.label is None and labels is not None:
                # Unknown so far: if its next labelled frame (within vote_window frames) names
                # a label just taught, that is the object that was taught. A labelled track
                # keeps its evidence: a frame of doubt right after someone else's teaching
                # does not relabel it.
                track.renewed = track.renewed | frozenset(labels)
                track.renew_left = self.vote_window

    def reset(self) -> None:
        """Forget every track; ids start again at 1."""
        self._tracks.clear()
        self._next_id = 1
        self._frame = 0

    # -- association ---------------------------------------------------------------------------

    def scores(self, instances: Sequence[Instance],
               tracks: Sequence[Track]) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``(instances, tracks)`` IoU and embedding-similarity matrices.

        IoU is taken with each track's mask moved to its predicted position; similarity is the
        best over the track's mean embedding and its gallery (0 when an embedding is missing).
        """
        ious = np.zeros((len(instances), len(tracks)), np.float32)
        sims = np.zeros_like(ious)
        for col, track in enumerate(tracks):
            predicted = track.predicted_bbox(self._frame - track.last_frame)
            bank = self._bank(track)
            for row, inst in enumerate(instances):
                ious[row, col] = crop_iou(crop_to_bbox(inst.mask, inst.bbox), inst.bbox,
                                          track.mask_crop, predicted)
                if bank is not None and inst.embedding is not None:
                    sims[row, col] = float(np.max(bank @ inst.embedding))
        return ious, sims

    def _associate(self, instances: Sequence[Instance], indices: list[int],
                   tracks: list[Track]) -> dict[int, int]:
        if not instances or not tracks:
            return {}
        from scipy.optimize import linear_sum_assignment

        ious, sims = self.scores(instances, tracks)
        live = np.array([t.live for t in tracks])[None, :]
        overlap = (ious >= self.min_iou) & (sims >= self.min_similarity)
        # A lost track that overlaps still needs a look-alike: whatever is there now may be
        # the object that hid it.
        halfway = self.min_similarity + 0.5 * (self.reid_similarity - self.min_similarity)
        overlap &= live | (sims >= halfway)
        allowed = overlap | (sims >= self.reid_similarity)
        score = self.iou_weight * ious + (1.0 - self.iou_weight) * np.maximum(sims, 0.0)
        # live tracks first: a lost track must not take an object a live track explains
        score = score + 0.25 * live
        cost = np.where(allowed, -score, INVALID)
        rows, cols = linear_sum_assignment(cost)
        return {indices[r]: tracks[c].track_id for r, c in zip(rows, cols) if allowed[r, c]}

    @staticmethod
    def _bank(track: Track) -> np.ndarray | None:
        vectors = list(track.gallery)
        if track.embedding is not None:
            vectors.append(track.embedding)
        return np.stack(vectors).astype(np.float32) if vectors else None

    # -- track state ---------------------------------------------------------------------------

    def _new_track(self, instance: Instance) -> Track:
        bbox = tuple(int(v) for v in (instance.bbox or mask_to_bbox(instance.mask)))
        track = Track(track_id=self._next_id, bbox=bbox,
                      mask_crop=crop_to_bbox(instance.mask, bbox),
                      gallery=deque(maxlen=self.gallery_size),
                      votes=deque(maxlen=self.vote_window), last_frame=self._frame,
                      area=instance.area, peak_area=instance.area)
        self._next_id += 1
        self._tracks[track.track_id] = track
        self._observe(track, instance)
        return track

    def _update_track(self, track: Track, instance: Instance) -> Track:
        bbox = tuple(int(v) for v in instance.bbox)
        gap = max(1, self._frame - track.last_frame)
        old = ((track.bbox[0] + track.bbox[2]) / 2, (track.bbox[1] + track.bbox[3]) / 2)
        new = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
        step = ((new[0] - old[0]) / gap, (new[1] - old[1]) / gap)
        # Velocity only from consecutive frames: after a gap the object may have been anywhere.
        if gap == 1:
            track.velocity = (0.5 * track.velocity[0] + 0.5 * step[0],
                              0.5 * track.velocity[1] + 0.5 * step[1])
        else:
            track.velocity = (0.0, 0.0)
        track.bbox = bbox
        track.mask_crop = crop_to_bbox(instance.mask, bbox)
        track.area = instance.area
        track.peak_area = max(instance.area, int(track.peak_area * PEAK_AREA_MEMORY))
        track.hits += 1
        track.misses = 0
        track.last_frame = self._frame
        self._observe(track, instance)
        return track

    def _observe(self, track: Track, instance: Instance) -> None:
        embedding = instance.embedding
        if embedding is not None:
            embedding = np.asarray(embedding, np.float32)
            if track.embedding is None:
                track.embedding = embedding.copy()
            else:
                mean = self.embedding_momentum * track.embedding + (
                    1.0 - self.embedding_momentum) * embedding
                track.embedding = mean / max(float(np.linalg.norm(mean)), 1e-12)
            if not track.gallery or float(np.max(np.stack(track.gallery) @ embedding)) < (
                    self.gallery_similarity):
                track.gallery.append(embedding.copy())
        if track.renewed:
            if instance.label in track.renewed:  # a label just (re)taught: fresh evidence
                track.votes.clear()
                track.label = None
                track.renew_left = 0
            elif instance.label is not None:  # it named another label: evidence as usual
                track.renew_left = 0
            track.renew_left -= 1  # frames of doubt (unknown) wait at most vote_window frames
            if track.renew_left <= 0:
                track.renewed = frozenset()
        track.votes.append((instance.label, float(instance.confidence)))
        track.label, track.confidence = self._vote(track)

    def _vote(self, track: Track) -> tuple[str | None, float]:
        weights: dict[str | None, float] = {}
        for label, confidence in track.votes:
            weights[label] = weights.get(label, 0.0) + (
                UNKNOWN_VOTE_WEIGHT if label is None else max(confidence, 1e-3))
        best = max(weights, key=lambda label: (weights[label], label is not None, label or ""))
        current = track.label
        if (current is not None and current != best and current in weights
                and weights[best] <= weights[current] * (1.0 + self.switch_margin)):
            best = current  # not a clear win: keep the label the track already has
        if best is None:
            return None, 0.0
        agreeing = sum(conf for label, conf in track.votes if label == best)
        return best, min(1.0, agreeing / max(len(track.votes), 1))

    def _bound(self) -> None:
        if len(self._tracks) <= self.max_tracks:
            return
        # Forget the tracks lost longest first; live ones only if there are too many of them.
        order = sorted(self._tracks.values(), key=lambda t: (t.live, t.last_frame, t.hits))
        for track in order[:len(self._tracks) - self.max_tracks]:
            del self._tracks[track.track_id]


__all__ = ["MaskTracker"]
