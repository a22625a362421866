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

by the operating point of the decision fitted to the store
(:mod:`sam_detect.classifier.open_set`; the detector always has one), and its similarity must
reach the ``unknown_threshold`` floor. Used alone, without a fitted decision, the classifier
applies a fixed ``margin`` over generic objects instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sam_detect.classifier.calibration import Calibration
from sam_detect.classifier.open_set import NO_RIVAL, OpenSetModel, vote
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
        similarity: The candidate's best similarity as the decision saw it (whitened with a
            fitted decision); ``nan``: no candidate.
        generic: The query's similarity to generic objects as the decision saw it.
    """

    label: str | None
    confidence: float
    neighbours: list[Neighbour]
    margin: float = math.nan
    candidate: str | None = None
    lead: float = math.nan
    share: float = math.nan
    similarity: float = math.nan
    generic: float = math.nan


@dataclass
class KNNClassifier:
    """Similarity-weighted k-NN vote with an open-set ``unknown`` answer.

    Each taught neighbour votes for its label with weight ``max(similarity, 0) ** sharpness``;
    the label with the largest total wins (ties: the label with the single most similar
    neighbour, then alphabetical order, so results never depend on store order). The winner is
    reported only when

    * its best similarity ``s`` is at least ``unknown_threshold`` (an absolute floor, the
      sensitivity users tune: lower accepts more), and
    * it is closer to the label than to known background and to generic objects: with a fitted
      ``model`` (what :class:`~sam_detect.SAMDetect` passes), by the model's operating point
      plus ``margin``, in whitened similarities; without one,
      ``s - max(best background similarity, reference similarity) >= margin``. A background
      neighbour at least as close as the label always wins.

    ``unknown_threshold <= -1`` (the sensitivity's far end) answers the nearest taught label
    always: a closed-set vote.

    Args:
        unknown_threshold: Cosine similarity floor below which nothing stored is close enough;
            ``-1`` turns every open-set test off.
        sharpness: Exponent on similarities; higher trusts the nearest neighbours more.
        margin: With a fitted model, extra lead over its operating point (0: exactly it);
            without one, the least lead over background / generic objects. ``None`` skips that
            test (only stored background then rejects).
        calibration: Without a fitted model, maps the scores to the probability that the label
            is right; ``None`` keeps the uncalibrated vote share as confidence. A fitted model
            brings its own confidence.

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

    def predict(self, neighbours: list[Neighbour], reference: float | None = None,
                similarities: list[float] | None = None,
                model: OpenSetModel | None = None) -> Prediction:
        """Return the label and confidence that ``neighbours`` (any order) vote for.

        Args:
            neighbours: The query's nearest stored examples.
            reference: The query's similarity to the embedder's generic objects
                (:func:`~sam_detect.classifier.reference.reference_similarity`, or whitened
                with ``model``); ``None`` when unknown.
            similarities: Per neighbour (same order), the similarity the vote and the decision
                use: whitened ones with ``model``; None: the neighbours' own scores.
            model: A decision fitted to the store
                (:class:`~sam_detect.classifier.open_set.OpenSetModel`): its per-label operating
                points and confidence decide, ``margin`` is then extra lead over the operating
                point. None: ``margin`` over generic objects and ``calibration`` decide.
        """
        order = sorted(range(len(neighbours)), key=lambda i: -neighbours[i].score)
        white = [float(neighbours[i].score if similarities is None else similarities[i])
                 for i in order]
        neighbours = [neighbours[i] for i in order]
        generic = NO_RIVAL if reference is None else float(reference)
        scored = vote([n.label for n in neighbours], [n.score for n in neighbours], white,
                      generic, self.sharpness)
        if scored.candidate is None:
            return Prediction(None, 0.0, neighbours)
        closed_set = self.unknown_threshold <= -1.0  # the sensitivity's end: never unknown
        below_floor = scored.raw < self.unknown_threshold
        if model is not None:
            _, above, confidence = model.decide(scored)
            above -= self.margin or 0.0
            rejected = not closed_set and (below_floor or above < 0.0
                                           or scored.background >= scored.similarity)
        else:
            above = scored.score
            rejected = not closed_set and (
                below_floor or scored.background >= scored.similarity
                or (self.margin is not None and reference is not None and above < self.margin))
            if self.calibration is not None:
                confidence = self.calibration.probability(above, scored.lead, scored.share)
            else:
                confidence = min(1.0, max(0.0, scored.share * scored.similarity))
        return Prediction(None if rejected else scored.candidate,
                          0.0 if rejected else confidence, neighbours, above, scored.candidate,
                          scored.lead, scored.share, scored.similarity, scored.generic)
