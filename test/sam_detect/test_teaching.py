# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The one teaching call, SAMDetect.add_examples, and the shorthands that go through it."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from sam_detect.classifier import BACKGROUND_LABEL
from sam_detect.detector import SAMDetect
from sam_detect.embedding import AverageEmbedder
from sam_detect.errors import InvalidImageError
from sam_detect.segmentation import NaiveSegmenter


class CountingSegmenter(NaiveSegmenter):
    """The classical segmenter, counting its calls."""

    calls: int = 0

    def segment(self, image: np.ndarray) -> Any:
        self.calls += 1
        return super().segment(image)


class CountingEmbedder(AverageEmbedder):
    """The average embedder, counting the crops it embeds."""

    crops = 0

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        self.crops += len(crops)
        return super().embed(crops)


@pytest.fixture
def counted() -> SAMDetect:
    return SAMDetect(segmenter=CountingSegmenter(), embedder=CountingEmbedder())


def test_the_largest_object_and_its_background_come_from_one_segmentation(counted, scene):
    image, _ = scene
    ids = counted.add_examples(image, "thing", masks="largest")
    assert len(ids) == 1 and counted.segmenter.calls == 1
    assert counted.vector_store.labels()[BACKGROUND_LABEL] >= 1


def test_a_mask_with_background_segments_once_and_without_not_at_all(counted, scene):
    image, truth = scene
    counted.add_examples(image, "ring", masks=truth["yellow_ring"], background=False)
    assert counted.segmenter.calls == 0 and BACKGROUND_LABEL not in counted.vector_store.labels()
    counted.add_examples(image, "disc", masks=truth["red_disc"])
    assert counted.segmenter.calls == 1 and BACKGROUND_LABEL in counted.vector_store.labels()


def test_instances_are_taught_from_their_embeddings_with_no_model_run(counted, scene):
    image, _ = scene
    found = counted.detect(image)
    counted.reference_similarity(found[0].embedding[None])  # the generic-object set, once
    crops, calls = counted.embedder.crops, counted.segmenter.calls
    ids = counted.add_examples(None, "first", masks=found[0], background=found)
    assert len(ids) == 1 and counted.labels() == {"first": 1}
    assert (counted.embedder.crops, counted.segmenter.calls) == (crops, calls)
    stored = counted.vector_store.list_examples(label=BACKGROUND_LABEL)
    assert 1 <= len(stored) <= len(found) - 1  # the taught instance is never its own background


def test_several_pictures_are_all_embedded_before_anything_is_stored(counted, scene, tmp_path):
    image, _ = scene
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), image[:, :, ::-1])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    with pytest.raises(InvalidImageError):
        counted.add_examples([good, bad], "thing")
    assert counted.vector_store.count() == 0
    ids = counted.add_examples([good, good], "thing")
    assert len(ids) == 2
    assert {e.payload["source"] for e in counted.vector_store.list_examples(ids=ids)} == {
        str(good)}


@pytest.mark.parametrize("shorthand", ["add_example", "add_examples_from_file", "teach"])
def test_the_shorthands_store_what_add_examples_stores(shorthand, scene, tmp_path):
    image, truth = scene
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), image[:, :, ::-1])
    via, direct = (SAMDetect(embedder=AverageEmbedder()) for _ in range(2))
    if shorthand == "add_example":
        via.add_example(image, "ring", mask=truth["yellow_ring"], background=True)
        direct.add_examples(image, "ring", masks=truth["yellow_ring"])
    elif shorthand == "add_examples_from_file":
        via.add_examples_from_file(str(path), "thing")
        direct.add_examples(str(path), "thing")
    else:
        found = via.detect(image)
        via.teach(found[1], "second", background=list(found))
        direct.add_examples(None, "second", masks=[found[1]], background=found)
    # The same labels and counts, known background included.
    assert via.vector_store.labels() == direct.vector_store.labels()
