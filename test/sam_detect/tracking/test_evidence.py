# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Evidence over time in SAMDetect.track: teaching one label never costs another its track."""

from __future__ import annotations

from typing import Any

import pytest

from sam_detect import SAMDetect


def step(detector: SAMDetect, scene: Any, grey: tuple[str, ...] = ()) -> dict[str, Any]:
    """Track one frame; return each object's instance by name."""
    detections = detector.track(scene.frame(grey))
    return {name: detections[i] for name, i in scene.which([d.mask for d in detections]).items()}


def teach(detector: SAMDetect, scene: Any, name: str) -> list:
    cutout = scene.cutouts[scene.names.index(name)]
    return detector.add_example(cutout[:, :, :3], name, mask=cutout[:, :, 3] > 0)


def test_teaching_forgetting_and_relabelling_keep_the_other_tracks(shape_scene: Any) -> None:
    # The colour embedder: a washed-out frame is one it cannot place, a frame of doubt.
    detector = SAMDetect(embedder="average", segmenter="naive", keyframe_interval=1)
    teach(detector, shape_scene, "red disc")
    for _ in range(6):
        seen = step(detector, shape_scene)
    red, blue, ring = seen["red disc"], seen["blue box"], seen["yellow ring"]
    assert (red.label, blue.label, ring.label) == ("red disc", None, None)
    before = red.confidence

    ids = teach(detector, shape_scene, "blue box")
    # The first frame after teaching, the red disc is seen badly (washed out) ...
    seen = step(detector, shape_scene, grey=("red disc",))
    doubt = detector.classify(seen["red disc"].embedding[None, :])[0]
    assert doubt.label is None  # ... so badly that this frame alone does not know it,
    # yet its track keeps its label, its id and most of its confidence,
    assert seen["red disc"].track_id == red.track_id
    assert seen["red disc"].label == "red disc"
    assert seen["red disc"].confidence >= 0.8 * before
    # while the object just taught is labelled at once, at this frame's own confidence.
    single = detector.classify(seen["blue box"].embedding[None, :])[0]
    assert seen["blue box"].track_id == blue.track_id
    assert (seen["blue box"].label, single.label) == ("blue box", "blue box")
    assert seen["blue box"].confidence == pytest.approx(single.confidence)

    for change in (lambda: detector.relabel_examples(ids, "navy box"),
                   lambda: detector.remove_label("navy box")):
        change()
        seen = step(detector, shape_scene)
        assert seen["red disc"].label == "red disc"
        assert seen["red disc"].confidence >= 0.8 * before
    # Never taught, seen all along: never a taught label.
    assert seen["yellow ring"].track_id == ring.track_id
    assert seen["yellow ring"].label is None
    track = detector.video_tracker().tracker.get(ring.track_id)
    assert track.hits >= 9 and {label for label, _ in track.votes} == {None}
