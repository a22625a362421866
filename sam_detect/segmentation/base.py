# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The segmentation stage's contract."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class FrameFeatures:
    """A frame's feature map from a segmenter's backbone, for embedders that pool it.

    One backbone pass per frame: a segmenter that already runs a network over the whole frame
    hands its last feature map on, and an embedder that knows that network pools it inside each
    mask instead of running every crop through the network again (see
    :meth:`~sam_detect.segmentation.objectness.ObjectnessSegmenter.segment_with_features`).

    Attributes:
        network: Which network and layer made ``maps`` (e.g. ``"efficientnet-lite0:head"``); an
            embedder pools only maps it knows.
        maps: ``(channels, rows, cols)`` float32, covering the whole frame.
        image_shape: ``(height, width)`` of the frame.
    """

    network: str
    maps: np.ndarray
    image_shape: tuple[int, int]


@runtime_checkable
class FeatureSegmenter(Segmenter, Protocol):
    """A segmenter that can also return its backbone's last feature map of the frame."""

    frame_features: bool

    def segment_with_features(self, image: np.ndarray
                              ) -> tuple[list[Segment], FrameFeatures | None]:
        """Return the segments and, when ``frame_features`` is on, the frame's feature map."""
        ...


def segment_frame(segmenter: Segmenter, image: np.ndarray
                  ) -> tuple[list[Segment], FrameFeatures | None]:
    """Return a frame's segments, and its feature map when the segmenter hands it on."""
    if getattr(segmenter, "frame_features", False) and hasattr(segmenter,
                                                               "segment_with_features"):
        return segmenter.segment_with_features(image)
    return segmenter.segment(image), None


def keep_best(segments: list[Segment], max_instances: int | None) -> list[Segment]:
    """Return up to ``max_instances`` segments, best score first, ties by larger area."""
    ordered = sorted(segments, key=lambda s: (-s.score, -s.area))
    return ordered if max_instances is None else ordered[:max_instances]
