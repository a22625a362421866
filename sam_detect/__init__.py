# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""sam_detect: few-shot instance recognition with segment -> fade -> embed -> k-NN.

The package's public surface: nothing inside the product imports it (modules import
``sam_detect.detector`` and the like); see docs/layers.md.

Example:
    >>> from sam_detect import SAMDetect, Detections, Instance
    >>> callable(SAMDetect.detect)
    True
"""

from __future__ import annotations

from typing import Any

from sam_detect.classifier import KNNClassifier, Prediction
from sam_detect.detector import SAMDetect
from sam_detect.errors import SamDetectError
from sam_detect.results import Detections, Instance, Neighbour, Segment

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The annotation UI is a front end (FastAPI, uvicorn): imported when asked for, so the
    # library never loads it (``from sam_detect import AnnotationUI`` still works).
    if name == "AnnotationUI":
        from sam_detect.annotate.app import AnnotationUI

        return AnnotationUI
    raise AttributeError(f"module 'sam_detect' has no attribute '{name}'")


__all__ = ["AnnotationUI", "Detections", "Instance", "KNNClassifier", "Neighbour", "Prediction",
           "SAMDetect", "SamDetectError", "Segment", "__version__"]
