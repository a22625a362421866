# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""k-NN labels with an open-set decision and calibrated confidence.

One file per part: :mod:`~sam_detect.classifier.knn` (the vote and the decision),
:mod:`~sam_detect.classifier.open_set` (the decision and confidence fitted to the store),
:mod:`~sam_detect.classifier.fitting` (keeping that fit current, off the frame path),
:mod:`~sam_detect.classifier.background` (known background examples),
:mod:`~sam_detect.classifier.reference` (generic objects per embedder) and
:mod:`~sam_detect.classifier.calibration` (a confidence for a classifier used alone).
"""

from sam_detect.classifier.background import BACKGROUND_LABEL, is_background, visible_labels
from sam_detect.classifier.calibration import Calibration
from sam_detect.classifier.knn import KNNClassifier, Prediction
from sam_detect.classifier.open_set import FitSettings, OpenSetModel, fit_decision

__all__ = ["BACKGROUND_LABEL", "Calibration", "FitSettings", "KNNClassifier", "OpenSetModel",
           "Prediction", "fit_decision", "is_background", "visible_labels"]
