# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of MaskTracker: association, re-identification, label votes and bounded state."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect.results import Instance
from sam_detect.tracking import MaskTracker, Tracker
from sam_detect.tracking.base import crop_iou, paste_crop, shape_iou

SHAPE = (120, 160)
RED, BLUE, GREEN = np.eye(3, dtype=np.float32)


def square(x: int, y: int, size: int = 16, embedding: np.ndarray = RED, label: str | None = "a",
           confidence: float = 0.8) -> Instance:
    mask = np.zeros(SHAPE, bool)
    mask[max(0, y):y + size, max(0, x):x + size] = True
    return Instance(mask=mask, bbox=(max(0, x), max(0, y), x + size, y + size), label=label,
                    confidence=confidence, embedding=embedding)


def test_it_is_a_tracker() -> None:
    assert isinstance(MaskTracker(), Tracker)


def test_ids_stay_with_moving_objects_and_swap_of_order_does_not_matter() -> None:
    tracker = MaskTracker()
    first = tracker.update([square(10, 10, embedding=RED), square(100, 60, embedding=BLUE)])
    assert [i.track_id for i in first] == [1, 2]
    for step in range(1, 10):  # they move towards each other, listed in the other order
        out = tracker.update([square(100 - 4 * step, 60, embedding=BLUE),
                              square(10 + 4 * step, 10, embedding=RED)])
        assert [i.track_id for i in out] == [2, 1]


def test_a_lost_object_is_re_identified_by_its_embedding_far_from_where_it_left() -> None:
    tracker = MaskTracker(max_lost=30)
    (red,) = tracker.update([square(10, 10, embedding=RED)])
    for _ in range(10):  # gone for 10 frames
        assert tracker.update([square(120, 80, embedding=BLUE)])[0].track_id != red.track_id
    back = tracker.update([square(120, 80, embedding=BLUE), square(60, 5, embedding=RED)])
    assert back[1].track_id == red.track_id
    assert tracker.get(red.track_id).live


def test_a_look_alike_elsewhere_is_not_an_overlap_match_and_a_stranger_gets_a_new_id() -> None:
    tracker = MaskTracker()
    (red,) = tracker.update([square(10, 10, embedding=RED)])
    # Same place, different appearance: a new object, not the red one.
    (other,) = tracker.update([square(10, 10, embedding=GREEN)])
    assert other.track_id != red.track_id


@pytest.mark.parametrize("max_lost, frames_away, kept", [(5, 5, True), (5, 6, False),
                                                         (0, 1, False)])
def test_lost_tracks_are_kept_for_max_lost_frames(max_lost: int, frames_away: int,
                                                  kept: bool) -> None:
    tracker = MaskTracker(max_lost=max_lost)
    tracker.update([square(10, 10)])
    for _ in range(frames_away):
        tracker.update([])
    assert (tracker.get(1) is not None) == kept


def test_state_stays_bounded_on_an_endless_stream_of_new_objects() -> None:
    tracker = MaskTracker(max_tracks=8, max_lost=1000, vote_window=4, gallery_size=3)
    rng = np.random.default_rng(0)
    for frame in range(300):
        vectors = rng.normal(size=(3, 3)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        tracker.update([square(int(x), int(y), embedding=v, label=f"l{frame % 7}")
                        for x, y, v in zip(rng.integers(0, 140, 3), rng.integers(0, 100, 3),
                                           vectors)])
        tracks = tracker.tracks()
        assert len(tracks) <= 8
        assert all(len(t.votes) <= 4 and len(t.gallery) <= 3 for t in tracks)
        assert all(t.mask_crop.shape[0] <= 16 and t.mask_crop.shape[1] <= 16 for t in tracks)


@pytest.mark.parametrize("votes, expected", [
    # (label, confidence) per frame -> the track's label after the last one
    ([("cup", 0.8)] * 6 + [("can", 0.9)], "cup"),  # one bad frame does not flip it
    ([("cup", 0.8)] * 3 + [("can", 0.9)] * 10, "can"),  # a lasting change does
    ([(None, 0.0)] * 5 + [("cup", 0.6)] * 5, "cup"),  # a label seen as often wins over unknown
    ([("cup", 0.7)] * 4 + [(None, 0.0)] * 2, "cup"),  # a missed frame does not forget it
    ([("cup", 0.9)], "cup"),  # the first frame's label at once
    # never taught, labelled by mistake one frame in four: unknown however long it is seen
    ([(None, 0.0)] * 3 + [("cup", 0.9)] + [(None, 0.0)] * 3 + [("cup", 0.9)], None),
    ([(None, 0.0), (None, 0.0), ("cup", 0.8)] * 40, None),
])
def test_labels_are_voted_over_the_track(votes: list, expected: str | None) -> None:
    tracker = MaskTracker(vote_window=30)
    labels = [tracker.update([square(10, 10, label=label, confidence=confidence)])[0].label
              for label, confidence in votes]
    assert labels[-1] == expected
    if expected is None:  # not even for one frame once its history says unknown
        assert set(labels[3:]) == {None}


def test_confidence_is_the_mean_probability_over_the_track() -> None:
    tracker = MaskTracker()
    confidences = [tracker.update([square(10, 10, confidence=0.8)])[0].confidence
                   for _ in range(8)]
    assert confidences == pytest.approx([0.8] * 8)  # no climb: the first frame says 0.8
    tracker.update([square(10, 10, label=None, confidence=0.0)])
    assert tracker.get(1).confidence == pytest.approx(0.8 * 8 / 9)


def test_a_store_change_drops_only_the_votes_of_its_labels() -> None:
    tracker = MaskTracker()
    for _ in range(6):
        cup, stranger = tracker.update([
            square(10, 10, label="cup", confidence=0.8),
            square(80, 60, embedding=BLUE, label=None, confidence=0.0)])
    tracker.forget({"mug"})  # "mug" taught: the cup's track keeps all it knew
    cup, stranger = tracker.update([
        square(10, 10, label="cup", confidence=0.8),
        square(80, 60, embedding=BLUE, label="mug", confidence=0.7)])
    assert (cup.label, cup.confidence) == ("cup", pytest.approx(0.8))
    # the unknown object named by the new label on its first frame after: labelled at once
    assert (stranger.label, stranger.confidence) == ("mug", pytest.approx(0.7))
    tracker.forget({"cup"})  # "cup" forgotten: its votes go, the mug's stay
    assert (tracker.get(cup.track_id).label, tracker.get(stranger.track_id).label) == (
        None, "mug")


def test_set_label_relabels_a_track_at_once() -> None:
    tracker = MaskTracker()
    tracker.update([square(10, 10, label="cup")])
    tracker.set_label(1, "mug")
    (inst,) = tracker.update([square(11, 10, label="cup", confidence=0.5)])
    assert (inst.label, tracker.get(1).label) == ("mug", "mug")


def test_hints_assign_propagated_instances_and_duplicates_fall_back_to_association() -> None:
    tracker = MaskTracker()
    tracker.update([square(10, 10, embedding=RED), square(100, 60, embedding=BLUE)])
    out = tracker.update([square(100, 60, embedding=BLUE), square(10, 10, embedding=RED)],
                         hints=[2, 2])
    assert [i.track_id for i in out] == [2, 1]


@pytest.mark.parametrize("unknown_threshold, min_similarity, reid_similarity", [
    (0.92, 0.5, 0.96),   # colour averages: everything looks alike, so demand more to re-id
    (0.4, 0.4, 0.85),    # CNN features
    (0.25, 0.25, 0.85),  # whitened features: unrelated objects near 0
    (-3.0, -1.0, 0.85),  # below any cosine: clipped
])
def test_similarity_thresholds_follow_the_embedder(unknown_threshold: float,
                                                   min_similarity: float,
                                                   reid_similarity: float) -> None:
    tracker = MaskTracker.for_embedder(unknown_threshold)
    assert tracker.min_similarity == pytest.approx(min_similarity)
    assert tracker.reid_similarity == pytest.approx(reid_similarity)
    assert MaskTracker.for_embedder(unknown_threshold, min_similarity=0.7).min_similarity == 0.7


def whitened_views(count: int, similarity: float, seed: int = 0) -> list[np.ndarray]:
    """Return unit vectors of one object, any two about ``similarity`` alike (whitened)."""
    rng = np.random.default_rng(seed)
    anchor = rng.standard_normal(512)
    anchor /= np.linalg.norm(anchor)
    views, along = [], np.sqrt(similarity)
    for _ in range(count):
        noise = rng.standard_normal(512)
        noise -= (noise @ anchor) * anchor
        noise /= np.linalg.norm(noise)
        views.append((along * anchor + np.sqrt(1 - similarity) * noise)
                     .astype(np.float32))
    return views


def test_an_object_keeps_its_id_in_a_whitened_space_where_views_score_0_4_alike() -> None:
    # A whitened embedder (unknown_threshold 0.25): one object's views are ~0.4 alike, an
    # unrelated object's ~0. A fixed min_similarity of 0.5 gave the moving objects new ids.
    views = whitened_views(12, 0.4)
    other = whitened_views(12, 0.4, seed=1)
    assert 0.3 < float(views[0] @ views[1]) < 0.5 and abs(float(views[0] @ other[0])) < 0.3
    tracker = MaskTracker.for_embedder(0.25)
    for step in range(12):
        out = tracker.update([square(10 + 2 * step, 10, embedding=views[step]),
                              square(100, 60 + 2 * step, embedding=other[step])])
        assert [i.track_id for i in out] == [1, 2]


def test_reset_forgets_everything() -> None:
    tracker = MaskTracker()
    tracker.update([square(10, 10)])
    tracker.reset()
    assert tracker.tracks() == [] and tracker.update([square(10, 10)])[0].track_id == 1


@pytest.mark.parametrize("box_b, expected", [((0, 0), 1.0), ((8, 0), 1 / 3), ((16, 0), 0.0),
                                             ((-4, -4), 3 / 13)])
def test_crop_iou_matches_full_frame_iou(box_b: tuple[int, int], expected: float) -> None:
    crop = np.ones((8, 16), bool)
    a, b = (20, 20, 36, 28), (20 + box_b[0], 20 + box_b[1], 36 + box_b[0], 28 + box_b[1])
    full_a, full_b = paste_crop(crop, a, SHAPE), paste_crop(crop, b, SHAPE)
    full = np.count_nonzero(full_a & full_b) / np.count_nonzero(full_a | full_b)
    assert crop_iou(crop, a, crop, b) == pytest.approx(full) == pytest.approx(expected)
    assert shape_iou(crop, crop) == 1.0
