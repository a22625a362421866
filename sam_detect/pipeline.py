# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The per-frame pipeline, written once: segment -> fade -> embed -> search -> decide.

:func:`run_frames` is the one pass that :meth:`~sam_detect.SAMDetect.detect`,
:meth:`~sam_detect.SAMDetect.detect_batch` and tracking (:meth:`~sam_detect.SAMDetect.track`,
through :meth:`~sam_detect.SAMDetect.run_frames`) go through. It takes its stages as an argument
(anything with the attributes of :class:`FrameStages`; the facade is one) and never imports the
facade.

A caller that already knows some of the work hands it in: ``segments`` (a tracker's propagated
masks) skip the segmenter, and ``embeddings`` (a tracker's reused rows) skip the fade and the
embedder for those instances. Everything that is not handed in is computed here, in one batch
for all images.

Example:
    >>> import numpy as np
    >>> from sam_detect.classifier import Prediction
    >>> from sam_detect.embedding import AverageEmbedder
    >>> from sam_detect.fading import HardCropFade
    >>> from sam_detect.segmentation import NaiveSegmenter
    >>> class Stages:  # the facade has these four
    ...     segmenter, fade_strategy = NaiveSegmenter(), HardCropFade()
    ...     embedder = AverageEmbedder()
    ...     def embed_crops(self, crops):
    ...         return self.embedder.embed(crops) if crops else np.zeros((0, 519), np.float32)
    ...     def classify(self, embeddings, top_k=None):
    ...         return [Prediction(None, 0.0, []) for _ in embeddings]
    >>> frame = np.full((120, 160, 3), 40, np.uint8); frame[30:70, 20:60] = (220, 30, 30)
    >>> (detections,) = run_frames(Stages(), [frame])
    >>> [(i.bbox, i.label, i.embedding.shape) for i in detections]
    [((20, 30, 60, 70), None, (519,))]
"""

from __future__ import annotations

import time
from typing import Any, Protocol, Sequence

import numpy as np

from sam_detect.fading import make_faded_crop
from sam_detect.results import Detections, Instance, Segment
from sam_detect.segmentation.base import segment_frame

STAGE_TIMINGS = ("segment", "fade", "embed", "search", "total")


class FrameStages(Protocol):
    """What the pipeline needs: the facade's stages, as they are at the start of a pass.

    An ``embedder`` that can pool a frame's feature map (``can_pool``/``embed_regions``, the
    ``frame_features`` option) embeds the objects of a frame whose segmenter handed its map on
    (:func:`~sam_detect.segmentation.base.segment_frame`) without cutting a crop.
    """

    segmenter: Any
    fade_strategy: Any
    embedder: Any

    def embed_crops(self, crops: list[np.ndarray]) -> np.ndarray:
        """Return one unit-length row per faded crop."""

    def classify(self, embeddings: np.ndarray, top_k: int | None = None) -> list[Any]:
        """Return one prediction (label, confidence, neighbours) per row."""


def faded_crops(image: np.ndarray, segments: Sequence[Segment], fade: Any) -> list[np.ndarray]:
    """Return the faded crop of each segment of ``image`` (one fade for the whole frame)."""
    return [make_faded_crop(image, s.mask, fade, s.bbox)[0] for s in segments]


def run_frames(stages: FrameStages, images: Sequence[np.ndarray], top_k: int | None = None,
               segments: Sequence[Sequence[Segment]] | None = None,
               embeddings: Sequence[Sequence[np.ndarray | None]] | None = None
               ) -> list[Detections]:
    """Run the per-frame pass on RGB ``images``; return one :class:`Detections` each.

    Args:
        stages: The segmenter, fade, embedder and classifier to use (:class:`FrameStages`).
        images: RGB ``uint8`` frames, already loaded.
        top_k: Neighbours per instance; the classifier's default when None.
        segments: Per image, the masks to use instead of running the segmenter.
        embeddings: Per image and segment, an embedding already known for it, or None to
            compute it (needs ``segments``).

    Returns:
        One :class:`Detections` per image, its instances numbered from 0 in segment order, with
        ``timings_ms`` for ``segment``, ``fade``, ``embed``, ``search`` and ``total`` (shared by
        the images of one call).
    """
    start = time.perf_counter()
    features: list[Any] = [None] * len(images)
    if segments is None:  # a segmenter that shares its feature maps hands them on
        found = [segment_frame(stages.segmenter, image) for image in images]
        segments, features = [s for s, _ in found], [f for _, f in found]
    segments = [list(frame) for frame in segments]
    segmented = time.perf_counter()
    fade = stages.fade_strategy  # one fade for the whole pass, even if it is changed meanwhile
    known = ([list(frame) for frame in embeddings] if embeddings is not None
             else [[None] * len(frame) for frame in segments])
    # frame_features: an embedder that pools a frame's feature map embeds its objects at once
    embedder = getattr(stages, "embedder", None)
    pooled = [f is not None and callable(getattr(embedder, "can_pool", None))
              and bool(embedder.can_pool(f)) for f in features]
    fresh = [(i, j) for i, frame in enumerate(known) for j, row in enumerate(frame)
             if row is None and not pooled[i]]
    crops = [make_faded_crop(images[i], segments[i][j].mask, fade, segments[i][j].bbox)[0]
             for i, j in fresh]
    faded = time.perf_counter()
    computed = stages.embed_crops(crops)  # (0, dim) when there is nothing to embed
    for row, (i, j) in enumerate(fresh):
        known[i][j] = computed[row]
    for i in (i for i, pools in enumerate(pooled) if pools):
        todo = [j for j, row in enumerate(known[i]) if row is None]
        for j, row in zip(todo, embedder.embed_regions(  # type: ignore[union-attr]
                features[i], [segments[i][j].mask for j in todo]) if todo else ()):
            known[i][j] = row
    rows = [np.asarray(row, np.float32) for frame in known for row in frame]
    stacked = np.stack(rows) if rows else np.asarray(computed, np.float32)
    embedded = time.perf_counter()
    predictions = stages.classify(stacked, top_k)
    searched = time.perf_counter()
    timings = {"segment": segmented - start, "fade": faded - segmented,
               "embed": embedded - faded, "search": searched - embedded,
               "total": searched - start}
    timings_ms = {k: v * 1e3 for k, v in timings.items()}
    results, offset = [], 0
    for image, frame in zip(images, segments):
        instances = [
            Instance.from_segment(segment, label=p.label, confidence=p.confidence,
                                  neighbours=p.neighbours, embedding=embedding, id=index)
            for index, (segment, p, embedding) in enumerate(zip(
                frame, predictions[offset:offset + len(frame)],
                stacked[offset:offset + len(frame)]))]
        offset += len(frame)
        results.append(Detections(instances, image.shape[:2], dict(timings_ms)))
    return results


__all__ = ["FrameStages", "STAGE_TIMINGS", "faded_crops", "run_frames"]
