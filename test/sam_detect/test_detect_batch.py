# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of SAMDetect.detect_batch: several images through batched models, same results."""

from __future__ import annotations

from typing import Any

import numpy as np

from sam_detect import SAMDetect
from sam_detect.embedding import AverageEmbedder


class CountingEmbedder(AverageEmbedder):
    """An average embedder that records how many crops each call embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        self.calls.append(len(crops))
        return super().embed(crops)


def describe(detections: Any) -> list[tuple]:
    return [(i.id, i.bbox, i.label, round(i.confidence, 5), i.area,
             [(n.label, round(n.score, 5)) for n in i.neighbours]) for i in detections]


def test_batch_equals_one_by_one_with_one_embedder_call(make_scene: Any) -> None:
    first, masks = make_scene([("red_disc", (70, 80), 30), ("blue_square", (220, 150), 28)])
    second, _ = make_scene([("blue_square", (90, 60), 25), ("red_disc", (250, 170), 26),
                            ("yellow_ring", (160, 120), 30)], seed=3)
    embedder = CountingEmbedder()
    detector = SAMDetect(embedder=embedder)
    detector.add_example(first, "disc", mask=masks["red_disc"])
    detector.add_example(first, "box", mask=masks["blue_square"])
    singles = [detector.detect(image) for image in (first, second)]
    embedder.calls.clear()
    batch = detector.detect_batch([first, second])
    assert embedder.calls == [sum(len(d) for d in singles)]
    assert [describe(d) for d in batch] == [describe(d) for d in singles]
    assert [d.image_size for d in batch] == [(240, 320), (240, 320)]
    assert batch[0].timings_ms["batch"] == 2.0
    assert detector.detect_batch([]) == []
