# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Calibrated confidence and the open-set margin, shipped per embedder.

``confidence`` is a probability that the reported label is right: a logistic (Platt) model of
the decision's scores - the open-set margin (lead over background and generic objects), the lead
over the second label and the winner's share of the vote. Its coefficients and the margin are
fitted per embedder on the *tune* split of the benchmark by ``bench/tune_open_set.py`` and
shipped in :data:`OPEN_SET_PARAMETERS`; embedders without fitted values (CLIP models, custom
embedders) get :data:`DEFAULT_PARAMETERS`, whose margin of 0 still demands that a query be closer
to the label than to any generic object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """``P(label right) = sigmoid(w . (margin, lead, share) + bias)``.

    Attributes:
        weights: Coefficients of the open-set margin, the lead over the second label (clipped to
            ``[0, 1]``; 1 when there is no other label) and the vote share.
        bias: The intercept.

    Example:
        >>> Calibration((10.0, 0.0, 0.0), 0.0).probability(0.0, 1.0, 1.0)
        0.5
    """

    weights: tuple[float, float, float] = (10.0, 2.0, 1.0)
    bias: float = -0.5

    def probability(self, margin: float, lead: float, share: float) -> float:
        """Return the probability that a label with these scores is right."""
        features = (margin, min(1.0, max(0.0, lead)), share)
        z = self.bias + sum(w * x for w, x in zip(self.weights, features))
        return float(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z)))))

    @classmethod
    def fit(cls, margins: Sequence[float], leads: Sequence[float], shares: Sequence[float],
            correct: Sequence[bool]) -> Calibration:
        """Fit the logistic model on scored predictions and whether each was right (sklearn)."""
        from sklearn.linear_model import LogisticRegression

        features = np.column_stack([np.asarray(margins, float),
                                    np.clip(np.asarray(leads, float), 0.0, 1.0),
                                    np.asarray(shares, float)])
        target = np.asarray(correct, bool)
        if target.all() or not target.any():
            raise ValueError("calibration needs both right and wrong predictions")
        model = LogisticRegression(C=10.0, max_iter=1000).fit(features, target)
        weights = tuple(round(float(w), 4) for w in model.coef_[0])
        return cls(weights=weights, bias=round(float(model.intercept_[0]), 4))  # type: ignore


@dataclass(frozen=True)
class OpenSetParameters:
    """What the open-set decision needs to know about one embedder.

    Attributes:
        margin: Least lead of the label's similarity over background and generic objects.
        calibration: The confidence model.
    """

    margin: float
    calibration: Calibration


DEFAULT_PARAMETERS = OpenSetParameters(margin=0.0, calibration=Calibration())

# Fitted on the hard benchmark's TUNE split (make-benchmark --hard --seed 1, 120 images) by
# bench/tune_open_set.py (hard crop fade, 4 held-out categories plus the distractors; margin at 5
# shots, calibration pooled over 1, 5 and 10 shots); see bench/results/open_set_tune_*.json.
# Keys are embedder names as recorded in the store.
# The margin is the largest that keeps the tune split's false-unknown <= 0.10 (with the
# embedder's default similarity floor); the average embedder's floor alone already exceeds that,
# so it keeps the neutral margin 0.
OPEN_SET_PARAMETERS: dict[str, OpenSetParameters] = {
    "efficientnet-lite0": OpenSetParameters(
        margin=-0.0499, calibration=Calibration((7.45, 1.1583, 2.1795), -2.7269)),
    "average-v1": OpenSetParameters(
        margin=0.0, calibration=Calibration((20.5896, 0.1276, 1.2873), -2.1485)),
}


def parameters_for(embedder: Any) -> OpenSetParameters:
    """Return the shipped open-set parameters of ``embedder`` (by name), else the defaults."""
    return OPEN_SET_PARAMETERS.get(str(getattr(embedder, "name", "")), DEFAULT_PARAMETERS)
