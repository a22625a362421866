# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The open-set decision: known background, generic objects, margin and calibrated confidence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.classifier import (
    BACKGROUND_LABEL, Calibration, KNNClassifier, visible_labels)
from sam_detect.classifier.background import background_masks
from sam_detect.classifier.reference import (
    fingerprint, reference_embeddings, reference_similarity)
from sam_detect.embedding import AverageEmbedder
from sam_detect.errors import SamDetectError
from sam_detect.fading import HardCropFade
from sam_detect.results import Neighbour
from sam_detect.vector_store import MemoryVectorStore


def hits(*pairs):
    return [Neighbour(label, score, id=i) for i, (label, score) in enumerate(pairs)]


BG = BACKGROUND_LABEL


@pytest.mark.parametrize(("neighbours", "reference", "margin", "label"), [
    (hits(("cup", 0.9)), None, None, "cup"),
    (hits(("cup", 0.9), (BG, 0.95)), None, None, None),  # background closer: unknown
    (hits(("cup", 0.9), (BG, 0.9)), None, None, None),  # a tie goes to background
    (hits(("cup", 0.9), (BG, 0.7)), None, None, "cup"),  # farther background does not veto
    (hits((BG, 0.99), (BG, 0.98)), None, None, None),  # only background: never its label
    (hits(("cup", 0.9)), 0.85, 0.1, None),  # barely closer than generic objects
    (hits(("cup", 0.9)), 0.75, 0.1, "cup"),
    (hits(("cup", 0.9)), 0.95, -0.1, "cup"),  # a negative margin tolerates some
    (hits(("cup", 0.9)), 0.85, None, "cup"),  # no margin: the reference is not used
    (hits(("cup", 0.45)), 0.0, 0.0, None),  # below the similarity floor (0.5)
])
def test_decision(neighbours, reference, margin, label):
    knn = KNNClassifier(unknown_threshold=0.5, margin=margin)
    prediction = knn.predict(neighbours, reference)
    assert prediction.label == label
    assert BG not in {prediction.label, prediction.candidate}
    if label is None:
        assert prediction.confidence == 0.0


def test_prediction_carries_its_scores():
    knn = KNNClassifier(unknown_threshold=0.0, margin=0.0)
    p = knn.predict(hits(("cup", 0.9), ("can", 0.7), (BG, 0.6)), reference=0.5)
    assert (p.label, p.candidate) == ("cup", "cup")
    assert p.margin == pytest.approx(0.3) and p.lead == pytest.approx(0.2)
    assert 0.5 < p.share < 1.0
    rejected = knn.predict(hits(("cup", 0.6)), reference=0.7)
    assert rejected.label is None and rejected.candidate == "cup"
    assert rejected.margin == pytest.approx(-0.1)
    assert math.isnan(knn.predict([]).margin)


def test_calibrated_confidence_rises_with_margin_and_lead():
    knn = KNNClassifier(unknown_threshold=0.0, margin=-1.0, calibration=Calibration())
    low = knn.predict(hits(("cup", 0.6), ("can", 0.58)), reference=0.55).confidence
    high = knn.predict(hits(("cup", 0.95), ("can", 0.5)), reference=0.5).confidence
    assert 0.0 < low < high < 1.0


def test_calibration_fit_recovers_the_direction():
    rng = np.random.default_rng(0)
    margins = rng.uniform(-0.3, 0.3, 400)
    correct = rng.uniform(size=400) < 1 / (1 + np.exp(-20 * margins))
    fitted = Calibration.fit(margins, np.ones(400), np.ones(400), correct)
    assert fitted.weights[0] > 5
    assert fitted.probability(0.3, 1, 1) > 0.9 > 0.1 > fitted.probability(-0.3, 1, 1)
    with pytest.raises(ValueError, match="both right and wrong"):
        Calibration.fit([0.1], [1], [1], [True])


class RenamedAverage(AverageEmbedder):
    """The average embedder's vectors under a name no table knows."""

    name = "average-renamed"


def test_no_embedder_needs_a_table(scene):
    """Nothing is shipped per embedder name: a name never seen decides as a known one does.

    The same vectors under two names get the same fitted decision and the same confidence
    (the per-embedder tables of margins and calibrations are gone).
    """
    from sam_detect import classifier
    from sam_detect.classifier import calibration

    assert not [name for name in vars(calibration) if name.isupper()]
    assert not hasattr(classifier, "parameters_for")
    assert not hasattr(classifier, "OPEN_SET_PARAMETERS")
    image, truth = scene
    decided = []
    for embedder in (AverageEmbedder(), RenamedAverage()):
        detector = SAMDetect(embedder=embedder, vector_store=MemoryVectorStore())
        assert detector.classifier.calibration is None and detector.classifier.margin == 0.0
        for name in ("red_disc", "blue_square"):
            detector.add_example(image, name, mask=truth[name])
        prediction = detector.classify(detector.embed_masks(image, [truth["red_disc"]]))[0]
        assert prediction.label == "red_disc", embedder.name
        assert 0.0 < prediction.confidence <= 1.0
        decided.append((prediction.label, round(prediction.confidence, 5),
                        round(prediction.margin, 5)))
    assert decided[0] == decided[1]


def test_background_masks_skip_parts_of_the_taught_object():
    taught = np.zeros((10, 10), bool)
    taught[:5, :5] = True
    inside = np.zeros_like(taught)
    inside[1:3, 1:3] = True
    around = np.ones_like(taught)
    apart = np.zeros_like(taught)
    apart[6:, 6:] = True
    empty = np.zeros_like(taught)
    assert background_masks(taught, [inside, around, apart, empty]) == [2]


def test_reference_set_is_cached_and_fingerprinted(tmp_path, monkeypatch):
    from sam_detect.classifier import reference

    monkeypatch.setenv("SAM_DETECT_CACHE", str(tmp_path))
    monkeypatch.setattr(reference, "_memory", {})  # as in a new process
    embedder = AverageEmbedder()
    vectors = reference_embeddings(embedder, HardCropFade())
    assert vectors.shape[1] == embedder.dim and len(vectors) > 100
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    key = fingerprint(embedder, HardCropFade())
    assert (tmp_path / "reference" / f"{key}.npy").is_file()
    assert key == fingerprint(AverageEmbedder(), HardCropFade())
    assert key != fingerprint(embedder, HardCropFade(min_fade=0.5))
    similarity = reference_similarity(vectors[:3], vectors)
    assert similarity.shape == (3,) and (similarity <= 1.0 + 1e-6).all()


@pytest.fixture
def detector():
    det = SAMDetect(embedder=AverageEmbedder(), vector_store=MemoryVectorStore())
    yield det
    det.close()


def test_teaching_with_background_hides_it_and_rejects_it(detector, scene):
    image, truth = scene
    detections = detector.detect(image)
    disc = max(detections, key=lambda i: (i.mask & truth["red_disc"]).sum())
    detector.teach(disc, "disc", background=list(detections))
    assert detector.labels() == {"disc": 1}
    stored = detector.vector_store.labels()
    assert stored["disc"] == 1 and stored.get(BG, 0) >= 2
    again = detector.detect(image)
    for instance in again:
        assert instance.label in ("disc", None)
        if instance.label == "disc":
            assert (instance.mask & truth["red_disc"]).sum() > 0.5 * truth["red_disc"].sum()
    # The taught disc itself is recognised, with a confidence: rejecting everything is no answer.
    recognised = [i for i in again if i.label == "disc"]
    assert len(recognised) == 1 and 0.0 < recognised[0].confidence <= 1.0
    with pytest.raises(SamDetectError, match="reserved"):
        detector.add_embeddings(disc.embedding[None], [BG])


def test_teaching_a_background_object_later_claims_it(detector, scene):
    image, truth = scene
    detections = detector.detect(image)

    def under(name):
        return max(detections, key=lambda i: (i.mask & truth[name]).sum())

    disc, square = under("red_disc"), under("blue_square")
    detector.teach(disc, "disc", background=list(detections))

    def closest_background(instance):
        found = detector.vector_store.search(instance.embedding[None], 1, label_filter=[BG])[0]
        return found[0].score if found else -1.0

    assert closest_background(square) > 0.999  # the square is background of the disc
    detector.teach(square, "square", background=list(detections))
    # Teaching the square removed it from the background, and the disc (a taught label) did
    # not become background of the square.
    assert closest_background(square) < 0.99 and closest_background(disc) < 0.99
    labels = {detector.detect(image)[i].label for i in range(len(detections))}
    assert {"disc", "square"} <= labels


def test_add_example_from_a_frame_and_files_store_background(detector, scene, tmp_path):
    import cv2

    image, truth = scene
    detector.add_example(image, "ring", mask=truth["yellow_ring"], background=True)
    assert detector.labels() == {"ring": 1}
    assert detector.vector_store.labels()[BG] >= 1
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), image[:, :, ::-1])
    for masks, stores_background in (("largest", True), ("all", False)):
        fresh = SAMDetect(embedder=AverageEmbedder())
        ids = fresh.add_examples(path, "thing", masks=masks)
        assert len(ids) == (1 if masks == "largest" else len(fresh.segment(image)))
        assert (BG in fresh.vector_store.labels()) == stores_background
        assert fresh.vector_store.list_examples(ids=ids)[0].payload["source"] == str(path)


def test_old_stores_without_background_still_open_and_work(tmp_path, scene):
    """A store written without background (today's format) opens; nothing taught is lost."""
    from sam_detect.vector_store import EdgeVectorStore

    image, truth = scene
    with SAMDetect(embedder=AverageEmbedder(),
                   vector_store=EdgeVectorStore(tmp_path / "store")) as detector:
        vector = detector.embed_masks(image, [truth["red_disc"]])
        detector.vector_store.add(vector, ["disc"], [{"source": "old"}])  # as before issue 8
    with SAMDetect(embedder=AverageEmbedder(),
                   vector_store=EdgeVectorStore(tmp_path / "store")) as detector:
        assert detector.labels() == {"disc": 1}
        best = max(detector.detect(image), key=lambda i: (i.mask & truth["red_disc"]).sum())
        assert best.label == "disc" and 0.0 < best.confidence <= 1.0


def test_background_is_never_listed():
    assert visible_labels({BG: 3, "cup": 1}) == {"cup": 1}


def test_lowest_sensitivity_is_a_closed_set_vote():
    knn = KNNClassifier(unknown_threshold=-1.0, margin=0.5)
    prediction = knn.predict(hits(("cup", 0.2), (BG, 0.9)), reference=0.8)
    assert prediction.label == "cup" and 0.0 < prediction.confidence <= 1.0


def test_bad_background_is_a_clear_error_and_stores_nothing(detector, scene):
    image, truth = scene
    vector = detector.embed_masks(image, [truth["red_disc"]])
    with pytest.raises(SamDetectError, match="background embeddings have shape"):
        detector.add_embeddings(vector, ["disc"], background=np.ones((2, 3), np.float32))
    assert detector.vector_store.count() == 0
