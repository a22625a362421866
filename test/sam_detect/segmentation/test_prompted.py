# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Prompted masks: GrabCut seeded by points/boxes, and SAM2's predictor with a feature cache."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect.errors import SamDetectError
from sam_detect.segmentation import NaiveSegmenter
from sam_detect.segmentation.prompted import (
    check_prompts,
    create_masker,
    GrabCutMasker,
    PromptedMasker,
    SAM2Masker,
)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def centre(mask: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(mask)
    return int(np.median(xs)), int(np.median(ys))


def box_of(mask: np.ndarray, pad: int = 8) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [xs.min() - pad, ys.min() - pad, xs.max() + pad, ys.max() + pad]


@pytest.mark.parametrize("name", ["red_disc", "blue_square", "yellow_ring", "striped_box"])
@pytest.mark.parametrize("prompt", ["point", "box", "point and negative"])
def test_grabcut_finds_the_prompted_object(scene, name, prompt):
    image, masks = scene
    truth = masks[name]
    others = [m for n, m in masks.items() if n != name]
    if prompt == "point":
        kwargs = {"points": [centre(truth)] if name != "yellow_ring" else
                  [tuple(np.argwhere(truth)[0][::-1])]}
    elif prompt == "box":
        kwargs = {"box": box_of(truth)}
    else:
        inside = tuple(np.argwhere(truth)[len(np.argwhere(truth)) // 2][::-1])
        kwargs = {"points": [inside, centre(others[0])], "point_labels": [1, 0]}
    candidates = GrabCutMasker().candidates(image, **kwargs)
    assert candidates and all(c.mask.shape == truth.shape for c in candidates)
    best = max(iou(c.mask, truth) for c in candidates)
    assert best > 0.7, f"{name} by {prompt}: IoU {best:.2f}"
    assert iou(candidates[0].mask, truth) > 0.5


def test_grabcut_gives_distinct_candidates_best_first(scene):
    image, masks = scene
    candidates = GrabCutMasker().candidates(image, points=[centre(masks["blue_square"])])
    for i, a in enumerate(candidates):
        for b in candidates[i + 1:]:
            assert iou(a.mask, b.mask) < 0.92


@pytest.mark.parametrize("points, labels, box, match", [
    (None, None, None, "box or at least one positive point"),
    ([(5, 5)], [0], None, "box or at least one positive point"),
    ([(5, 5)], [1, 1], None, "1 points but 2 point labels"),
    ([(5, 5)], [2], None, "must be 1"),
    ([(500, 5)], None, None, "inside the 320x240 image"),
    ([(-1, 5)], None, None, "inside the 320x240 image"),
    ([(float("nan"), 5)], None, None, "inside the 320x240 image"),
    (None, None, [10, 10, 11, 40], "box is empty"),
    (None, None, [10, 10, 40], "four numbers"),
])
def test_bad_prompts_are_refused(points, labels, box, match):
    with pytest.raises(SamDetectError, match=match):
        check_prompts((240, 320, 3), points, labels, box)


def test_a_box_larger_than_the_image_is_clipped(scene):
    image, masks = scene
    pts, labels, box = check_prompts(image.shape, None, None, [-50, -50, 900, 900])
    assert box.tolist() == [0, 0, 320, 240]
    assert GrabCutMasker().candidates(image, box=[-50, -50, 900, 900])  # something, no error


def test_create_masker_picks_by_segmenter():
    assert isinstance(create_masker(NaiveSegmenter()), GrabCutMasker)
    assert isinstance(GrabCutMasker(), PromptedMasker)


@pytest.fixture(scope="module")
def sam2_segmenter(torch_one_thread):
    pytest.importorskip("transformers")
    from sam_detect.models.synthetic import random_sam2
    from sam_detect.segmentation.sam2 import SAM2Segmenter

    return SAM2Segmenter(model=random_sam2("mini"), device="cpu", points_per_side=2,
                         pred_iou_thresh=0.0, stability_thresh=0.0, min_area=1)


def test_sam2_masker_keeps_encodings_by_content(sam2_segmenter):
    masker = create_masker(sam2_segmenter)
    assert isinstance(masker, SAM2Masker)
    rng = np.random.default_rng(0)
    first, second = (rng.integers(0, 256, (60, 80, 3), dtype=np.uint8) for _ in range(2))
    calls = []
    encoder = sam2_segmenter._encoder
    sam2_segmenter._encoder = lambda pixels: calls.append(1) or encoder(pixels)
    try:
        masks_a = masker.candidates(first, points=[(40, 30)])
        sam2_segmenter.segment(second)  # the detector's pass on another picture
        masks_again = masker.candidates(first, points=[(40, 30)])
        masker.candidates(first, box=[10, 10, 50, 40])
    finally:
        sam2_segmenter._encoder = encoder
    assert len(calls) == 2, "each picture is encoded once"
    assert masks_a and masks_a[0].mask.shape == (60, 80)
    np.testing.assert_array_equal(masks_a[0].mask, masks_again[0].mask)
    # The restored features are the picture's own: equal to a fresh encoding's answer.
    sam2_segmenter.reset_image()
    sam2_segmenter.set_image(first)
    fresh, _ = sam2_segmenter.predict(points=np.array([[[40, 30]]], np.float32),
                                      point_labels=np.array([[1]]))
    np.testing.assert_array_equal(fresh[0], masks_a[0].mask)
