# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The one per-frame pipeline: detect, detect_batch and tracking all run SAMDetect.run_frames."""

from __future__ import annotations

from typing import Any

import numpy as np

from sam_detect.detector import SAMDetect
from sam_detect.embedding import AverageEmbedder


class Recording(SAMDetect):
    """A detector that records what goes through its per-frame pipeline."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(embedder=AverageEmbedder(), **kwargs)
        self.passes: list[dict[str, Any]] = []

    def run_frames(self, images: Any, top_k: Any = None, segments: Any = None,
                   embeddings: Any = None) -> Any:
        self.passes.append({"images": len(images), "segments": segments,
                            "embeddings": embeddings})
        return super().run_frames(images, top_k, segments, embeddings)


def test_detect_detect_batch_and_track_go_through_run_frames(scene) -> None:
    image, _ = scene
    detector = Recording(keyframe_interval=3)
    detector.detect(image)
    detector.detect_batch([image, image])
    for _ in range(3):
        detector.track(image)
    assert [p["images"] for p in detector.passes] == [1, 2, 1, 1, 1]
    assert detector.passes[0]["segments"] is None
    # The tracker hands in the masks it chose, and from the second frame on reuses embeddings.
    tracked = detector.passes[2:]
    assert all(p["segments"] is not None for p in tracked)
    assert any(row is not None for p in tracked[1:] for row in p["embeddings"][0])


def test_known_embeddings_skip_the_embedder(scene) -> None:
    image, _ = scene
    detector = SAMDetect(embedder=AverageEmbedder())
    (first,) = detector.run_frames([image])
    segments = detector.segment(image)
    marker = np.zeros(detector.embedder.dim, np.float32)
    marker[0] = 1.0
    known = [marker] + [None] * (len(segments) - 1)
    (again,) = detector.run_frames([image], segments=[segments], embeddings=[known])
    np.testing.assert_array_equal(again[0].embedding, marker)
    for fresh, old in zip(list(again)[1:], list(first)[1:]):
        np.testing.assert_allclose(fresh.embedding, old.embedding, rtol=1e-6)
    assert [i.id for i in again] == list(range(len(segments)))


def test_detect_equals_one_image_of_detect_batch(scene) -> None:
    image, truth = scene
    detector = SAMDetect(embedder=AverageEmbedder())
    detector.add_examples(image, "ring", masks=truth["yellow_ring"])
    alone = detector.detect(image)
    (batched, _) = detector.detect_batch([image, image])
    assert [(i.bbox, i.label) for i in alone] == [(i.bbox, i.label) for i in batched]
    assert batched.timings_ms["batch"] == 2.0 and "batch" not in alone.timings_ms
