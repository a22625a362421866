# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""k-NN classification of embeddings from their nearest stored examples, with open-set rejection.

The vote picks the best *taught* label among the neighbours. Whether that label is reported is
a separate, open-set decision: the query must be closer to the label's examples than to

* **known background** - examples stored under :data:`~sam_detect.classifier.BACKGROUND_LABEL`
  when an object was taught by pointing at it in a frame (the frame's other segments are real
  evidence of what the label is *not*), and
* **generic objects** - the embedder's reference set
  (:mod:`sam_detect.classifier.reference`), so it holds from the first taught example and with a
  single label, for every embedder,

by at least ``margin``, and its similarity must reach the ``unknown_threshold`` floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sam_detect.classifier.background import is_background
from sam_detect.classifier.calibration import Calibration
from sam_detect.results import Neighbour


@dataclass(frozen=True)
class Prediction:
    """A label decision for one embedding.

    Attributes:
        label: The winning label, or ``None`` when unknown.
        confidence: In ``[0, 1]``. With a :class:`~sam_detect.classifier.Calibration` (the
            detector always has one), the calibrated probability that ``label`` is right; without
            one, the winner's share of the vote times its best similarity. ``0.0`` when unknown.
        neighbours: The neighbours the vote used, best first (background ones included).
        margin: How much closer the query is to the winning label than to anything it must beat
            (background, generic objects); ``nan`` when there was no candidate label. The
            open-set score: higher is more surely known.
        candidate: The label the vote picked before the open-set decision (``None`` when nothing
            taught was among the neighbours); equals ``label`` when it was accepted.
        lead: The candidate's best similarity minus the second label's (``nan``: no candidate).
        share: The candidate's share of the vote (``nan``: no candidate).
    """

    label: str | None
    confidence: float
    neighbours: list[Neighbour]
    margin: float = math.nan
    candidate: str | None = None
    lead: float = math.nan
    share: float = math.nan


@dataclass
class KNNClassifier:
    """Similarity-weighted k-NN vote with an open-set ``unknown`` answer.

    Each taught neighbour votes for its label with weight ``max(similarity, 0) ** sharpness``;
    the label with the largest total wins (ties: the label with the single most similar
    neighbour, then alphabetical order, so results never depend on store order). The winner is
    reported only when

    * its best similarity ``s`` is at least ``unknown_threshold`` (an absolute floor, the
      sensitivity users tune: lower accepts more), and
    * ``s - max(best background similarity, reference similarity) >= margin``: the query is
      closer to the label than to known background and to generic objects (a background
      neighbour at least as close as the label always wins, whatever the margin).

    ``unknown_threshold <= -1`` (the sensitivity's far end) answers the nearest taught label
    always: a closed-set vote.

    Args:
        unknown_threshold: Cosine similarity floor below which nothing stored is close enough;
            ``-1`` turns every open-set test off.
        sharpness: Exponent on similarities; higher trusts the nearest neighbours more.
        margin: Least lead over background / generic objects; ``None`` skips that test (only
            stored background then rejects).
        calibration: Maps the decision's scores to the probability that the label is right;
            ``None`` keeps the uncalibrated vote share as confidence.

    Example:
        >>> from sam_detect.results import Neighbour
        >>> knn = KNNClassifier(unknown_threshold=0.5)
        >>> hits = [Neighbour("cup", 0.9), Neighbour("cup", 0.8), Neighbour("can", 0.85)]
        >>> p = knn.predict(hits)
        >>> p.label, round(p.confidence, 3)
        ('cup', 0.604)
        >>> knn.predict([Neighbour("cup", 0.3)]).label is None
        True
        >>> knn = KNNClassifier(unknown_threshold=0.0, margin=0.1)
        >>> knn.predict([Neighbour("cup", 0.7)], reference=0.65).label is None  # generic-looking
        True
        >>> knn.predict([Neighbour("cup", 0.9)], reference=0.65).label
        'cup'
    """

    unknown_threshold: float = 0.5
    sharpness: float = 4.0
    margin: float | None = None
    calibration: Calibration | None = None

    def predict(self, neighbours: list[Neighbour], reference: float | None = None) -> Prediction:
        """Return the label and confidence that ``neighbours`` (any order) vote for.

        Args:
            neighbours: The query's nearest stored examples.
            reference: The query's similarity to the embedder's generic objects
                (:func:`~sam_detect.classifier.reference.reference_similarity`); ``None`` when
                unknown.
        """
        neighbours = sorted(neighbours, key=lambda n: -n.score)
        taught = [n for n in neighbours if not is_background(n.label)]
        if not taught:
            return Prediction(None, 0.0, neighbours)
        votes: dict[str, float] = {}
        best: dict[str, float] = {}
        for neighbour in taught:
            votes[neighbour.label] = (votes.get(neighbour.label, 0.0)
                                      + max(neighbour.score, 0.0) ** self.sharpness)
            best[neighbour.label] = max(best.get(neighbour.label, -1.0), neighbour.score)
        winner = min(votes, key=lambda label: (-votes[label], -best[label], label))
        total = sum(votes.values())
        share = votes[winner] / total if total > 0 else 0.0
        similarity = best[winner]
        background = max((n.score for n in neighbours if is_background(n.label)), default=-1.0)
        rival = max(background, -1.0 if reference is None else float(reference))
        margin = similarity - rival
        second = max((s for label, s in best.items() if label != winner), default=-1.0)
        closed_set = self.unknown_threshold <= -1.0  # the sensitivity's end: never unknown
        rejected = not closed_set and (
            similarity < self.unknown_threshold or background >= similarity
            or (self.margin is not None and reference is not None and margin < self.margin))
        if rejected:
            return Prediction(None, 0.0, neighbours, margin, winner, similarity - second, share)
        if self.calibration is not None:
            confidence = self.calibration.probability(margin, similarity - second, share)
        else:
            confidence = min(1.0, max(0.0, share * similarity))
        return Prediction(winner, confidence, neighbours, margin, winner, similarity - second,
                          share)
