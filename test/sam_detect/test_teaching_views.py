# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Teaching-time views through the one teaching path, and the fit's one notion of an example.

An embedder with views (here ``mirror_views``: the average embedder and its mirror image)
stores every view of an example whose picture is at hand, marked with one ``"example"`` id; the
open-set fit leaves those views out together; an example taught without its picture stores its
one embedding.
"""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.classifier.fitting import teaching_group
from sam_detect.embedding.base import EXAMPLE_KEY, VIEW_KEY
from sam_detect.vector_store import MemoryVectorStore


@pytest.fixture
def viewing(mirror_views) -> SAMDetect:
    with SAMDetect(embedder=mirror_views, segmenter="naive",
                   vector_store=MemoryVectorStore()) as detector:
        yield detector


def test_every_front_door_with_the_picture_stores_the_views(viewing, scene) -> None:
    image, truth = scene
    found = viewing.detect(image)
    disc = max(found, key=lambda i: int((i.mask & truth["red_disc"]).sum()))
    taught = {
        "mask": viewing.add_examples(image, "disc", masks=truth["red_disc"]),
        "largest": viewing.add_examples(image, "big", masks="largest"),
        "instance with its picture": viewing.add_examples(image, "seen", masks=[disc],
                                                          background=found),
        "crop": viewing.add_examples(viewing.get_crop(image, truth["red_disc"]), "crop",
                                     masks=None),
    }
    stored = {e.id: e.payload for e in viewing.vector_store.list_examples()}
    for how, ids in taught.items():
        assert len(ids) == 2, how  # the crop and its mirror image
        marks = [stored[i] for i in ids]
        assert [m[VIEW_KEY] for m in marks] == ["original", "mirror"], how
        assert len({m[EXAMPLE_KEY] for m in marks}) == 1, how
    # each taught example counts once; its views are one example to the fit too
    assert viewing.labels() == {"disc": 1, "big": 1, "seen": 1, "crop": 1}
    examples = [e for e in viewing.vector_store.list_examples() if VIEW_KEY in e.payload]
    assert len({teaching_group(e.id, e.payload) for e in examples}) == 4
    # without its picture an instance stores the embedding it carries, once
    again = viewing.add_examples(None, "again", masks=[disc], background=False)
    assert len(again) == 1 and VIEW_KEY not in viewing.vector_store.list_examples(
        ids=list(again))[0].payload
    np.testing.assert_allclose(viewing.vector_store.list_examples(
        ids=list(again), with_vectors=True)[0].vector, disc.embedding, atol=1e-6)


def test_views_of_one_example_are_left_out_together_by_the_fit() -> None:
    views = [{"view": "original", "example": "a1"}, {"view": "mirror", "example": "a1"},
             {"view": "original", "example": "b2"}]
    assert [teaching_group(i, p) for i, p in enumerate(views)] == [
        ("example", "a1"), ("example", "a1"), ("example", "b2")]
    # a picture or a track still groups everything taught from it, views included
    assert teaching_group(0, {**views[0], "source": "x.png", "added": "t"}) == teaching_group(
        1, {**views[2], "source": "x.png", "added": "t"})


def test_counts_told_to_users_are_examples_not_views(viewing, scene, tmp_path) -> None:
    """Teaching and forgetting report examples: an example's views are the store's business."""
    from sam_detect.embedding.base import forget_label

    image, truth = scene
    ids = viewing.add_example(image, "disc", mask=truth["red_disc"])
    assert (len(ids), ids.examples) == (2, 1)  # two rows (the crop, its mirror), one example
    taught = viewing.add_examples([image, image], "pair", masks=[truth["red_disc"]])
    assert (len(taught), taught.examples) == (4, 2)
    assert viewing.remove_label("disc") == 1
    assert forget_label(viewing.vector_store, "pair") == 2
    assert viewing.remove_label("pair") == 0 and viewing.labels() == {}


def test_the_gallery_shows_every_example_of_a_label(viewing, scene) -> None:
    """A label's tiles are its examples, however many rows their views take."""
    from sam_detect.annotate.session import AnnotationSession

    image, truth = scene
    for _ in range(30):
        viewing.add_example(image, "disc", mask=truth["red_disc"])
    session = AnnotationSession(viewing, source=None)
    assert len(session.examples("disc", limit=20)) == 20
    assert len(session.examples("disc", limit=200)) == 30
