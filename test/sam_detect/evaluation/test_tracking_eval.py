# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of the tracking sequences, the IDF1 evaluation and their CLI hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
import pytest

from sam_detect import SAMDetect
from sam_detect.cli import main
from sam_detect.evaluation.sequences import (
    MIN_VISIBLE, make_sequences, noise_background, object_paths, render_sequence, shape_cutouts)
from sam_detect.evaluation.tracking import evaluate_tracking, label_flips
from sam_detect.results import decode_rle

from .conftest import MIN_PER_CLASS

pytest.importorskip("motmetrics")


@pytest.fixture(scope="module")
def sequences(fake_stamps: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seq") / "seqs"
    make_sequences(out, sequences=2, frames=20, seed=0, size=(200, 150),
                   min_per_class=MIN_PER_CLASS, stamps_root=fake_stamps)
    return out


def test_sequences_hold_frames_cutouts_and_per_frame_ground_truth(sequences: Path) -> None:
    index = json.loads((sequences / "sequences.json").read_text())
    assert [s["name"] for s in index["sequences"]] == ["seq000", "seq001"]
    for seq in index["sequences"]:
        assert len(seq["annotations"]) == seq["frames"] == 20
        assert len(list((sequences / seq["name"]).glob("*.png"))) == 20
        categories = [o["category"] for o in seq["objects"]]
        assert len(set(categories)) == 3  # distinct categories, so labels are checkable
        for obj in seq["objects"]:
            assert (sequences / obj["example"]).is_file()
        # object 3 leaves the view for a while and comes back
        present = [any(a["id"] == 3 for a in frame) for frame in seq["annotations"]]
        assert present[0] and present[-1] and not all(present)
        masks = [decode_rle(a["rle"]) for a in seq["annotations"][0]]
        assert all(m.shape == (150, 200) and m.any() for m in masks)


def test_the_same_seed_writes_the_same_sequences(fake_stamps: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        make_sequences(tmp_path / name, sequences=1, frames=10, seed=3, size=(120, 90),
                       min_per_class=MIN_PER_CLASS, stamps_root=fake_stamps)
    first, second = (tmp_path / name / "sequences.json" for name in ("a", "b"))
    assert first.read_bytes() == second.read_bytes()


def test_occlusion_hides_the_object_behind_and_marks_it_ignored() -> None:
    rng = np.random.default_rng(0)
    seq = render_sequence(shape_cutouts(40), noise_background((240, 160)), 30, rng)
    ignored = [frame[2][1] for frame in seq.truth if 2 in frame]
    assert any(ignored) and not all(ignored)  # hidden while object 1 passes, not before
    whole = np.count_nonzero(shape_cutouts(40)[1][:, :, 3])
    for frame in seq.truth:
        if 2 in frame:
            mask, ignore = frame[2]
            assert ignore == (np.count_nonzero(mask) < MIN_VISIBLE * whole)
        if 1 in frame and 2 in frame:
            assert not (frame[1][0] & frame[2][0]).any()  # visible masks never overlap


def test_object_paths_cross_and_leave() -> None:
    front, behind, leaver = object_paths(50, (400, 300), [50, 50, 50],
                                         np.random.default_rng(0))
    assert front[0][0] < behind[0][0] and front[-1][0] > behind[-1][0]  # they cross
    assert max(x for x, _ in leaver) > 400 + 25 and leaver[-1][0] < 400  # out and back


@pytest.mark.parametrize("labels, expected", [
    ({1: ["a", "a", "a"]}, (0, 3)),
    ({1: ["a", "b", "a"], 2: ["c"]}, (2, 4)),
    ({1: [None, "a", "a"], 2: []}, (1, 3)),
])
def test_label_flips(labels: dict, expected: tuple[int, int]) -> None:
    assert label_flips(labels) == expected


def test_evaluate_tracking_reports_idf1_switches_and_flips(sequences: Path) -> None:
    detector = SAMDetect(embedder="average", keyframe_interval=3)
    report = evaluate_tracking(detector, sequences)
    overall = report["overall"]
    assert set(report["sequences"]) == {"seq000", "seq001"}
    assert 0.0 <= overall["idf1"] <= 1.0 and overall["num_switches"] >= 0
    assert overall["num_frames"] == 40 and overall["num_unique_objects"] == 6
    assert overall["label_flips_per_100_frames"] >= 0.0
    assert 0 < report["keyframe_share"] <= 1.0 and report["keyframe_interval"] == 3
    assert detector.labels() == {}  # what it taught is removed again


def test_with_truth_masks_the_tracker_alone_is_measured(sequences: Path) -> None:
    detector = SAMDetect(embedder="average", keyframe_interval=4)
    segmenter = detector.segmenter
    report = evaluate_tracking(detector, sequences, truth_masks=True)
    # The detector's stages are never swapped: the evaluation tracks on a stream of its own.
    assert report["truth_masks"] and detector.segmenter is segmenter
    assert detector.video_tracker().segmenter is None
    assert report["overall"]["recall"] > 0.8


def test_a_perfect_tracker_scores_idf1_one(sequences: Path, monkeypatch: Any) -> None:
    """Feed the ground truth back as the tracker's output: IDF1 1, no switch, no flip."""
    index = json.loads((sequences / "sequences.json").read_text())
    from sam_detect.results import Detections, Instance, mask_to_bbox

    class Oracle(SAMDetect):
        def __init__(self) -> None:
            super().__init__(embedder="average")
            self.frames = iter(frame for seq in index["sequences"]
                               for frame in seq["annotations"])

        def track(self, frame: Any, top_k: Any = None, stream: str = "") -> Detections:
            truth = next(self.frames)
            instances = []
            for a in truth:
                mask = decode_rle(a["rle"])
                instances.append(Instance(mask, mask_to_bbox(mask), label=a["category"],
                                          confidence=1.0, track_id=a["id"]))
            return Detections(instances, frame.shape[:2])

    report = evaluate_tracking(Oracle(), sequences)
    assert report["overall"]["idf1"] == 1.0
    assert report["overall"]["num_switches"] == 0
    assert report["overall"]["label_flips_per_100_frames"] == 0.0
    assert report["overall"]["label_accuracy"] == 1.0


def _box(x0: int, x1: int, y0: int = 8, y1: int = 40) -> np.ndarray:
    mask = np.zeros((48, 96), bool)
    mask[y0:y1, x0:x1] = True
    return mask


CUP, CAN, PEN, NOTHING = _box(4, 30), _box(36, 62), _box(68, 76, 30, 38), _box(80, 92, 2, 8)


def test_evaluate_tracking_known_values(tmp_path: Path) -> None:
    """A scripted tracker on a hand-made sequence: every figure counted by hand.

    Ten frames of a cup and a can, plus a pen that is mostly hidden (``ignore``) in frames 0-1.
    The tracker follows the cup as track 1, then as track 7 from frame 6 (one id switch); the can
    as track 2, labelled "can" in frames 0-3 and "cup" in 4-7 (one flip), and loses it in frames
    8-9 (two misses); it also reports the hidden pen (neither hit nor false alarm) and, in frame 9,
    a thing that is not there (one false alarm).
    """
    from sam_detect.results import Detections, encode_rle, Instance, mask_to_bbox

    frames = 10
    (tmp_path / "seq000").mkdir()
    annotations = []
    for index in range(frames):
        Image.fromarray(np.zeros((48, 96, 3), np.uint8)).save(
            tmp_path / "seq000" / f"{index:06d}.png")
        truth = [{"id": 1, "category": "cup", "ignore": False, "rle": encode_rle(CUP)},
                 {"id": 2, "category": "can", "ignore": False, "rle": encode_rle(CAN)}]
        if index < 2:
            truth.append({"id": 3, "category": "pen", "ignore": True, "rle": encode_rle(PEN)})
        annotations.append(truth)
    (tmp_path / "sequences.json").write_text(json.dumps({"seed": 0, "sequences": [
        {"name": "seq000", "frames": frames, "objects": [], "annotations": annotations}]}))

    def script(index: int) -> list[tuple[np.ndarray, int, str | None]]:
        out = [(CUP, 1 if index < 6 else 7, "cup")]
        if index < 8:
            out.append((CAN, 2, "can" if index < 4 else "cup"))
        if index < 2:
            out.append((PEN, 3, "pen"))
        if index == 9:
            out.append((NOTHING, 9, None))
        return out

    class Scripted(SAMDetect):
        def __init__(self) -> None:
            super().__init__(embedder="average")
            self.index = 0

        def track(self, frame: Any, top_k: Any = None, stream: Any = None) -> Detections:
            instances = [Instance(mask, mask_to_bbox(mask), label=label, confidence=1.0,
                                  track_id=track) for mask, track, label in script(self.index)]
            self.index += 1
            return Detections(instances, frame.shape[:2])

    overall = evaluate_tracking(Scripted(), tmp_path, teach=False)["overall"]
    # 20 true detections (the hidden pen is not one), 19 predicted ones that count (the pen's
    # are left out), 18 of them matched.
    assert (overall["num_frames"], overall["num_unique_objects"]) == (10, 2)
    assert overall["num_switches"] == 1
    assert overall["recall"] == pytest.approx(18 / 20)
    assert overall["precision"] == pytest.approx(18 / 19)
    assert overall["mota"] == pytest.approx(1 - (2 + 1 + 1) / 20)  # misses, false alarm, switch
    # The best one-to-one id mapping: track 1 -> cup (6 frames), track 2 -> can (8 frames);
    # IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN) = 28 / (28 + 5 + 6).
    assert overall["idf1"] == pytest.approx(28 / 39, abs=1e-6)
    # Tracks 1 (6 frames), 7 (4), 2 (8) and 9 (1): one flip in 19 track-frames.
    assert overall["label_flips_per_100_frames"] == pytest.approx(100 / 19)
    # Of the 18 matched track-frames, the can's 4 "cup" frames are wrong.
    assert overall["label_accuracy"] == pytest.approx(14 / 18)


def test_cli_makes_sequences_and_evaluates_them(fake_stamps: Path, tmp_path: Path,
                                                capsys: Any) -> None:
    out = tmp_path / "seqs"
    assert main(["make-benchmark", str(out), "--sequences", "1", "--frames", "12",
                 "--size", "160x120", "--min-per-class", str(MIN_PER_CLASS), "--stamps-dir",
                 str(fake_stamps), "-q"]) == 0
    assert "1 sequences" in capsys.readouterr().out
    report_file = tmp_path / "report.json"
    assert main(["evaluate", str(out), "--embedder", "average", "--keyframe-interval", "4",
                 "--json", str(report_file), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "IDF1" in printed and "id switches" in printed
    report = json.loads(report_file.read_text())
    assert report["keyframe_interval"] == 4 and "idf1" in report["overall"]


def test_no_sequences_is_a_clear_error(tmp_path: Path) -> None:
    from sam_detect.errors import SamDetectError

    with pytest.raises(SamDetectError, match="make-benchmark OUT --sequences"):
        evaluate_tracking(SAMDetect(embedder="average"), tmp_path)
