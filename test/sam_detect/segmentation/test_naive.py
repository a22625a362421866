# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The classical segmenter on synthetic scenes."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect.errors import SamDetectError
from sam_detect.segmentation import NaiveSegmenter, Segmenter, create_segmenter


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def best_iou(masks, truth):
    return max((iou(m, truth) for m in masks), default=0.0)


def test_finds_each_object_on_a_textured_background(scene):
    image, truth = scene
    segments = NaiveSegmenter().segment(image)
    assert isinstance(NaiveSegmenter(), Segmenter)
    assert len(segments) == len(truth)
    for name, mask in truth.items():
        # The ring's hole is filled on purpose (see test_ring_hole_is_filled).
        assert best_iou([s.mask for s in segments], mask) > (0.7 if "ring" in name else 0.88), name
    for segment in segments:
        assert segment.mask.shape == image.shape[:2] and segment.mask.dtype == bool
        assert 0.0 <= segment.score <= 1.0
    scores = [s.score for s in segments]
    assert scores == sorted(scores, reverse=True)


def test_ring_hole_is_filled(make_scene):
    image, truth = make_scene([("yellow_ring", (160, 120), 60)])
    (segment,) = NaiveSegmenter().segment(image)
    # Holes are filled on purpose (objects are solid for the embedder); the mask covers the ring.
    assert iou(segment.mask, truth["yellow_ring"]) > 0.7
    assert segment.mask[truth["yellow_ring"]].mean() > 0.95


@pytest.mark.parametrize("size", [(240, 320), (1080, 1920), (97, 131)])
def test_masks_come_back_at_the_input_size(size, make_scene):
    height, width = size
    objects = [("red_disc", (width // 3, height // 2), max(8, height // 6)),
               ("blue_square", (2 * width // 3, height // 2), max(8, height // 7))]
    image, truth = make_scene(objects, size=size)
    segments = NaiveSegmenter().segment(image)
    assert len(segments) == 2
    for name, mask in truth.items():
        assert best_iou([s.mask for s in segments], mask) > 0.8


def test_deterministic(scene):
    image, _ = scene
    first = NaiveSegmenter().segment(image)
    second = NaiveSegmenter().segment(image)
    assert [s.bbox for s in first] == [s.bbox for s in second]
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(first, second))


def test_empty_background_gives_no_objects(textured_background):
    assert NaiveSegmenter().segment(textured_background(240, 320, seed=3)) == []
    assert NaiveSegmenter().segment(np.full((50, 50, 3), 128, np.uint8)) == []


@pytest.mark.parametrize(("options", "expected"), [
    ({"max_instances": 2}, 2),
    ({"min_area": 0.04}, 1),  # only the striped box covers over 4 % of the frame
])
def test_limits(scene, options, expected):
    image, _ = scene
    assert len(NaiveSegmenter(**options).segment(image)) == expected


@pytest.mark.parametrize("options", [{"min_area": 0.7}, {"max_instances": 0},
                                     {"threshold": -1}, {"colour": 3}])
def test_factory_rejects_bad_options(options):
    with pytest.raises(SamDetectError, match="invalid naive segmenter option"):
        create_segmenter("naive", **options)


def test_factory_unknown_kind():
    with pytest.raises(SamDetectError, match="unknown segmenter 'yolo'"):
        create_segmenter("yolo")


def test_object_cut_by_the_frame_edge_is_found(make_scene):
    # Its colour is in the border band that models the background; it must not become background.
    image, truth = make_scene([("red_disc", (12, 120), 28), ("blue_square", (200, 120), 30)])
    segments = NaiveSegmenter().segment(image)
    assert best_iou([s.mask for s in segments], truth["red_disc"]) > 0.85
    assert best_iou([s.mask for s in segments], truth["blue_square"]) > 0.85


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (2, 2), (7, 7), (1, 900), (900, 1), (7, 2000)])
def test_tiny_images_have_no_segments(shape):
    # A 1x1 frame used to raise IndexError; tiny images are valid input with nothing to find.
    image = np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)
    assert NaiveSegmenter().segment(image) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_background_distance_is_the_normalised_distance_to_the_nearest_mode(seed, monkeypatch):
    """The one-product form equals the definition: min over modes of |(f - c) / spread|."""
    import cv2

    rng = np.random.default_rng(seed)
    shape = (60, 80)
    features = rng.normal(50, 20, (shape[0] * shape[1], 4)).astype(np.float32)
    segmenter = NaiveSegmenter(background_modes=3, min_mode_support=0.0)
    centres = rng.normal(50, 20, (3, 4)).astype(np.float32)
    border = features[segmenter._border_samples(shape)]
    assignment = rng.integers(0, 3, (len(border), 1)).astype(np.int32)
    assignment[:3, 0] = [0, 1, 2]
    monkeypatch.setattr(cv2, "kmeans", lambda *args: (0.0, assignment, centres))
    spreads = np.maximum(np.stack([border[assignment[:, 0] == m].std(axis=0)
                                   for m in range(3)]), 1.5)
    expected = np.min([np.linalg.norm((features - c) / s, axis=1)
                       for c, s in zip(centres, spreads)], axis=0).reshape(shape)
    found = segmenter._background_distance(features, shape)
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-4)
