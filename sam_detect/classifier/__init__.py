# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""k-NN labels with an open-set decision and calibrated confidence.

One file per part: :mod:`~sam_detect.classifier.knn` (the vote and the decision),
:mod:`~sam_detect.classifier.background` (known background examples),
:mod:`~sam_detect.classifier.reference` (generic objects per embedder) and
:mod:`~sam_detect.classifier.calibration` (shipped margins and confidence models).
"""

from sam_detect.classifier.background import BACKGROUND_LABEL, is_background, visible_labels
from sam_detect.classifier.calibration import (
    Calibration, OpenSetParameters, parameters_for)
from sam_detect.classifier.knn import KNNClassifier, Prediction

__all__ = ["BACKGROUND_LABEL", "Calibration", "KNNClassifier", "OpenSetParameters",
           "Prediction", "is_background", "parameters_for", "visible_labels"]
