# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""k-NN vote, ties and the open-set unknown answer."""

from __future__ import annotations

import pytest

from sam_detect.classifier import KNNClassifier
from sam_detect.results import Neighbour


def hits(*pairs):
    return [Neighbour(label, score, id=i) for i, (label, score) in enumerate(pairs)]


@pytest.mark.parametrize(("neighbours", "label"), [
    (hits(("cup", 0.9)), "cup"),
    (hits(("cup", 0.9), ("can", 0.85), ("can", 0.84)), "can"),  # two close votes beat one
    (hits(("cup", 0.95), ("can", 0.6), ("can", 0.6)), "cup"),  # one very close beats two far
    (hits(("can", 0.6), ("cup", 0.95)), "cup"),  # order of the input does not matter
    # Exact tie in total vote: the label with the single most similar neighbour wins.
    (hits(("b", 0.8), ("a", 0.8), ("b", 0.7), ("a", 0.7)), "a"),
    (hits(("zeta", 0.7), ("alpha", 0.7)), "alpha"),  # full tie: alphabetical
])
def test_vote(neighbours, label):
    assert KNNClassifier(unknown_threshold=0.5).predict(neighbours).label == label


def test_unknown_below_threshold_keeps_neighbours():
    prediction = KNNClassifier(unknown_threshold=0.7).predict(hits(("cup", 0.69), ("can", 0.5)))
    assert prediction.label is None and prediction.confidence == 0.0
    assert [n.label for n in prediction.neighbours] == ["cup", "can"]


def test_empty_store_is_unknown():
    prediction = KNNClassifier().predict([])
    assert prediction.label is None and prediction.confidence == 0.0
    assert prediction.neighbours == []


@pytest.mark.parametrize(("neighbours", "expected"), [
    (hits(("cup", 1.0)), 1.0),
    (hits(("cup", 0.8)), 0.8),  # unanimous: confidence is the similarity
    (hits(("cup", 0.8), ("can", 0.8)), 0.4),  # split evenly: half of it
])
def test_confidence(neighbours, expected):
    prediction = KNNClassifier(unknown_threshold=0.5).predict(neighbours)
    assert prediction.confidence == pytest.approx(expected)


def test_confidence_drops_with_disagreement_and_distance():
    knn = KNNClassifier(unknown_threshold=0.0)
    agree = knn.predict(hits(("cup", 0.9), ("cup", 0.9), ("cup", 0.9))).confidence
    disagree = knn.predict(hits(("cup", 0.9), ("can", 0.88), ("cup", 0.9))).confidence
    far = knn.predict(hits(("cup", 0.5), ("cup", 0.5), ("cup", 0.5))).confidence
    assert 1.0 >= agree > disagree > 0.0 and agree > far
    negative = KNNClassifier(unknown_threshold=-1.0).predict(hits(("cup", -0.2), ("can", -0.5)))
    assert negative.label == "cup" and 0.0 <= negative.confidence <= 1.0
