# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Metric functions on hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect.evaluation.core.metrics import (
    greedy_match,
    iou_matrix,
    latency_summary,
    mean_ci,
    nn_agreement,
    paired_difference,
    reliability,
    silhouette_cosine,
    unknown_roc,
)


def _box(y0: int, y1: int, x0: int, x1: int, shape: tuple[int, int] = (10, 10)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_iou_matrix_known_values() -> None:
    a = _box(0, 4, 0, 4)   # 16 px
    b = _box(0, 4, 2, 6)   # 16 px, 8 shared with a
    c = _box(6, 10, 6, 10)
    iou = iou_matrix([a, c], [a, b, c])
    np.testing.assert_allclose(iou, [[1.0, 8 / 24, 0.0], [0.0, 0.0, 1.0]])
    assert iou_matrix([], [a]).shape == (0, 1)


@pytest.mark.parametrize("iou, threshold, expected", [
    # The best pair wins even though the greedy order then leaves pred 1 unmatched.
    ([[0.9, 0.6], [0.7, 0.2]], 0.5, [(0, 0, 0.9)]),
    ([[0.9, 0.6], [0.2, 0.7]], 0.5, [(0, 0, 0.9), (1, 1, 0.7)]),
    ([[0.4, 0.3]], 0.5, []),
    ([[0.5]], 0.5, [(0, 0, 0.5)]),
    (np.zeros((0, 3)), 0.5, []),
])
def test_greedy_match(iou, threshold, expected) -> None:
    assert greedy_match(np.asarray(iou), threshold) == expected


def test_mean_ci_known_values() -> None:
    result = mean_ci([0.7, 0.8, 0.9])
    # t(0.975, df=2) = 4.3027, sem = 0.1 / sqrt(3)
    assert result["mean"] == pytest.approx(0.8)
    assert result["high"] - result["mean"] == pytest.approx(4.3027 * 0.1 / np.sqrt(3), rel=1e-4)
    assert result["n"] == 3


@pytest.mark.parametrize("values, expected", [
    ([], {"mean": None, "low": None, "high": None, "n": 0}),
    ([0.5], {"mean": 0.5, "low": None, "high": None, "n": 1}),
    ([0.5, 0.5], {"mean": 0.5, "low": 0.5, "high": 0.5, "n": 2}),
])
def test_mean_ci_degenerate(values, expected) -> None:
    assert mean_ci(values) == expected


def test_mean_ci_bounds() -> None:
    result = mean_ci([0.9, 1.0, 1.0], bounds=(0.0, 1.0))
    assert result["high"] == 1.0 and result["low"] < result["mean"]


def test_paired_difference() -> None:
    margin = paired_difference([0.8, 0.9, 0.85], [0.7, 0.8, 0.75])
    assert margin["mean"] == pytest.approx(0.1)
    assert margin["low"] == pytest.approx(0.1)  # identical differences: no spread
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 2.0])


CLUSTERED = np.array([[1, 0], [0.95, 0.05], [0, 1], [0.05, 0.95]], np.float32)


@pytest.mark.parametrize("labels, sign", [
    (["a", "a", "b", "b"], 1),   # labels follow the clusters
    (["a", "b", "a", "b"], -1),  # labels cut across them
])
def test_silhouette_sign(labels, sign) -> None:
    assert np.sign(silhouette_cosine(CLUSTERED, labels)) == sign


@pytest.mark.parametrize("labels", [["a", "a", "a", "a"], ["a", "b", "c", "d"]])
def test_silhouette_undefined(labels) -> None:
    assert silhouette_cosine(CLUSTERED, labels) is None


@pytest.mark.parametrize("groups, expected", [
    (None, 1.0),
    # Skipping the same group forces each row's neighbour into the other cluster.
    (["g1", "g1", "g2", "g2"], 0.0),
    (["g1", "g2", "g3", "g4"], 1.0),
])
def test_nn_agreement(groups, expected) -> None:
    assert nn_agreement(CLUSTERED, ["a", "a", "b", "b"], groups) == expected


def test_nn_agreement_no_neighbour() -> None:
    assert nn_agreement(CLUSTERED[:1], ["a"]) is None
    assert nn_agreement(CLUSTERED, ["a"] * 4, ["g"] * 4) is None


def test_latency_summary() -> None:
    summary = latency_summary(list(range(1, 101)))
    assert summary["median"] == pytest.approx(50.5)
    assert summary["p95"] == pytest.approx(95.05)
    assert latency_summary([])["median"] is None


def test_reliability_known_values() -> None:
    """ECE by hand: bins 0.3-0.4, 0.8-0.9 and 0.9-1.0 of ten, weighted by their counts."""
    ece, bins = reliability([0.95, 0.95, 0.85, 0.35, 0.32], [True, False, True, False, False])
    # (2 * |0.5 - 0.95| + 1 * |1 - 0.85| + 2 * |0 - 0.335|) / 5
    assert ece == pytest.approx((0.9 + 0.15 + 0.67) / 5)
    assert [(b["low"], b["count"]) for b in bins] == [
        (pytest.approx(0.3), 2), (pytest.approx(0.8), 1), (pytest.approx(0.9), 2)]
    assert [b["accuracy"] for b in bins] == [0.0, 1.0, 0.5]
    assert [b["confidence"] for b in bins] == pytest.approx([0.335, 0.85, 0.95])


@pytest.mark.parametrize("confidences, correct, expected", [
    ([0.75] * 4, [True, True, True, False], 0.0),  # calibrated
    ([1.0] * 4, [False] * 4, 1.0),  # sure and always wrong
    ([0.05, 0.95], [False, True], 0.05),
])
def test_reliability_extremes(confidences, correct, expected) -> None:
    assert reliability(confidences, correct)[0] == pytest.approx(expected)


def test_reliability_without_answers() -> None:
    assert reliability([], []) == (None, [])


def test_unknown_roc_known_values() -> None:
    """AUC = P(unknown scores below known) + half the ties, over all 12 pairs, by hand."""
    known, unknown = [0.5, 0.3, -np.inf], [0.1, 0.3, -np.inf, -np.inf]
    roc = unknown_roc(known, unknown, points=5)
    # known 0.5 beats all 4; 0.3 beats 3 and ties 1; -inf ties 2
    assert roc["auc"] == pytest.approx((4 + 3.5 + 1.0) / 12)
    # thresholds: the quantiles 0, 1/4 ... 1 of the finite scores [0.1, 0.3, 0.3, 0.5]
    assert roc["threshold"] == [None, pytest.approx(0.1), pytest.approx(0.25),
                                pytest.approx(0.3), pytest.approx(0.35), pytest.approx(0.5), None]
    assert roc["false_unknown"] == pytest.approx([0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    assert roc["unknown_rejection"] == pytest.approx([0, 0.5, 0.75, 0.75, 1, 1, 1])


@pytest.mark.parametrize("known, unknown, auc", [
    ([0.9, 0.8], [0.1, 0.2], 1.0),  # separated
    ([0.1, 0.2], [0.9, 0.8], 0.0),  # the wrong way round
    ([0.5, 0.5], [0.5, 0.5], 0.5),  # all tied
])
def test_unknown_roc_auc(known, unknown, auc) -> None:
    assert unknown_roc(known, unknown)["auc"] == pytest.approx(auc)


def test_unknown_roc_needs_both_sides() -> None:
    assert unknown_roc([], [0.1]) == {} and unknown_roc([0.1], []) == {}
    assert unknown_roc([-np.inf], [-np.inf]) == {}
