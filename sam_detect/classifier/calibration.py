# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A Platt (logistic) confidence for a :class:`~sam_detect.classifier.KNNClassifier` used alone.

The detector's confidence comes from the decision fitted to its store
(:mod:`sam_detect.classifier.open_set`); nothing is shipped per embedder any more. This model is
for a classifier used on its own, without a store to fit (``KNNClassifier(calibration=...)``):
the probability that a label is right from the margin over generic objects and background, the
lead over the second label and the vote share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

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
