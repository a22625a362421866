# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""An open-set decision and a calibrated confidence that fit themselves to the store.

Nothing here knows an embedder by name. Everything is measured on what every deployment has:

* **the generic-object reference set** (:mod:`~sam_detect.classifier.reference`), embedded once
  per embedder: its mean and a shrunk covariance give a :class:`Whitening` in which similarities
  measure what is particular to an object rather than what all crops share, and its objects'
  scores give the *scale* of scores for this embedder;
* **the store's own examples**: each label, left out, makes its examples queries of objects
  never taught (*negatives*, as close as real never-taught objects come, because they are the
  same kind of things the user teaches); known background, left out, is a negative too; each
  taught example, left out with what it was taught with, is its label seen again (a
  *positive*).

A query's *open-set score* is its whitened similarity to the voted label minus its similarity to
generic objects or known background (whichever is closer). :func:`fit_decision` finds where
never-taught objects typically score (the median of the negatives, pulled towards a typical
place above the generic objects when there are few) and puts the operating point
``FitSettings.operating_point`` scales from there. ``confidence`` is a logistic model of how far
a score stands above that place, in scales, plus how tight the store's labels are (how far their
left-out examples stand: several views of one object stand far above, a broad category does
not), whose three coefficients were fitted once on the TUNE splits and hold for any embedder
because everything is measured in its own scale.

A fitted :class:`OpenSetModel` is immutable; :class:`~sam_detect.classifier.fitting.OpenSetFitter`
refits one whenever the store changes (in the background on the node) and swaps it in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from sam_detect.classifier.background import is_background

#: Shrinkage of the reference covariance towards its mean variance (0: none, 1: plain centring).
#: Measured on the tune split: 0.1-0.9 give the same separation; half-way is the safe middle.
SHRINKAGE = 0.5
GENERIC_TOP = 3  # a query's generic similarity: the mean of its 3 best reference similarities
NO_RIVAL = -1.0


@dataclass(frozen=True)
class Whitening:
    """Centre on the reference mean and whiten with the reference's shrunk covariance.

    The metric is ``C^-1`` with ``C = (1 - a) S + a nu I`` (``S`` the reference covariance,
    ``nu`` its mean variance, ``a`` the shrinkage). ``S`` has rank below the number of reference
    objects, so ``C^-1 = c0 I + U diag(m) U^T`` and the whitened inner product of two unit vectors
    needs only their raw cosine (what a vector store returns) and a short *sketch* of each
    (:meth:`sketch`: its projection on the mean, its whitened norm and its coordinates in
    ``U``). The store is never asked for vectors at query time.

    Attributes:
        mean: The reference mean ``mu``.
        basis: ``U``, ``(dim, rank)``.
        metric: ``m``, ``(rank,)``.
        isotropic: ``c0``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> reference = rng.normal(size=(50, 8))
        >>> reference /= np.linalg.norm(reference, axis=1)[:, None]
        >>> whitening = Whitening.fit(reference)
        >>> a, b = reference[:2]
        >>> sa, sb = whitening.sketch(np.stack([a, b]))
        >>> full = whitening.transform(np.stack([a, b]))
        >>> bool(np.isclose(whitening.similarity(float(a @ b), sa, sb), full[0] @ full[1]))
        True
    """

    mean: np.ndarray
    basis: np.ndarray
    metric: np.ndarray
    isotropic: float

    @classmethod
    def fit(cls, reference: np.ndarray, shrinkage: float = SHRINKAGE) -> Whitening:
        """Fit on ``(n, dim)`` unit reference vectors."""
        reference = _unit(np.asarray(reference, np.float64))
        mean = reference.mean(axis=0)
        centred = reference - mean
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        keep = singular > 1e-8 * max(float(singular.max(initial=0.0)), 1e-30)
        variances = singular[keep] ** 2 / len(reference)
        dim = reference.shape[1]
        nu = max(float((singular ** 2).sum()) / len(reference) / dim, 1e-12)
        c0 = 1.0 / (shrinkage * nu)
        metric = 1.0 / ((1.0 - shrinkage) * variances + shrinkage * nu) - c0
        return cls(mean.astype(np.float32), vt[keep].T.astype(np.float32),
                   metric.astype(np.float32), float(c0))

    @classmethod
    def identity(cls, dim: int) -> Whitening:
        """Return the whitening that changes nothing: raw cosines, no centring.

        For an embedder whose vectors are whitened on generic objects already (it says so with
        ``whitened = True``): whitening them again on the same reference set left the ranking
        as it was and wrecked the calibration (tune split, ``efficientnet-lite0-whitened``,
        category level 5 shots: AUROC 0.793 both ways, ECE 0.52 against 0.10;
        ``bench/results/decision_whitening_tune.json``).

        Example:
            >>> plain = Whitening.identity(3)
            >>> s = plain.sketch(np.eye(3)[:2])
            >>> round(plain.similarity(0.25, s[0], s[1]), 6)
            0.25
        """
        return cls(np.zeros(dim, np.float32), np.zeros((dim, 0), np.float32),
                   np.zeros(0, np.float32), 1.0)

    def sketch(self, vectors: np.ndarray) -> np.ndarray:
        """Return ``(n, 2 + rank)`` sketches of unit ``vectors``: ``[x.mu, |x|_W, U^T(x-mu)]``."""
        vectors = _unit(np.atleast_2d(np.asarray(vectors, np.float32)))
        along = vectors @ self.mean
        coords = (vectors - self.mean) @ self.basis
        centred = 1.0 - 2.0 * along + float(self.mean @ self.mean)
        norm = np.sqrt(np.maximum(self.isotropic * centred + (coords ** 2) @ self.metric, 1e-12))
        return np.column_stack([along, norm, coords]).astype(np.float32)

    def similarities(self, raw: np.ndarray, queries: np.ndarray,
                     items: np.ndarray) -> np.ndarray:
        """Return whitened cosines from raw cosines ``(q, n)`` and the two sides' sketches."""
        raw = np.asarray(raw, np.float32)
        centred = (raw - queries[:, :1] - items[:, 0][None, :]
                   + float(self.mean @ self.mean))
        inner = self.isotropic * centred + (queries[:, 2:] * self.metric) @ items[:, 2:].T
        return inner / (queries[:, 1:2] * items[:, 1][None, :])

    def similarity(self, raw: float, query: np.ndarray, item: np.ndarray) -> float:
        """Return the whitened cosine of one pair (see :meth:`similarities`)."""
        return float(self.similarities(np.array([[raw]]), query[None, :], item[None, :])[0, 0])

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """Return the whitened unit vectors themselves (for inspection and tests)."""
        vectors = _unit(np.atleast_2d(np.asarray(vectors, np.float64))) - self.mean
        root = np.sqrt(self.isotropic)
        scaled = root * vectors + ((vectors @ self.basis)
                                   * (np.sqrt(self.isotropic + self.metric) - root)) @ self.basis.T
        return _unit(scaled)


@dataclass(frozen=True)
class FitSettings:
    """Where :func:`fit_decision` puts the operating point (fitted on the TUNE split).

    Scores are measured in units of the spread of the generic objects' scores (about the same
    for every store of one embedder), so these numbers hold for any embedder.

    Attributes:
        operating_point: Where, from the typical never-taught object's score, labels start to
            be reported, in spreads (negative: below it).
        negatives_above_generic: Where never-taught objects typically sit above the generic
            ones, in spreads: what the store's own negatives are pulled towards when few.
        shrink: Pseudo-count of that typical place against the store's own negatives.
        positives_kept: The operating point never rejects more than ``1 - positives_kept`` of
            the labels' own left-out examples.
        top_k: Neighbours of a simulated query (the detector's ``top_k``).
        sharpness: The vote's exponent (the classifier's).
        most_queries: Most left-out examples scored per fit (a sample beyond): bounds the cost.
    """

    operating_point: float = -0.5
    negatives_above_generic: float = 1.8
    positives_kept: float = 0.75
    shrink: float = 8.0
    top_k: int = 5
    sharpness: float = 4.0
    most_queries: int = 3000


@dataclass(frozen=True)
class ConfidenceModel:
    """``P(label right) = sigmoid(slope * standing + bias)``.

    ``standing`` is how far a query's open-set score is above where never-taught objects
    typically score, in units of the embedder's spread of scores (:class:`OpenSetModel`), so one
    slope serves every embedder. The bias carries what the store says about itself
    (:func:`store_bias`).

    Example:
        >>> ConfidenceModel(2.0, 0.0).probability(0.0)
        0.5
    """

    slope: float = 2.118
    bias: float = -1.627
    similarity: float = 0.0

    def probability(self, standing: float, similarity: float = 0.0) -> float:
        """Return the probability that a label standing this high is right.

        ``similarity`` is how far the query's similarity to the label (before anything is
        subtracted) stands above the never-taught objects' typical similarity, in spreads; its
        weight is :attr:`similarity`.
        """
        z = self.slope * float(standing) + self.similarity * float(similarity) + self.bias
        return float(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z)))))


#: The confidence model, fitted on the TUNE splits of both benchmarks (category and instance
#: level, 1, 3 and 5 shots, pooled over the default ``efficientnet-lite0-whitened`` with its
#: teaching-time views and plain EfficientNet-Lite0, the answers the shipped decision accepts;
#: bench/tune_open_set.py, bench/results/open_set_calibration_tune.json):
#: ``sigmoid(SLOPE * standing + SIMILARITY * similarity + BIAS + TIGHTNESS * tightness)``.
#: ``similarity`` (how far the query's similarity to the label stands above generic objects'
#: similarity to their nearest label, in spreads) carries most of it: subtracting the generic
#: similarity, as the score does, helps the decision but not the confidence (tune ECE at
#: instance level, 1 shot: 0.049 with it, 0.055 with the standing alone).
SLOPE = 0.322
SIMILARITY = 2.135
BIAS = -4.492
TIGHTNESS = 0.167
#: A store's tightness: how far above its never-taught objects its labels' own left-out
#: examples score, in spreads (several views of one object: high; a broad category: low).
#: Unknown until some label was taught from two pictures: then this middle value.
TYPICAL_TIGHTNESS = 2.5
CONFIDENCE_PRIOR = ConfidenceModel(SLOPE, BIAS + TIGHTNESS * TYPICAL_TIGHTNESS, SIMILARITY)


def store_bias(tightness: float | None) -> float:
    """Return the confidence model's bias for a store of this tightness (None: unknown).

    Example:
        >>> store_bias(None) == CONFIDENCE_PRIOR.bias
        True
    """
    t = TYPICAL_TIGHTNESS if tightness is None else min(max(float(tightness), 0.0), 8.0)
    return BIAS + TIGHTNESS * t


@dataclass(frozen=True)
class Scored:
    """One query's vote and open-set scores.

    Attributes:
        candidate: The voted taught label (None: no taught neighbour).
        similarity: Whitened similarity to the candidate's nearest example.
        raw: Raw (store) cosine to the candidate's nearest example: what ``unknown_threshold``
            is a floor of.
        second: Whitened similarity to the best other label (-1: none).
        background: Whitened similarity to the nearest known background (-1: none).
        generic: Whitened similarity to generic objects.
        share: The candidate's share of the vote.
    """

    candidate: str | None
    similarity: float = NO_RIVAL
    raw: float = NO_RIVAL
    second: float = NO_RIVAL
    background: float = NO_RIVAL
    generic: float = NO_RIVAL
    share: float = 0.0

    @property
    def score(self) -> float:
        """Return the open-set score: similarity minus the closer of generic and background."""
        return self.similarity - max(self.generic, self.background)

    @property
    def lead(self) -> float:
        """Whitened similarity lead over the second label (1 when there is none)."""
        return 1.0 if self.second <= NO_RIVAL else self.similarity - self.second


def vote(labels: Sequence[str], raw: Sequence[float], white: Sequence[float], generic: float,
         sharpness: float) -> Scored:
    """Vote over one query's neighbours (any order) and return its :class:`Scored`.

    Each taught neighbour votes for its label with ``max(whitened similarity, 0) ** sharpness``;
    ties go to the label with the single most similar neighbour, then alphabetical order.
    Known background never wins; it is a rival.

    Example:
        >>> s = vote(["cup", "cup", "can"], [0.9, 0.8, 0.85], [0.6, 0.5, 0.4], 0.1, 4.0)
        >>> s.candidate, round(s.score, 2), round(s.lead, 2)
        ('cup', 0.5, 0.2)
    """
    votes: dict[str, float] = {}
    best: dict[str, float] = {}
    best_raw: dict[str, float] = {}
    background = NO_RIVAL
    for label, r, w in zip(labels, raw, white):
        w, r = float(w), float(r)
        if is_background(label):
            background = max(background, w)
            continue
        votes[label] = votes.get(label, 0.0) + max(w, 0.0) ** sharpness
        best[label] = max(best.get(label, -math.inf), w)
        best_raw[label] = max(best_raw.get(label, -math.inf), r)
    if not votes:
        return Scored(None, background=background, generic=float(generic))
    winner = min(votes, key=lambda label: (-votes[label], -best[label], label))
    total = sum(votes.values())
    second = max((s for label, s in best.items() if label != winner), default=NO_RIVAL)
    return Scored(winner, best[winner], best_raw[winner], second, background, float(generic),
                  votes[winner] / total if total > 0 else 1.0 / len(votes))


@dataclass(frozen=True)
class OpenSetModel:
    """A fitted decision: where never-taught objects score, the operating point, confidence.

    Attributes:
        whitening: The embedder's :class:`Whitening`.
        centre: Where objects never taught typically score (the store's own, see
            :func:`fit_decision`).
        scale: The spread of scores for this embedder (the generic objects').
        threshold: The operating point: the least open-set score that is reported.
        confidence: The :class:`ConfidenceModel`.
        similarity_centre: Where never-taught objects' similarity to the label they come
            closest to typically lies (before generic objects or background are subtracted).
        summary: What the fit saw (counts, medians, the store's tightness).
    """

    whitening: Whitening
    centre: float = 0.0
    scale: float = 0.1
    threshold: float = 0.0
    confidence: ConfidenceModel = CONFIDENCE_PRIOR
    summary: dict[str, Any] = field(default_factory=dict)
    similarity_centre: float = 0.0

    def standing(self, score: float) -> float:
        """Return how far ``score`` is above the typical never-taught object's, in spreads."""
        return (float(score) - self.centre) / max(self.scale, 1e-6)

    def similarity_standing(self, similarity: float) -> float:
        """Return how far a similarity is above never-taught objects' typical one, in spreads."""
        return (float(similarity) - self.similarity_centre) / max(self.scale, 1e-6)

    def probability(self, scored: Scored) -> float:
        """Return the confidence of ``scored``'s label (0 without a candidate)."""
        if scored.candidate is None:
            return 0.0
        return self.confidence.probability(self.standing(scored.score),
                                           self.similarity_standing(scored.similarity))

    def decide(self, scored: Scored) -> tuple[bool, float, float]:
        """Return ``(accepted, score above the operating point, confidence)``.

        The confidence is what the label would have whether accepted or not (0 without a
        candidate).
        """
        if scored.candidate is None:
            return False, math.nan, 0.0
        above = scored.score - self.threshold
        accepted = above >= 0.0 and scored.background < scored.similarity
        return accepted, above, self.probability(scored)


# -- fitting ----------------------------------------------------------------------------------


@dataclass
class FitData:
    """What a fit reads: the store's examples and the embedder's reference set.

    Attributes:
        vectors: ``(n, dim)`` unit vectors of the stored examples.
        labels: Their labels (known background included).
        groups: Per example, what it was taught with (examples of one group - views of one
            track, objects of one picture - are left out together).
        reference: ``(m, dim)`` unit reference vectors.
    """

    vectors: np.ndarray
    labels: list[str]
    groups: list[Any]
    reference: np.ndarray


def fit_decision(data: FitData, whitening: Whitening | None = None,
                 settings: FitSettings = FitSettings(),
                 prior: ConfidenceModel = CONFIDENCE_PRIOR,
                 seed: int = 0) -> OpenSetModel:
    """Fit the open-set decision and the confidence to one store.

    Args:
        data: The store's examples and the reference set.
        whitening: The embedder's whitening (fitted on ``data.reference`` when None).
        settings: Where to put the operating points.
        prior: The confidence prior.
        seed: Seed of the sample of queries when the store is larger than
            ``settings.most_queries``.

    Returns:
        The :class:`OpenSetModel`; with no taught example, operating points from the reference
        set alone.
    """
    whitening = whitening or Whitening.fit(data.reference)
    dim = data.reference.shape[1]
    vectors = np.asarray(data.vectors, np.float32).reshape(len(data.labels), dim)
    vectors = _unit(vectors) if len(vectors) else vectors
    labels = np.asarray(data.labels, dtype=object)
    groups = np.asarray([hash(("group", g)) for g in data.groups], np.int64)
    reference = _unit(np.asarray(data.reference, np.float32))
    ref_sketch = whitening.sketch(reference)
    sketch = (whitening.sketch(vectors) if len(vectors)
              else np.zeros((0, ref_sketch.shape[1]), np.float32))
    taught = np.array([not is_background(label) for label in labels], bool)
    names = sorted(set(labels[taught]))
    pictures = {name: len(set(groups[(labels == name)])) for name in names}
    rng = np.random.default_rng(seed)

    def generic(raw_ref: np.ndarray, query_sketch: np.ndarray,
                skip: np.ndarray | None = None) -> np.ndarray:
        white = whitening.similarities(raw_ref, query_sketch, ref_sketch)
        if skip is not None:
            white[np.arange(len(white)), skip] = -np.inf
        top = min(GENERIC_TOP, white.shape[1])
        return -np.partition(-white, top - 1, axis=1)[:, :top].mean(axis=1)

    def score(rows: np.ndarray, allowed: np.ndarray, query_vectors: np.ndarray | None = None,
              query_sketch: np.ndarray | None = None,
              generic_skip: np.ndarray | None = None) -> list[Scored]:
        """Score queries (store rows, or given vectors) against the allowed store rows."""
        if query_vectors is None:
            query_vectors, query_sketch = vectors[rows], sketch[rows]
        raw = query_vectors @ vectors.T
        raw = np.where(allowed, raw, -np.inf)
        white = whitening.similarities(np.where(np.isfinite(raw), raw, 0.0), query_sketch,
                                       sketch)
        gen = generic(query_vectors @ reference.T, query_sketch, generic_skip)
        out = []
        k = min(settings.top_k, raw.shape[1])
        for i in range(len(raw)):
            top = np.argpartition(-raw[i], k - 1)[:k] if k else np.zeros(0, int)
            top = top[np.isfinite(raw[i, top])]
            out.append(vote([labels[j] for j in top], raw[i, top], white[i, top], gen[i],
                            settings.sharpness))
        return out

    n = len(labels)
    positives: list[tuple[Scored, bool, str]] = []  # (scores, right, true label)
    negatives: list[Scored] = []
    if n:
        order = rng.permutation(n)[:settings.most_queries]
        multi = np.array([taught[i] and pictures[labels[i]] >= 2 for i in order], bool)
        rows = order[multi]
        if len(rows):  # each taught example, left out with its group: its label seen again
            allowed = groups[None, :] != groups[rows][:, None]
            for row, scored in zip(rows, score(rows, allowed)):
                positives.append((scored, scored.candidate == labels[row], labels[row]))
        rows = order[taught[order]] if len(names) >= 2 else np.zeros(0, int)
        if len(rows):  # each label left out: its examples are objects never taught
            allowed = labels[None, :] != labels[rows][:, None]
            negatives += score(rows, allowed)
        rows = order[~taught[order]]
        if len(rows) and len(names):  # known background, left out with its group
            allowed = groups[None, :] != groups[rows][:, None]
            negatives += [s for s in score(rows, allowed) if s.candidate is not None]
    generic_negatives: list[Scored] = []
    if len(names):  # the reference objects as queries: far, but there from the first example
        generic_negatives = score(
            np.zeros(0, int), np.ones((len(reference), n), bool), reference, ref_sketch,
            generic_skip=np.arange(len(reference)))
    return _place(whitening, names, pictures, positives, negatives, generic_negatives,
                  settings, prior)


def _place(whitening: Whitening, names: list[str], pictures: dict[str, int],
           positives: list[tuple[Scored, bool, str]], negatives: list[Scored],
           generic_negatives: list[Scored], settings: FitSettings,
           prior: ConfidenceModel) -> OpenSetModel:
    """Place the operating point and scale the confidence from the scored negatives.

    The scale is the spread of the generic objects' scores (many, and the same for every store
    of one embedder); the location is the median score of the store's own negatives - objects
    it holds that are not the label they come closest to - pulled towards where such objects
    typically sit above the generic ones when there are few of them.
    """
    in_domain = np.array([s.score for s in negatives if s.candidate is not None])
    far = np.array([s.score for s in generic_negatives if s.candidate is not None])
    if len(far) >= 4:
        scale = _spread(far)
        typical = float(np.median(far)) + settings.negatives_above_generic * scale
    else:
        scale, typical = 0.1, 0.0
    count = len(in_domain)
    centre = ((count * float(np.median(in_domain)) if count else 0.0)
              + settings.shrink * typical) / (count + settings.shrink)
    # where generic objects' similarity to their nearest label lies (nothing subtracted): the
    # similarity's own zero for the confidence (many, so stable for one embedder)
    far_similarity = np.array([s.similarity for s in generic_negatives if s.candidate is not None])
    similarity_centre = float(np.median(far_similarity)) if len(far_similarity) >= 4 else 0.0
    single = centre + settings.operating_point * scale
    own = np.array([s.score for s, _, _ in positives])
    if len(own) >= 3:  # never reject most of the labels' own left-out examples (a degenerate
        # embedder, where everything looks alike, would otherwise refuse exact matches)
        single = min(single, float(np.quantile(own, 1.0 - settings.positives_kept)))
    summary = {
        "labels": len(names),
        "taught_once": int(sum(1 for n in names if pictures[n] < 2)),
        "positives": len(positives), "negatives": count, "generic_negatives": len(far),
        "negatives_median": round(float(np.median(in_domain)), 4) if count else None,
        "generic_median": round(float(np.median(far)), 4) if len(far) else None,
        "scale": round(scale, 4), "operating_point": round(single, 4),
        "positives_right": (round(float(np.mean([ok for _, ok, _ in positives])), 3)
                            if positives else None),
    }
    right = [s.score for s, _, _ in positives]
    tightness = ((float(np.median(right)) - centre) / scale) if len(right) >= 3 else None
    summary["tightness"] = None if tightness is None else round(tightness, 3)
    confidence = ConfidenceModel(prior.slope, store_bias(tightness), prior.similarity)
    summary["similarity_centre"] = round(similarity_centre, 4)
    return OpenSetModel(whitening, centre, scale, single, confidence, summary, similarity_centre)


def prior_model(reference: np.ndarray, whitening: Whitening | None = None,
                settings: FitSettings = FitSettings()) -> OpenSetModel:
    """Return the decision before anything is taught: the reference set alone."""
    return fit_decision(FitData(np.zeros((0, reference.shape[1]), np.float32), [], [],
                                reference), whitening, settings)


def _spread(scores: np.ndarray) -> float:
    """Return a robust spread of ``scores`` (their interquartile range / 1.35)."""
    if len(scores) < 4:
        return 0.1
    q1, q3 = np.quantile(scores, [0.25, 0.75])
    return max(float(q3 - q1) / 1.349, 1e-3)


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.atleast_2d(vectors)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


__all__ = ["CONFIDENCE_PRIOR", "ConfidenceModel", "FitData", "FitSettings", "OpenSetModel",
           "Scored", "Whitening", "fit_decision", "prior_model", "vote"]
