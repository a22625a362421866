# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of SAMDetect.track and the video path: ids through occlusion and exits, less work."""

from __future__ import annotations

from collections import defaultdict
import tracemalloc
from typing import Any

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.errors import SamDetectError
from sam_detect.evaluation.sequences import noise_background, render_sequence, shape_cutouts
from sam_detect.evaluation.tracking import _iou_matrix
from sam_detect.results import Segment
from sam_detect.tracking import (
    CropPropagator, PromptPropagator, TemplatePropagator, VideoTracker, propagator_for)
from sam_detect.tracking.video import split_among

NAMES = ["red disc", "blue box", "yellow ring"]


def sequence(seed: int, frames: int = 45) -> Any:
    """Object 1 passes in front of object 2; object 3 leaves and comes back."""
    return render_sequence(shape_cutouts(48), noise_background((320, 240), seed), frames,
                           np.random.default_rng(seed))


def taught_detector(**options: Any) -> SAMDetect:
    detector = SAMDetect(embedder="average", segmenter="naive", **options)
    for cutout, name in zip(shape_cutouts(48), NAMES):
        detector.add_example(cutout[:, :, :3], name, mask=cutout[:, :, 3] > 0)
    return detector


class CountingEmbedder:
    """Wraps an embedder and counts the crops it embeds."""

    def __init__(self, embedder: Any) -> None:
        self.inner, self.crops = embedder, 0

    def embed(self, crops: list) -> np.ndarray:
        self.crops += len(crops)
        return self.inner.embed(crops)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def follow(detector: SAMDetect, seq: Any) -> tuple[dict, dict]:
    """Track ``seq``; return per object the track ids and labels of the frames it was found."""
    ids: dict[int, list[int]] = defaultdict(list)
    labels: dict[int, list[str | None]] = defaultdict(list)
    for frame, truth in zip(seq.frames, seq.truth):
        detections = detector.track(frame)
        visible = [k for k in sorted(truth) if not truth[k][1]]
        ious = _iou_matrix([truth[k][0] for k in visible], [d.mask for d in detections])
        for row, obj in enumerate(visible):
            if len(detections) and ious[row].max() >= 0.5:
                found = detections[int(np.argmax(ious[row]))]
                ids[obj].append(found.track_id)
                labels[obj].append(found.label)
    return ids, labels


@pytest.mark.parametrize("keyframe_interval", [1, 3, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_object_keeps_one_track_id_and_label_through_occlusion_and_exit(
        keyframe_interval: int, seed: int) -> None:
    seq = sequence(seed)
    ids, labels = follow(taught_detector(keyframe_interval=keyframe_interval), seq)
    for obj, name in enumerate(NAMES, start=1):
        assert len(ids[obj]) >= 22, f"object {obj} found in only {len(ids[obj])} frames"
        assert len(set(ids[obj])) == 1, f"object {obj} had track ids {sorted(set(ids[obj]))}"
        assert set(labels[obj]) == {name}
    assert len({ids[obj][0] for obj in ids}) == 3  # three objects, three tracks
    # The returning object (3) was really gone: absent from several frames in the middle.
    assert sum(3 not in truth for truth in seq.truth) >= 5


@pytest.mark.parametrize("keyframe_interval, most_keyframes", [(1, 1.0), (5, 0.6)])
def test_key_frames_and_embeddings_are_saved_between_key_frames(
        keyframe_interval: int, most_keyframes: float) -> None:
    detector = taught_detector(keyframe_interval=keyframe_interval)
    embedder = detector.embedder = CountingEmbedder(detector.embedder)
    seq = sequence(0)
    for frame in seq.frames:
        detector.track(frame)
    video = detector.video_tracker()
    assert video.keyframes <= most_keyframes * video.frames
    if keyframe_interval > 1:
        visible = sum(len(truth) for truth in seq.truth)
        assert embedder.crops < 0.8 * visible  # unchanged masks reuse their embedding


def test_track_reports_track_ids_timings_and_resets() -> None:
    detector = taught_detector()
    seq = sequence(1, frames=3)
    first = detector.track(seq.frames[0])
    assert sorted(i.track_id for i in first) == [1, 2, 3]
    assert [i.id for i in first] == list(range(len(first)))
    assert {"segment", "embed", "search", "track", "total"} <= set(first.timings_ms)
    assert all(i.to_dict()["track_id"] == i.track_id for i in first)
    detector.reset_tracking()
    assert detector.tracks() == []
    assert sorted(i.track_id for i in detector.track(seq.frames[0])) == [1, 2, 3]
    assert all(i.track_id == 0 for i in detector.detect(seq.frames[2]))


def test_teach_track_stores_the_track_s_views_and_relabels_it() -> None:
    detector = SAMDetect(embedder="average")
    seq = sequence(2, frames=6)
    for frame in seq.frames:
        detections = detector.track(frame)
    target = detections[0]
    assert target.label is None
    ids = detector.teach_track(target.track_id, "thing")
    assert len(ids) >= 1 and detector.labels() == {"thing": len(ids)}
    again = detector.track(seq.frames[-1])
    assert [i.label for i in again if i.track_id == target.track_id] == ["thing"]
    with pytest.raises(SamDetectError, match="no track 99"):
        detector.teach_track(99, "thing")


def test_teaching_takes_effect_on_the_next_frame() -> None:
    """Votes from before a store change are stale: a tracked object is named at once."""
    detector = SAMDetect(embedder="average")
    seq = sequence(0, frames=40)
    for frame in seq.frames[:10]:
        detections = detector.track(frame)
    assert {i.label for i in detections} == {None}
    cutout = shape_cutouts(48)[0]
    detector.add_example(cutout[:, :, :3], "red disc", mask=cutout[:, :, 3] > 0)
    for frame in seq.frames[10:15]:
        assert "red disc" in [i.label for i in detector.track(frame)]
    detector.remove_label("red disc")
    assert {i.label for i in detector.track(seq.frames[15])} == {None}


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "5"])
def test_a_bad_keyframe_interval_names_the_option(value: Any) -> None:
    with pytest.raises(SamDetectError, match="keyframe_interval"):
        SAMDetect(embedder="average", keyframe_interval=value)
    detector = SAMDetect(embedder="average")
    with pytest.raises(SamDetectError, match="keyframe_interval"):
        detector.update(keyframe_interval=value)


def test_keyframe_interval_changes_at_run_time() -> None:
    detector = SAMDetect(embedder="average", keyframe_interval=5)
    detector.track(sequence(0, frames=1).frames[0])
    detector.update(keyframe_interval=2)
    assert detector.video_tracker().keyframe_interval == 2


def test_memory_stays_bounded_on_an_endless_stream() -> None:
    """Objects keep arriving and leaving for many frames: tracks and memory stop growing."""
    detector = SAMDetect(embedder="average", keyframe_interval=3)
    detector.video_tracker().tracker.max_tracks = 12
    detector.video_tracker().tracker.max_lost = 20
    cutouts = shape_cutouts(32)
    background = noise_background((160, 120))
    rng = np.random.default_rng(0)
    sizes = []
    for frame_index in range(240):
        frame = background.copy()
        # a new random set of objects every 10 frames: a stream of new tracks
        if frame_index % 10 == 0:
            places = rng.integers(20, 100, size=(3, 2))
        for cutout, (x, y) in zip(cutouts, places):
            inside = cutout[:, :, 3] > 0
            frame[y - 16:y + 16, x - 16 + frame_index % 10:x + 16 + frame_index % 10][inside] = \
                cutout[:, :, :3][inside]
        if frame_index == 120:
            tracemalloc.start()
        detector.track(frame)
        if frame_index >= 120:
            sizes.append(tracemalloc.get_traced_memory()[0])
        assert len(detector.tracks()) <= 12
    tracemalloc.stop()
    # Memory held after the second half of the stream is no more than after its first frames.
    assert sizes[-1] < sizes[10] + 2_000_000


def test_split_among_gives_contested_pixels_to_the_object_they_look_like() -> None:
    blob = np.zeros((1, 8), bool)
    blob[0, :] = True
    left, right = np.zeros_like(blob), np.zeros_like(blob)
    left[0, :6], right[0, 2:] = True, True  # pixels 2-5 are in both predictions
    looks_left = np.array([[1, 1, 1, 1, 0, 0, 0, 0]], np.float32)
    parts = split_among(blob, [left, right], [looks_left, 1.0 - looks_left])
    assert parts[0].astype(int).tolist() == [[1, 1, 1, 1, 0, 0, 0, 0]]
    assert parts[1].astype(int).tolist() == [[0, 0, 0, 0, 1, 1, 1, 1]]


class PromptRecorder:
    """A promptable segmenter that answers each box prompt with the box itself."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def segment(self, image: np.ndarray) -> list[Segment]:
        return []

    def segment_prompts(self, image: np.ndarray, points: Any = None, point_labels: Any = None,
                        boxes: Any = None) -> list[Segment]:
        self.calls.append({"points": points, "boxes": boxes})
        out = []
        for x0, y0, x1, y1 in np.asarray(boxes, int):
            mask = np.zeros(image.shape[:2], bool)
            mask[y0:y1, x0:x1] = True
            out.append(Segment(mask, 0.9))
        return out


def test_the_prompt_propagator_sends_one_box_and_point_per_track_in_one_call() -> None:
    from sam_detect.tracking import MaskTracker

    tracker = MaskTracker()
    masks = []
    for x in (10, 60):
        mask = np.zeros((80, 100), bool)
        mask[20:40, x:x + 20] = True
        masks.append(mask)
    from sam_detect.results import Instance

    tracker.update([Instance(m, (x, 20, x + 20, 40), embedding=np.eye(2, dtype=np.float32)[i])
                    for i, (m, x) in enumerate(zip(masks, (10, 60)))])
    segmenter = PromptRecorder()
    propagator = propagator_for(segmenter)
    assert isinstance(propagator, PromptPropagator)
    results = propagator.propagate(np.zeros((80, 100, 3), np.uint8), tracker.tracks(), [1, 1])
    assert len(segmenter.calls) == 1 and len(results) == 2
    boxes, points = segmenter.calls[0]["boxes"], segmenter.calls[0]["points"]
    assert boxes.shape == (2, 4) and points.shape == (2, 1, 2)
    for (x0, y0, x1, y1), ((px, py),) in zip(boxes, points):
        assert x0 <= px <= x1 and y0 <= py <= y1
    assert isinstance(propagator_for(SAMDetect(embedder="average", segmenter="naive").segmenter),
                      TemplatePropagator)

    class Plain:
        name = "other"

        def segment(self, image: np.ndarray) -> list:
            return []

    assert isinstance(propagator_for(Plain()), CropPropagator)


@pytest.mark.parametrize("shift, covered, found", [
    ((6, -4), False, True),   # moved a little off its predicted place: found there
    ((0, 0), True, False),    # hidden under something else: a miss, not a wrong mask
])
def test_the_template_propagator_finds_the_object_again(shift: tuple[int, int], covered: bool,
                                                        found: bool) -> None:
    from sam_detect.results import Instance
    from sam_detect.tracking import MaskTracker

    cutout = shape_cutouts(32)[0]
    background = noise_background((160, 120))
    before, after = background.copy(), background.copy()
    inside = cutout[:, :, 3] > 0
    before[40:72, 50:82][inside] = cutout[:, :, :3][inside]
    x, y = 50 + shift[0], 40 + shift[1]
    after[y:y + 32, x:x + 32][inside] = cutout[:, :, :3][inside]
    if covered:
        after[35:80, 45:90] = (250, 250, 250)
    mask = np.zeros((120, 160), bool)
    mask[40:72, 50:82] = inside
    tracker = MaskTracker()
    tracker.update([Instance(mask, (50, 40, 82, 72), embedding=np.ones(2, np.float32))])
    (track,) = tracker.tracks()
    track.patch = before[40:72, 50:82].copy()
    (segment,) = TemplatePropagator().propagate(after, [track], [1])
    assert (segment is not None) == found
    if found:
        moved = np.zeros_like(mask)
        moved[y:y + 32, x:x + 32] = inside
        assert (segment.mask == moved).all()


def test_video_tracker_defaults() -> None:
    video = VideoTracker()
    assert video.keyframe_interval == 5 and video.frames == 0


@pytest.mark.usefixtures("torch_one_thread")
def test_sam2_tracks_with_one_prompt_per_track_between_key_frames(monkeypatch: Any) -> None:
    """Track with the real SAM2 segmenter (random mini weights).

    Key frames decode the grid; the frames between decode one box-and-point prompt per track
    on the once-encoded frame.
    """
    pytest.importorskip("transformers")
    from sam_detect.models.synthetic import random_sam2
    from sam_detect.segmentation.sam2 import SAM2Segmenter

    segmenter = SAM2Segmenter(model=random_sam2("mini", confident=True), device="cpu",
                              points_per_side=4, max_instances=3, pred_iou_thresh=0.0,
                              stability_thresh=0.0, min_area=1)
    prompts: list[int] = []
    predict = segmenter.predict

    def counting_predict(*args: Any, **kwargs: Any) -> Any:
        prompts.append(len(kwargs["boxes"]))
        return predict(*args, **kwargs)

    monkeypatch.setattr(segmenter, "predict", counting_predict)
    detector = SAMDetect(segmenter=segmenter, embedder="average", keyframe_interval=3)
    video = detector.video_tracker()
    video.motion_fraction = 1.0  # random masks: only the interval decides key frames here
    seq = sequence(0, frames=4)
    keyframes = []
    for frame in seq.frames:
        detections = detector.track(frame)
        keyframes.append(video.last_keyframe)
        assert all(inst.track_id > 0 for inst in detections)
    assert keyframes[0] and video.keyframes < len(seq.frames)
    assert prompts and all(0 < n <= 3 for n in prompts)  # one prompt per track, not a grid


def test_a_new_frame_size_starts_a_new_video() -> None:
    detector = SAMDetect(embedder="average")
    big = sequence(0, frames=2).frames[0]
    detector.track(big)
    small = big[::2, ::2].copy()
    detections = detector.track(small)
    assert detections.image_size == small.shape[:2]
    assert all(t.track_id <= len(detections) for t in detector.tracks())  # ids start again


def test_two_tracks_never_report_the_same_pixels() -> None:
    """A key-frame region over a propagated track's pixels does not become a second id."""
    from sam_detect.results import Instance
    from sam_detect.tracking import MaskTracker, VideoTracker

    video = VideoTracker(MaskTracker(), keyframe_interval=5)
    mask = np.zeros((60, 80), bool)
    mask[10:40, 10:40] = True
    inner = np.zeros((60, 80), bool)
    inner[12:38, 12:38] = True
    old = Instance(mask, (10, 10, 40, 40), track_id=1)
    young = Instance(inner, (12, 12, 38, 38), track_id=7)
    apart = Instance(np.roll(mask, 40, axis=1), (50, 10, 80, 40), track_id=9)
    kept = video._one_track_per_object([young, apart, old])
    assert [i.track_id for i in kept] == [9, 1]  # the older of the two, the frame's order kept
