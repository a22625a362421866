# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The decision fitted to the store: whitening, operating point, confidence, any embedder."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.classifier.open_set import (
    FitData, Whitening, fit_decision, store_bias, vote)
from sam_detect.embedding import AverageEmbedder

DIM = 24


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def world(seed: int = 0, spread: float = 0.3, labels: int = 6, shots: int = 3):
    """Return (reference, store vectors, labels): labels around random centres."""
    rng = np.random.default_rng(seed)
    reference = unit(rng.normal(size=(150, DIM)) + 0.5)
    centres = unit(rng.normal(size=(labels, DIM)) + 0.5)
    vectors = unit(np.repeat(centres, shots, axis=0)
                   + spread * rng.normal(size=(labels * shots, DIM)))
    names = [f"label{i}" for i in range(labels) for _ in range(shots)]
    return reference, vectors, names


def rotation(seed: int = 1) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(DIM, DIM)))
    return q * np.sign(np.diag(r))


def test_whitened_similarity_needs_only_the_raw_cosine_and_two_sketches() -> None:
    reference, vectors, _ = world()
    whitening = Whitening.fit(reference)
    full = whitening.transform(vectors)
    sketches = whitening.sketch(vectors)
    raw = vectors @ vectors.T
    assert whitening.similarities(raw, sketches, sketches) == pytest.approx(full @ full.T,
                                                                            abs=1e-4)


def test_a_rotated_embedder_gets_the_same_decision_without_any_table() -> None:
    reference, vectors, names = world()
    groups = list(range(len(names)))
    plain = fit_decision(FitData(vectors, names, groups, reference))
    turn = rotation()
    turned = fit_decision(FitData(vectors @ turn, names, groups, reference @ turn))
    for field in ("centre", "scale", "threshold", "similarity_centre"):
        assert getattr(turned, field) == pytest.approx(getattr(plain, field), abs=1e-5)
    assert turned.confidence.bias == pytest.approx(plain.confidence.bias, abs=1e-5)


def test_the_operating_point_follows_the_store_s_own_never_taught_look_alikes() -> None:
    reference, vectors, names = world(labels=8)
    groups = list(range(len(names)))
    apart = fit_decision(FitData(vectors, names, groups, reference))
    # The same store with every label pulled towards one another: never-taught objects (the
    # other labels, left out) now come closer, and the operating point rises with them.
    pulled = unit(vectors + 1.5 * vectors.mean(axis=0))
    close = fit_decision(FitData(pulled, names, groups, reference))
    assert close.summary["negatives"] == apart.summary["negatives"] == len(names)
    assert close.centre > apart.centre + 0.5 * apart.scale
    assert close.threshold > apart.threshold


def test_the_store_says_whether_it_holds_objects_or_categories() -> None:
    reference, objects, names = world(spread=0.05)  # views of one object each: tight
    _, kinds, _ = world(spread=0.8)  # broad categories
    groups = list(range(len(names)))
    tight = fit_decision(FitData(objects, names, groups, reference))
    broad = fit_decision(FitData(kinds, names, groups, reference))
    assert tight.summary["tightness"] > broad.summary["tightness"]
    # At the same standing, a label of a tight store is more surely right.
    assert tight.confidence.bias > broad.confidence.bias
    # Taught once each: the store cannot tell; the middle value is used.
    once = fit_decision(FitData(objects[::3], names[::3], groups[::3], reference))
    assert once.summary["tightness"] is None and once.confidence.bias == store_bias(None)


def test_examples_taught_together_are_left_out_together() -> None:
    reference, vectors, names = world(spread=0.3)
    # Each example's twin (an augmented copy) in the same group must not count as its positive.
    twins = np.concatenate([vectors, unit(vectors + 1e-3)])
    twin_names = names + names
    alone = fit_decision(FitData(twins, twin_names, list(range(len(twins))), reference))
    grouped = fit_decision(FitData(twins, twin_names, list(range(len(names))) * 2, reference))
    assert alone.summary["tightness"] > grouped.summary["tightness"] + 1.0


def test_confidence_rises_with_the_score_and_the_decision_is_the_operating_point() -> None:
    reference, vectors, names = world()
    model = fit_decision(FitData(vectors, names, list(range(len(names))), reference))
    # generic 0: the open-set score is the whitened similarity itself
    at = vote(["label0"], [0.9], [model.threshold], 0.0, 4.0)
    below = vote(["label0"], [0.9], [model.threshold - 0.01], 0.0, 4.0)
    above = vote(["label0"], [0.9], [model.threshold + 5 * model.scale], 0.0, 4.0)
    assert model.decide(at)[0] and not model.decide(below)[0]
    assert 0.0 < model.decide(at)[2] < model.decide(above)[2] < 1.0


def test_at_the_same_score_a_closer_match_is_more_surely_right() -> None:
    # Tune split: the similarity itself (how far above generic objects' similarity to their
    # nearest label) says more about a label being right than the score, which subtracts the
    # query's generic similarity. Two queries with the same score: the one that is closer to
    # the label (and to generic objects alike) gets the higher confidence.
    reference, vectors, names = world()
    model = fit_decision(FitData(vectors, names, list(range(len(names))), reference))
    near = model.similarity_centre + 2 * model.scale
    far = model.similarity_centre + 1 * model.scale
    close = vote(["label0"], [0.9], [near], near - model.threshold - model.scale, 4.0)
    loose = vote(["label0"], [0.9], [far], far - model.threshold - model.scale, 4.0)
    assert close.score == pytest.approx(loose.score)
    assert model.decide(close)[0] and model.decide(loose)[0]
    assert model.decide(close)[2] > model.decide(loose)[2] + 0.1
    # the similarity's zero: generic objects' typical similarity to their nearest label
    assert model.summary["similarity_centre"] == pytest.approx(model.similarity_centre,
                                                               abs=1e-4)
    assert model.similarity_standing(model.similarity_centre) == pytest.approx(0.0)
    # a store of (near copies of) generic objects: they come much closer to its labels
    rng = np.random.default_rng(5)
    copies = unit(reference[:60] + 0.05 * rng.normal(size=(60, DIM)))
    generic_store = fit_decision(FitData(copies, [f"g{i // 3}" for i in range(60)],
                                         list(range(60)), reference))
    assert generic_store.similarity_centre > model.similarity_centre + model.scale


class Renamed:
    """An embedder the code has never seen: the average embedder's vectors, rotated."""

    name = "mystery-net-v1"

    def __init__(self) -> None:
        self.base = AverageEmbedder()
        self.dim, self.unknown_threshold = self.base.dim, self.base.unknown_threshold
        q, r = np.linalg.qr(np.random.default_rng(3).normal(size=(self.dim, self.dim)))
        self.rotation = (q * np.sign(np.diag(r))).astype(np.float32)

    def embed(self, crops: list) -> np.ndarray:
        return self.base.embed(crops) @ self.rotation


def test_a_new_embedder_gets_a_fitted_decision_after_a_handful_of_examples(scene) -> None:
    image, truth = scene
    results = []
    for embedder in (AverageEmbedder(), Renamed()):
        detector = SAMDetect(embedder=embedder, segmenter="naive")
        for name in ("red_disc", "blue_square"):
            detector.add_example(image, name, mask=truth[name])
            detector.add_example(image[:, ::-1].copy(), name, mask=truth[name][:, ::-1].copy())
        model = detector.open_set.current().model
        assert model.summary["labels"] == 2 and model.summary["negatives"] == 4
        assert model.summary["tightness"] is not None
        results.append([(i.label, round(i.confidence, 4)) for i in detector.detect(image)])
    assert results[0] == results[1]
    assert {"red_disc", "blue_square"} <= {label for label, _ in results[0]}


def test_the_detector_decides_with_the_decision_fitted_to_its_store(scene) -> None:
    image, truth = scene
    detector = SAMDetect(embedder=AverageEmbedder(), segmenter="naive", unknown_threshold=0.0)
    for name in ("red_disc", "blue_square", "yellow_ring"):
        detector.add_example(image, name, mask=truth[name])
    queries = detector.embed_masks(image, list(truth.values()))
    predictions = detector.classify(queries)
    state = detector.open_set.current()
    model, whitening = state.model, state.whitening
    stored = {e.label: e.vector for e in detector.vector_store.list_examples(with_vectors=True)}
    for query, p in zip(queries, predictions):
        # the similarity it voted with is the whitened one, from the fitted reference metric
        nearest = whitening.transform(stored[p.candidate][None, :])[0]
        assert p.similarity == pytest.approx(float(whitening.transform(query[None, :])[0]
                                                   @ nearest), abs=1e-4)
        # and the label is reported exactly when the score reaches the fitted operating point
        assert p.margin == pytest.approx(p.similarity - p.generic - model.threshold, abs=1e-5)
        assert (p.label is not None) == (p.margin >= 0.0)
        assert p.confidence == pytest.approx(
            model.confidence.probability(model.standing(p.similarity - p.generic),
                                         model.similarity_standing(p.similarity))
            if p.label else 0.0)
