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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
import time
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

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
    return _finish(stages, images, segments, features, embeddings, top_k, start,
                   time.perf_counter())


def _finish(stages: FrameStages, images: Sequence[np.ndarray],
            segments: Sequence[Sequence[Segment]], features: Sequence[Any],
            embeddings: Sequence[Sequence[np.ndarray | None]] | None, top_k: int | None,
            start: float, segmented: float) -> list[Detections]:
    """Fade, embed, search and decide for frames already segmented (``features`` per frame)."""
    segments = [list(frame) for frame in segments]
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


@dataclass
class StreamedFrame:
    """One frame of :func:`stream_frames`: its detections, or the error that was its own.

    Attributes:
        index: The frame's position in the stream, from 0.
        item: What the stream gave for it (an image, a path).
        image: The RGB frame (None when it could not be loaded).
        detections: What :func:`run_frames` returns for this frame alone; None after an error.
        error: The exception loading, segmenting or detecting this frame raised, or None.
    """

    index: int
    item: Any = None
    image: np.ndarray | None = None
    detections: Detections | None = None
    error: Exception | None = None


@dataclass
class _Segmented:
    """A frame loaded and segmented on the worker thread, with when that ran."""

    item: Any = None
    image: np.ndarray | None = None
    segments: list[Segment] = field(default_factory=list)
    features: Any = None
    start: float = 0.0
    end: float = 0.0
    error: Exception | None = None


def _load_and_segment(segmenter: Any, load: Callable[[Any], np.ndarray], item: Any
                      ) -> _Segmented:
    """Load one frame and segment it; an exception is kept as this frame's own."""
    done = _Segmented(item, start=time.perf_counter())
    try:
        done.image = load(item)
        done.segments, done.features = segment_frame(segmenter, done.image)
    except Exception as error:  # the frame's own: the stream carries on with the next
        done.error = error
    done.end = time.perf_counter()
    return done


def stream_frames(stages: FrameStages, frames: Iterable[Any], top_k: int | None = None,
                  load: Callable[[Any], np.ndarray] = np.asarray, overlap: bool = True
                  ) -> Iterator[StreamedFrame]:
    """Run the per-frame pass on a stream of frames, segmenting the next while this one embeds.

    While frame N is faded, embedded, searched and decided on the calling thread, frame N+1 is
    loaded and segmented on one worker thread (ONNX Runtime, OpenCV and numpy release the
    GIL, so the two stages share the cores). Never more than one frame is taken ahead: a
    camera's stream stays fresh. Each frame's detections equal :func:`run_frames` on that frame
    alone, in order; the classifier and embedder only ever run on the calling thread.

    Args:
        stages: The facade's stages (:class:`FrameStages`); the segmenter is read per frame.
        frames: Images, or anything ``load`` turns into an RGB ``uint8`` image (paths).
        top_k: Neighbours per instance; the classifier's default when None.
        load: Turns an item of ``frames`` into an image (on the worker thread).
        overlap: False runs every stage of a frame on the calling thread, one frame at a time.

    Yields:
        One :class:`StreamedFrame` per frame, in order. A frame that fails carries its error
        and the stream goes on; ``timings_ms`` has each stage's own time, ``total`` from the
        start of the frame's segmentation to its decision, and ``interval`` since the previous
        frame's result (the stream's throughput).
    """
    items = iter(frames)
    pool = ThreadPoolExecutor(1, thread_name_prefix="sam_detect_segment") if overlap else None

    def begin(item: Any) -> Any:
        if pool is None:
            return _load_and_segment(stages.segmenter, load, item)
        return pool.submit(_load_and_segment, stages.segmenter, load, item)

    try:
        pending = next((begin(item) for item in items), None)
        index, previous = 0, time.perf_counter()
        while pending is not None:
            done = pending.result() if pool is not None else pending
            if pool is not None:  # one frame ahead: segmented while this one goes on
                pending = next((begin(item) for item in items), None)
            result = StreamedFrame(index, done.item, done.image, error=done.error)
            if done.error is None:
                try:
                    (result.detections,) = _finish(stages, [done.image], [done.segments],
                                                   [done.features], None, top_k, done.start,
                                                   done.end)
                except Exception as error:  # this frame's own; the next is already under way
                    result.error = error
            now = time.perf_counter()
            if result.detections is not None:
                result.detections.timings_ms["interval"] = (now - previous) * 1e3
            previous = now
            index += 1
            yield result
            if pool is None:  # one frame at a time: the next starts when this one is done
                pending = next((begin(item) for item in items), None)
    finally:
        if pool is not None:  # a consumer that stops early waits for the frame in flight
            pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["FrameStages", "STAGE_TIMINGS", "StreamedFrame", "faded_crops", "run_frames",
           "stream_frames"]
