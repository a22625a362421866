# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Fade formulas, the ROI crop and the strategy factory."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from scipy import ndimage

from sam_detect.errors import SamDetectError
from sam_detect.fading import (
    ExponentialFade,
    GaussianFade,
    HardCropFade,
    IdentityFade,
    LinearFade,
    create_fade,
    describe_fade,
    make_faded_crop,
)
from sam_detect.fading.base import distance_outside

DISTANCES = np.array([[0.0, 1.0, 5.0, 10.0, 20.0, 35.0, 80.0, 500.0]], np.float32)


@pytest.mark.parametrize(("strategy", "formula"), [
    (GaussianFade(sigma=10, min_fade=0.05), lambda d: np.maximum(0.05, np.exp(-(d / 10) ** 2))),
    (GaussianFade(sigma=30, min_fade=0.0), lambda d: np.exp(-(d / 30) ** 2)),
    (LinearFade(max_distance=40, min_fade=0.1), lambda d: np.maximum(0.1, 1 - d / 40)),
    (ExponentialFade(decay=0.1, max_distance=60, min_fade=0.02),
     lambda d: np.where(d > 60, 0.02, np.maximum(0.02, np.exp(-0.1 * d)))),
    (ExponentialFade(decay=0.01, max_distance=60, min_fade=0.05),
     lambda d: np.where(d > 60, 0.05, np.maximum(0.05, np.exp(-0.01 * d)))),
])
def test_weights_follow_the_formula(strategy, formula):
    np.testing.assert_allclose(strategy.weights(DISTANCES.copy()), formula(DISTANCES), atol=1e-6)


@pytest.mark.parametrize("strategy", [
    GaussianFade(sigma=10, min_fade=0.05), GaussianFade(sigma=45, min_fade=0.1),
    LinearFade(max_distance=40, min_fade=0.1), ExponentialFade(decay=0.1, max_distance=60),
    ExponentialFade(decay=0.01, max_distance=60),  # cut off at max_distance, above its floor
])
def test_apply_matches_exact_weights_within_one_grey_level(strategy):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 256, 3), dtype=np.uint8)
    distance = np.tile(np.linspace(0, 120, 256, dtype=np.float32), (64, 1))
    exact = np.rint(image * strategy.weights(distance.copy())[:, :, None])
    faded = strategy.apply(image, distance == 0, distance)
    assert faded.dtype == np.uint8 and faded.shape == image.shape
    assert np.abs(faded.astype(int) - exact).max() <= 2
    np.testing.assert_array_equal(faded[:, 0], image[:, 0])  # distance 0: untouched


@pytest.mark.parametrize(("strategy", "reach"), [
    (GaussianFade(sigma=20, min_fade=0.05), 20 * math.sqrt(math.log(20))),
    (GaussianFade(sigma=20, min_fade=0.0), 60.0),
    (LinearFade(max_distance=100, min_fade=0.05), 95.0),
    (ExponentialFade(decay=0.05, max_distance=200, min_fade=0.05), math.log(20) / 0.05),
    (ExponentialFade(decay=0.001, max_distance=200, min_fade=0.05), 200.0),
    (IdentityFade(context=7), 7.0),
    (HardCropFade(), 4.0),
])
def test_reach_is_where_the_fade_hits_its_floor(strategy, reach):
    assert strategy.reach == pytest.approx(reach)
    if hasattr(strategy, "weights") and getattr(strategy, "min_fade", 0) > 0:
        floor = strategy.weights(np.array([[reach + 1e-3]], np.float32))[0, 0]
        assert floor == pytest.approx(strategy.min_fade, abs=1e-4)


def test_hard_crop_blacks_out_context_and_identity_keeps_it():
    image = np.full((10, 10, 3), 200, np.uint8)
    mask = np.zeros((10, 10), bool)
    mask[3:6, 3:6] = True
    distance = distance_outside(mask)
    hard = HardCropFade().apply(image, mask, distance)
    assert hard[mask].min() == 200 and hard[~mask].max() == 0
    np.testing.assert_array_equal(IdentityFade().apply(image, mask, distance), image)


def _scene():
    image = np.random.default_rng(1).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    mask = np.zeros((1080, 1920), np.uint8)
    cv2.circle(mask, (900, 500), 100, 1, -1)
    return image, mask.astype(bool)


@pytest.mark.parametrize(("strategy", "steepest"), [
    # steepest: the largest change of weight per pixel of distance, which bounds the error that
    # the approximate distance map (<= 1.5 px, 3 px on the coarse grid) can cause.
    (GaussianFade(sigma=10), math.sqrt(2 / math.e) / 10),
    (GaussianFade(sigma=30), math.sqrt(2 / math.e) / 30),
    (LinearFade(max_distance=50), 1 / 50),
    (IdentityFade(context=12), 0.0),
    (HardCropFade(), 4.0),
])
def test_roi_crop_equals_full_frame_fade_cropped(strategy, steepest):
    image, mask = _scene()
    crop, (x0, y0, x1, y1) = make_faded_crop(image, mask, strategy)
    full = strategy.apply(image, mask, distance_outside(mask, precise=True))[y0:y1, x0:x1]
    assert crop.shape == full.shape
    difference = np.abs(crop.astype(int) - full.astype(int))
    assert difference.max() <= 255 * steepest * 3.0 + 2
    assert difference.mean() < 1.0  # under one grey level on average
    inside = mask[y0:y1, x0:x1]
    np.testing.assert_array_equal(crop[inside], image[y0:y1, x0:x1][inside])


def test_crop_is_the_box_padded_by_the_reach_and_clipped_to_the_image():
    image, mask = _scene()
    _, roi = make_faded_crop(image, mask, GaussianFade(sigma=20, min_fade=0.05))
    pad = math.ceil(20 * math.sqrt(math.log(20)))
    assert roi == (800 - pad, 400 - pad, 1001 + pad, 601 + pad)
    corner = np.zeros((100, 100), bool)
    corner[:10, :10] = True
    _, roi = make_faded_crop(np.zeros((100, 100, 3), np.uint8), corner, GaussianFade(sigma=20))
    assert roi == (0, 0, 10 + pad, 10 + pad)


@pytest.mark.parametrize("downscale", [1, 2])
def test_distance_map_is_close_to_exact_euclidean(downscale):
    _, mask = _scene()
    roi = mask[350:650, 750:1050]
    exact = ndimage.distance_transform_edt(~roi)
    approx = distance_outside(roi, downscale=downscale)
    assert np.all(approx[roi] == 0)
    assert np.abs(approx - exact).max() <= 1.5 * downscale


def test_custom_strategy_with_only_apply_works():
    class Invert:
        def apply(self, image, mask, distance_map):
            return 255 - image

    image = np.zeros((50, 50, 3), np.uint8)
    mask = np.zeros((50, 50), bool)
    mask[20:30, 20:30] = True
    crop, roi = make_faded_crop(image, mask, Invert())
    assert crop.min() == 255 and roi == (4, 4, 46, 46)


@pytest.mark.parametrize(("kind", "params", "expected"), [
    ("gaussian", {"sigma": 12, "min_fade": 0.1, "decay": 3}, GaussianFade(12, 0.1)),
    ("linear", {"max_distance": 30, "sigma": None}, LinearFade(30)),
    ("exponential", {"decay": 0.2}, ExponentialFade(decay=0.2)),
    ("identity", {}, IdentityFade()),
    ("hard_crop", {"min_fade": 0.2}, HardCropFade(0.2)),
])
def test_create_fade(kind, params, expected):
    fade = create_fade(kind, **params)
    assert fade == expected
    assert describe_fade(fade)["kind"] == kind


@pytest.mark.parametrize(("kind", "params", "message"), [
    ("blur", {}, "unknown fade 'blur'"),
    ("gaussian", {"sigma": 0}, "sigma must be a positive"),
    ("gaussian", {"min_fade": 1.5}, "min_fade must be in [0, 1]"),
    ("linear", {"max_distance": -1}, "max_distance must be"),
    ("exponential", {"decay": float("nan")}, "decay must be positive"),
])
def test_create_fade_rejects_bad_values(kind, params, message):
    with pytest.raises(SamDetectError, match=message.replace("[", r"\[").replace("]", r"\]")):
        create_fade(kind, **params)


@pytest.mark.parametrize(("kind", "params", "option"), [
    # A value the chosen fade ignores is still checked: it must not wait to fail until someone
    # switches fades (issue 9: `sam-detect img --sigma -5` used to run).
    ("hard_crop", {"sigma": -5}, "sigma"),
    ("gaussian", {"decay": 0}, "decay"),
    ("identity", {"max_distance": -1}, "max_distance"),
    ("linear", {"context": -3}, "context"),
    ("hard_crop", {"sigma": "wide"}, "sigma"),
])
def test_every_given_fade_value_is_checked_whatever_the_fade(kind, params, option):
    from sam_detect.errors import OptionError

    with pytest.raises(OptionError) as raised:
        create_fade(kind, **params)
    assert raised.value.option == option
    assert raised.value.render(f"--{option}").startswith(f"--{option} must be")
