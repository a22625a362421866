# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""sam_detect: few-shot instance recognition with segment -> fade -> embed -> k-NN.

Example:
    >>> from sam_detect import SAMDetect, Detections, Instance
    >>> callable(SAMDetect.detect)
    True
"""

from __future__ import annotations

from sam_detect.annotate.app import AnnotationUI
from sam_detect.classifier import KNNClassifier, Prediction
from sam_detect.detector import SAMDetect
from sam_detect.errors import SamDetectError
from sam_detect.results import Detections, Instance, Neighbour, Segment

__version__ = "0.1.0"


__all__ = ["AnnotationUI", "Detections", "Instance", "KNNClassifier", "Neighbour", "Prediction",
           "SAMDetect", "SamDetectError", "Segment", "__version__"]
