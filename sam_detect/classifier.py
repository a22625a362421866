# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""k-NN classification of embeddings from their nearest stored examples."""

from __future__ import annotations

from dataclasses import dataclass

from sam_detect.results import Neighbour


@dataclass(frozen=True)
class Prediction:
    """A label decision for one embedding.

    Attributes:
        label: The winning label, or ``None`` when unknown.
        confidence: In ``[0, 1]``: the winner's share of the similarity-weighted vote times its
            best similarity, so both disagreement among neighbours and distant neighbours lower it.
        neighbours: The neighbours the vote used, best first.
    """

    label: str | None
    confidence: float
    neighbours: list[Neighbour]


@dataclass
class KNNClassifier:
    """Similarity-weighted k-NN vote with an open-set ``unknown`` answer.

    Each neighbour votes for its label with weight ``max(similarity, 0) ** sharpness``; the label
    with the largest total wins (ties: the label with the single most similar neighbour, then
    alphabetical order, so results never depend on store order). When even the nearest neighbour
    is less similar than ``unknown_threshold`` the answer is ``None`` (unknown).

    Args:
        unknown_threshold: Cosine similarity below which nothing stored is close enough.
        sharpness: Exponent on similarities; higher trusts the nearest neighbours more.

    Example:
        >>> from sam_detect.results import Neighbour
        >>> knn = KNNClassifier(unknown_threshold=0.5)
        >>> hits = [Neighbour("cup", 0.9), Neighbour("cup", 0.8), Neighbour("can", 0.85)]
        >>> p = knn.predict(hits)
        >>> p.label, round(p.confidence, 3)
        ('cup', 0.604)
        >>> knn.predict([Neighbour("cup", 0.3)]).label is None
        True
    """

    unknown_threshold: float = 0.5
    sharpness: float = 4.0

    def predict(self, neighbours: list[Neighbour]) -> Prediction:
        """Return the label and confidence that ``neighbours`` (best first) vote for."""
        if not neighbours:
            return Prediction(None, 0.0, [])
        neighbours = sorted(neighbours, key=lambda n: -n.score)
        if neighbours[0].score < self.unknown_threshold:
            return Prediction(None, 0.0, neighbours)
        votes: dict[str, float] = {}
        best: dict[str, float] = {}
        for neighbour in neighbours:
            votes[neighbour.label] = (votes.get(neighbour.label, 0.0)
                                      + max(neighbour.score, 0.0) ** self.sharpness)
            best[neighbour.label] = max(best.get(neighbour.label, -1.0), neighbour.score)
        winner = min(votes, key=lambda label: (-votes[label], -best[label], label))
        total = sum(votes.values())
        share = votes[winner] / total if total > 0 else 0.0
        confidence = min(1.0, max(0.0, share * best[winner]))
        return Prediction(winner, confidence, neighbours)
