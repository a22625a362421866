# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""One taught label stays on its object: a red box, a blue disc and a green triangle.

The scene of issue 8: three flat objects on a floor, drifting a little between frames. Only the
box is taught, from one example; over 20 further frames no other object may ever get its label,
and the box must be recognised. Through the library (teaching by pointing at a detected
instance, and from a masked example alone) and through the CLI, for every embedder.

Each library case runs twice: at the embedder's default sensitivity, and with the similarity
floor (``unknown_threshold``) lowered to -0.9, where it rejects none of this scene's objects (all
of them are at least that similar to the box, checked in :func:`check_stream`). There only the
open-set decision - known background, generic objects - keeps the label on the box, so these
cases fail on a classifier that has the floor alone, whatever the embedder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys

import cv2
import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.evaluation.flat_scene import centre_at, frame, FlatObject, object_mask, RED_BOX
from sam_detect.models.synthetic import save_random_clip

ROOT = Path(__file__).resolve().parents[2]
TEACH_FRAME = 20
CHECK_FRAMES = range(21, 41)


def object_under(instances, obj: FlatObject, index: int):
    """Return the instance that covers most of ``obj`` in frame ``index``, or None."""
    mask = object_mask(obj, index)
    overlaps = [(np.logical_and(i.mask, mask).sum(), n) for n, i in enumerate(instances)]
    best = max(overlaps, default=(0, -1))
    return list(instances)[best[1]] if best[0] > 0.5 * mask.sum() else None


@pytest.fixture(scope="module", name="clip_dir")
def clip_dir_fixture(tmp_path_factory):
    return save_random_clip(tmp_path_factory.mktemp("models") / "clip-mini", mini=True)


def make_embedder(kind: str, clip_dir: Path):
    if kind == "clip":
        from sam_detect.embedding.clip import CLIPEmbedder

        return CLIPEmbedder(clip_dir, device="cpu", batch_size=8)
    if kind == "efficientnet":
        pytest.importorskip("efficientnet_lite_pytorch", reason="needs the efficientnet extra")
    return kind


EMBEDDERS = ["average", "efficientnet", "clip"]
# None: the embedder's default floor. -0.9: a floor none of the scene's objects falls below
# (0 was one for non-negative cosines; a whitened embedder's unrelated objects score below 0),
# above -1, where the library turns every open-set test off.
FLOORS = [None, -0.9]


def similarity_to(instance, label: str) -> float:
    """Return ``instance``'s similarity to its nearest stored example of ``label`` (-1: none)."""
    return max((n.score for n in instance.neighbours if n.label == label), default=-1.0)


def check_stream(detector: SAMDetect, label: str = "red box", floor: float | None = None) -> None:
    """Assert that over the check frames only the red box is ever called ``label``.

    With ``floor`` (the similarity floor the detector was given), also assert that every other
    object was at least that similar to ``label``: the floor cannot have kept them unknown, so
    the open-set decision did.
    """
    recognised = 0
    least_similar_other = 1.0
    for index in CHECK_FRAMES:
        detections = detector.detect(frame(index))
        box = object_under(detections, RED_BOX, index)
        others = [i for i in detections if i is not box]
        wrong = [(i.bbox, round(i.neighbours[0].score, 3)) for i in others if i.label == label]
        assert not wrong, f"frame {index}: another object was called '{label}': {wrong}"
        least_similar_other = min([least_similar_other,
                                   *(similarity_to(i, label) for i in others)])
        recognised += box is not None and box.label == label
    assert recognised >= 0.9 * len(CHECK_FRAMES), (
        f"the taught box was recognised in only {recognised} of {len(CHECK_FRAMES)} frames")
    if floor is not None:
        assert least_similar_other >= floor, (
            f"an object below the similarity floor {floor} ({least_similar_other:.3f}): the floor"
            " alone may have kept it unknown, so this case does not test the decision only")


def make_detector(kind: str, clip_dir: Path, floor: float | None) -> SAMDetect:
    return SAMDetect(embedder=make_embedder(kind, clip_dir), unknown_threshold=floor)


@pytest.mark.parametrize("floor", FLOORS, ids=["default-floor", "no-floor"])
@pytest.mark.parametrize("kind", EMBEDDERS)
def test_teaching_by_pointing(kind, floor, clip_dir, torch_one_thread):
    """label_instance's path: teach one detected instance; the frame's others are background."""
    detector = make_detector(kind, clip_dir, floor)
    for index in range(TEACH_FRAME):
        detector.detect(frame(index))
    detections = detector.detect(frame(TEACH_FRAME))
    box = object_under(detections, RED_BOX, TEACH_FRAME)
    assert box is not None
    detector.teach(box, "red box", background=list(detections))
    assert detector.labels() == {"red box": 1}  # background is never listed
    check_stream(detector, floor=floor)


@pytest.mark.parametrize("floor", FLOORS, ids=["default-floor", "no-floor"])
@pytest.mark.parametrize("kind", EMBEDDERS)
def test_one_masked_example_without_background(kind, floor, clip_dir, torch_one_thread):
    """From the very first example with no background at all: generic objects alone decide."""
    detector = make_detector(kind, clip_dir, floor)
    detections = detector.detect(frame(TEACH_FRAME))
    box = object_under(detections, RED_BOX, TEACH_FRAME)
    detector.add_example(frame(TEACH_FRAME), "red box", mask=box.mask)
    assert detector.labels() == {"red box": 1}
    check_stream(detector, floor=floor)


@pytest.mark.parametrize("kind", ["average", "efficientnet"])
def test_cli(kind, tmp_path):
    """``sam-detect FRAME --label`` (largest object, others background), then detect frames."""
    if kind == "efficientnet":
        pytest.importorskip("efficientnet_lite_pytorch", reason="needs the efficientnet extra")
    for index in [TEACH_FRAME, *CHECK_FRAMES]:
        cv2.imwrite(str(tmp_path / f"frame{index:02d}.png"), frame(index)[:, :, ::-1])
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    store = ["--store-path", str(tmp_path / "store")]

    def run(*args: str) -> str:
        options = store if args[0] == "labels" else ["--embedder", kind, *store]
        done = subprocess.run([sys.executable, "-m", "sam_detect", *args, *options],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(str(tmp_path / f"frame{TEACH_FRAME:02d}.png"), "--label", "red box", "--masks",
        "largest")
    assert json.loads(run("labels", "--json")) == {"red box": 1}
    recognised = 0
    for line, index in zip(run(*[str(tmp_path / f"frame{i:02d}.png") for i in CHECK_FRAMES],
                               "--json").splitlines(), CHECK_FRAMES):
        instances = json.loads(line)["instances"]
        cx, cy = centre_at(RED_BOX, index)
        for instance in instances:
            x0, y0, x1, y1 = instance["bbox"]
            is_box = x0 <= cx < x1 and y0 <= cy < y1
            if instance["label"] == "red box":
                assert is_box, f"frame {index}: {instance['bbox']} called 'red box'"
                recognised += 1
    assert recognised >= 0.9 * len(CHECK_FRAMES)
