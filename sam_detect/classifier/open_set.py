# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""An open-set decision and a calibrated confidence that fit themselves to the store.

Nothing here knows an embedder by name. Everything is measured on what every deployment has:

* **the generic-object reference set** (:mod:`~sam_detect.classifier.reference`), embedded once
  per embedder: its mean and a shrunk covariance give a :class:`Whitening` in which similarities
  measure what is particular to an object rather than what all crops share;
* **the store's own examples**: each taught example, left out, is a query of its own label seen
  again (a *positive*); each label, left out, makes its examples queries of objects never taught
  (*negatives*); known background, left out, is a negative too;
* **the reference objects** as queries: negatives that exist from the first taught example.

A query's *open-set score* is its whitened similarity to the voted label minus its similarity
to generic objects or known background (whichever is closer). :func:`fit_decision` places the
operating point of each label between the positives and the negatives
(:class:`FitSettings`): labels taught from several pictures (a category, or an object from
several views) keep at most ``false_unknown`` of their own left-out examples above it; a label
taught once rejects ``1 - false_accept`` of the negatives. Confidence is a logistic model of
the score above the operating point and the lead over the second label, in units of the
negatives' spread (so one prior serves every embedder), fitted on the store's positives and
negatives and pulled towards that prior when they are few.

A fitted :class:`OpenSetModel` is immutable; :class:`~sam_detect.classifier.fitting.OpenSetFitter`
refits one in the background whenever the store changes and swaps it in.
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
        >>> reference = rng.normal(size=(50, 8)); reference /= np.linalg.norm(reference, axis=1)[:, None]
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

    def sketch(self, vectors: np.ndarray) -> np.ndarray:
        """Return ``(n, 2 + rank)`` sketches of unit ``vectors``: ``[x.mu, |x|_W, U^T(x - mu)]``."""
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

    Attributes:
        false_unknown: Share of a multi-picture label's left-out examples allowed below its
            operating point.
        false_accept: Share of the negatives (objects never taught) a label taught once lets
            through.
        shrink: Pseudo-count pulling a label's own positives towards the pooled ones.
        top_k: Neighbours of a simulated query (the detector's ``top_k``).
        sharpness: The vote's exponent (the classifier's).
        most_queries: Most left-out examples scored per fit (a sample beyond): bounds the cost.
    """

    false_unknown: float = 0.08
    false_accept: float = 0.04
    shrink: float = 3.0
    top_k: int = 5
    sharpness: float = 4.0
    most_queries: int = 3000


@dataclass(frozen=True)
class ConfidenceModel:
    """``P(label right) = sigmoid(w0 * u + w1 * v + b)``, in units of the negatives' spread.

    ``u`` is the open-set score above the label's operating point and ``v`` the lead over the
    second label (0 to 1 similarity, clipped), both divided by ``spread``.

    Example:
        >>> ConfidenceModel((2.0, 0.0), 0.0, 0.1).probability(0.0, 0.3)
        0.5
    """

    weights: tuple[float, float] = (1.2, 0.3)
    bias: float = 0.4
    spread: float = 0.1

    def features(self, above: np.ndarray, lead: np.ndarray) -> np.ndarray:
        """Return the model's ``(n, 2)`` inputs."""
        spread = max(self.spread, 1e-6)
        return np.column_stack([np.asarray(above, float) / spread,
                                np.clip(np.asarray(lead, float), 0.0, 1.0) / spread])

    def probability(self, above: float, lead: float) -> float:
        """Return the probability that a label this far above its operating point is right."""
        z = float(self.features(np.array([above]), np.array([lead]))[0] @ np.array(self.weights)
                  + self.bias)
        return float(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z)))))


#: The confidence prior, in units of the negatives' spread: what the store's own positives and
#: negatives are pulled towards when they are few (fitted on the TUNE split, see docs/open_set.md).
CONFIDENCE_PRIOR = ConfidenceModel()
PRIOR_STRENGTH = 20.0  # the prior weighs like this many samples


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
        """The open-set score: similarity minus the closer of generic objects and background."""
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
    """A fitted decision: per-label operating points and the confidence model.

    Attributes:
        whitening: The embedder's :class:`Whitening`.
        thresholds: Per label, the least open-set score that is reported.
        single: Operating point of a label taught once (and of labels taught after the fit).
        confidence: The :class:`ConfidenceModel`.
        summary: What the fit saw (counts, the kind of store, where each point came from).
    """

    whitening: Whitening
    thresholds: dict[str, float] = field(default_factory=dict)
    single: float = 0.0
    confidence: ConfidenceModel = CONFIDENCE_PRIOR
    summary: dict[str, Any] = field(default_factory=dict)

    def threshold(self, label: str) -> float:
        """Return ``label``'s operating point (a label the fit never saw: ``single``)."""
        return self.thresholds.get(label, self.single)

    def decide(self, scored: Scored) -> tuple[bool, float, float]:
        """Return ``(accepted, margin over the operating point, confidence if accepted)``."""
        if scored.candidate is None:
            return False, math.nan, 0.0
        above = scored.score - self.threshold(scored.candidate)
        accepted = above >= 0.0 and scored.background < scored.similarity
        confidence = self.confidence.probability(above, scored.lead) if accepted else 0.0
        return accepted, above, confidence


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
    vectors = np.asarray(data.vectors, np.float32).reshape(len(data.labels),
                                                          data.reference.shape[1])
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
    """Place the operating points and fit the confidence from scored positives and negatives."""
    in_domain = np.array([s.score for s in negatives if s.candidate is not None])
    far = np.array([s.score for s in generic_negatives if s.candidate is not None])
    pool = in_domain if len(in_domain) >= 10 else np.concatenate([in_domain, far])
    single = float(np.quantile(pool, 1.0 - settings.false_accept)) if len(pool) else 0.0
    spread = _spread(pool)
    pos_scores = {name: np.array([s.score for s, _, truth in positives if truth == name])
                  for name in names}
    pooled = np.concatenate([v for v in pos_scores.values() if len(v)] or [np.zeros(0)])
    thresholds: dict[str, float] = {}
    sources: dict[str, str] = {}
    if len(pooled) >= 2:
        spread_pos = max(float(np.std(pooled, ddof=1)), 1e-3)
        centre = float(np.mean(pooled))
        z = _normal_quantile(settings.false_unknown)
        empirical = (float(np.quantile(pooled, settings.false_unknown))
                     if len(pooled) >= 20 else centre + z * spread_pos)
    for name in names:
        own = pos_scores[name]
        if pictures[name] < 2 or len(pooled) < 2:
            thresholds[name], sources[name] = single, "negatives"
            continue
        # The label's own positives, pulled towards the pooled ones when they are few.
        shift = len(own) * (float(np.mean(own)) - centre) / (len(own) + settings.shrink) \
            if len(own) else 0.0
        from_positives = empirical + shift
        # Never reject more of the label's own views than the budget; within it, reject as
        # many never-taught objects as the negatives allow.
        if single <= from_positives:
            thresholds[name] = 0.5 * (single + from_positives)
            sources[name] = "between"
        else:
            thresholds[name] = from_positives
            sources[name] = "positives"
    model = OpenSetModel(whitening, thresholds, single)
    confidence = _fit_confidence(model, positives, negatives or generic_negatives, spread, prior)
    kinds = [pictures[n] >= 2 for n in names]
    summary = {
        "labels": len(names),
        "taught_once": int(sum(1 for k in kinds if not k)),
        "positives": len(positives), "negatives": len(negatives),
        "generic_negatives": len(generic_negatives),
        "single": round(single, 4), "spread": round(spread, 4),
        "sources": sources,
    }
    return OpenSetModel(whitening, thresholds, single, confidence, summary)


def _fit_confidence(model: OpenSetModel, positives: list[tuple[Scored, bool, str]],
                    negatives: list[Scored], spread: float,
                    prior: ConfidenceModel) -> ConfidenceModel:
    """Fit the logistic confidence on the accepted positives and negatives, near the prior.

    Positives and negatives weigh the same in total (a query is as likely to be an object never
    taught as a taught one); the prior weighs like :data:`PRIOR_STRENGTH` samples.
    """
    base = ConfidenceModel(prior.weights, prior.bias, spread)
    above, lead, right, weight = [], [], [], []
    for group, total in (([(s, ok) for s, ok, _ in positives], 1.0),
                         ([(s, False) for s in negatives], 1.0)):
        kept = [(s, ok) for s, ok in group if model.decide(s)[0]]
        for s, ok in kept:
            above.append(s.score - model.threshold(s.candidate))
            lead.append(s.lead)
            right.append(ok)
            weight.append(total / max(len(group), 1))
    if not above or not any(right):
        return base
    x = base.features(np.array(above), np.array(lead))
    y = np.array(right, float)
    w = np.array(weight) * len(y) / max(sum(weight), 1e-12)
    start = np.array([*prior.weights, prior.bias], float)
    design = np.column_stack([x, np.ones(len(x))])

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ theta
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
        nll = -np.sum(w * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        gradient = design.T @ (w * (p - y))
        penalty = 0.5 * PRIOR_STRENGTH * np.sum((theta - start) ** 2)
        return float(nll + penalty), gradient + PRIOR_STRENGTH * (theta - start)

    from scipy.optimize import minimize

    theta = minimize(loss, start, jac=True, method="L-BFGS-B").x
    return ConfidenceModel((float(theta[0]), float(theta[1])), float(theta[2]), spread)


def prior_model(reference: np.ndarray, whitening: Whitening | None = None,
                settings: FitSettings = FitSettings()) -> OpenSetModel:
    """Return the decision before anything is taught: the reference set alone."""
    return fit_decision(FitData(np.zeros((0, reference.shape[1]), np.float32), [], [],
                                reference), whitening, settings)


def _spread(scores: np.ndarray) -> float:
    """A robust spread of the negatives' scores (their interquartile range / 1.35)."""
    if len(scores) < 4:
        return 0.1
    q1, q3 = np.quantile(scores, [0.25, 0.75])
    return max(float(q3 - q1) / 1.349, 1e-3)


def _normal_quantile(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.atleast_2d(vectors)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


__all__ = ["CONFIDENCE_PRIOR", "ConfidenceModel", "FitData", "FitSettings", "OpenSetModel",
           "Scored", "Whitening", "fit_decision", "prior_model", "vote"]
