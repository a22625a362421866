# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The segmentation stage's contract."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from sam_detect.results import Segment


@runtime_checkable
class Segmenter(Protocol):
    """Splits an RGB image into object masks.

    Implementations: :class:`~sam_detect.segmentation.naive.NaiveSegmenter` (classical, CPU) and
    :class:`~sam_detect.segmentation.sam2.SAM2Segmenter` (SAM2, production).
    """

    name: str

    def segment(self, image: np.ndarray) -> list[Segment]:
        """Return the objects in ``image`` (RGB ``uint8``, ``(H, W, 3)``), best score first."""
        ...


@runtime_checkable
class PromptableSegmenter(Segmenter, Protocol):
    """A segmenter that also answers point and box prompts (SAM2), to teach or fix masks."""

    def segment_prompts(
        self,
        image: np.ndarray,
        points: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        boxes: np.ndarray | None = None,
    ) -> list[Segment]:
        """Return one mask per prompt: per point (``(N, 2)`` xy) or per box (``(N, 4)`` xyxy)."""
        ...


def keep_best(segments: list[Segment], max_instances: int | None) -> list[Segment]:
    """Return up to ``max_instances`` segments, best score first, ties by larger area."""
    ordered = sorted(segments, key=lambda s: (-s.score, -s.area))
    return ordered if max_instances is None else ordered[:max_instances]
