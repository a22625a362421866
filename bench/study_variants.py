# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The numpy half of ``bench/study_embeddings.py``: vector variants and their few-shot scores."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def l2(x: np.ndarray) -> np.ndarray:
    """Return rows of unit length."""
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


@dataclass
class Cache:
    """One dataset's cached maps and metadata."""

    path: Path
    data: Any
    frames: Any
    categories: np.ndarray
    sources: np.ndarray
    never_taught: set[str]

    @classmethod
    def load(cls, path: Path) -> Cache:
        """Open ``crops.npz`` / ``frames.npz`` of a cache folder."""
        data = np.load(path / "crops.npz")
        frames_path = path / "frames.npz"
        frames = np.load(frames_path) if frames_path.exists() else None
        never = set((path / "never_taught.txt").read_text().split("\n")) - {""} \
            if (path / "never_taught.txt").exists() else set()
        return cls(path, data, frames, data["meta_category"], data["meta_source"], never)

    def maps(self, name: str, view: int = 0) -> np.ndarray:
        """Return ``(n, c, h, w)`` float32 maps of one view."""
        return self.data[name][:, view].astype(np.float32)

    def mask(self, stride: str, view: int = 0) -> np.ndarray:
        """Return ``(n, h, w)`` mask shares of one view."""
        return self.data[f"mask_{stride}"][:, view].astype(np.float32)

    @property
    def views(self) -> list[str]:
        """Return the view names stored."""
        return [str(v) for v in self.data["views"]]


# -- pooling -------------------------------------------------------------------------------------

def gap(maps: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Average over the map, or over the mask when given."""
    if mask is None:
        return maps.mean(axis=(2, 3))
    w = mask[:, None]
    return (maps * w).sum(axis=(2, 3)) / np.maximum(w.sum(axis=(2, 3)), 1e-6)


def gem(maps: np.ndarray, p: float = 3.0, mask: np.ndarray | None = None) -> np.ndarray:
    """Generalised mean pooling."""
    return gap(np.maximum(maps, 1e-6) ** p, mask) ** (1.0 / p)


def mac(maps: np.ndarray) -> np.ndarray:
    """Max pooling."""
    return maps.max(axis=(2, 3))


def rmac(maps: np.ndarray) -> np.ndarray:
    """R-MAC on a 7x7 map: the whole map and four overlapping 4x4 quadrants."""
    regions = [(slice(None), slice(None))] + [(slice(a, a + 4), slice(b, b + 4))
                                              for a in (0, 3) for b in (0, 3)]
    return sum(l2(maps[:, :, r, c].max(axis=(2, 3))) for r, c in regions)


# -- post-processing -----------------------------------------------------------------------------

@dataclass
class Whitener:
    """``W (v - mean)`` learned from a set of vectors."""

    mean: np.ndarray
    matrix: np.ndarray | None

    @classmethod
    def fit(cls, vectors: np.ndarray, shrink: float | None, dims: int | None = None,
            power: float = 0.5) -> Whitener:
        """Centre on ``vectors``; whiten with their covariance shrunk towards its trace."""
        mean = vectors.mean(axis=0)
        if shrink is None:
            return cls(mean, None)
        centred = vectors - mean
        cov = centred.T @ centred / max(1, len(vectors) - 1)
        d = cov.shape[0]
        cov = (1 - shrink) * cov + shrink * np.trace(cov) / d * np.eye(d)
        values, vecs = np.linalg.eigh(cov)
        order = np.argsort(-values)
        values, vecs = values[order], vecs[:, order]
        if dims:
            values, vecs = values[:dims], vecs[:, :dims]
        return cls(mean, (vecs / np.maximum(values, 1e-12) ** power).astype(np.float32))

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        """Apply and normalise."""
        x = vectors - self.mean
        return l2(x if self.matrix is None else x @ self.matrix)


def signed_sqrt(x: np.ndarray) -> np.ndarray:
    """Power normalisation."""
    return np.sign(x) * np.sqrt(np.abs(x))


# -- evaluation ----------------------------------------------------------------------------------

def instances_of(cache: Cache) -> list[Any]:
    """Return the cache's objects as the evaluator's ``GroundTruth`` records."""
    from sam_detect.evaluation.coco import GroundTruth

    d = cache.data
    return [GroundTruth(int(i), int(im), str(c), str(s), float(a)) for i, im, c, s, a in zip(
        d["meta_id"], d["meta_image_id"], d["meta_category"], d["meta_source"], d["meta_area"])]


def vote(sims: np.ndarray, labels: np.ndarray, top_k: int = 5, sharpness: float = 4.0
         ) -> np.ndarray:
    """Return the k-NN classifier's closed-set winner per row of ``sims`` (queries x support)."""
    k = min(top_k, sims.shape[1])
    idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    out = []
    for row, cols in zip(sims, idx):
        votes: dict[str, float] = {}
        best: dict[str, float] = {}
        for c in cols:
            lab = labels[c]
            votes[lab] = votes.get(lab, 0.0) + max(row[c], 0.0) ** sharpness
            best[lab] = max(best.get(lab, -9.0), row[c])
        out.append(min(votes, key=lambda x: (-votes[x], -best[x], x)))
    return np.array(out)


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """Area under the ROC of telling known (higher) from unknown scores."""
    if not len(known) or not len(unknown):
        return float("nan")
    scores = np.concatenate([known, unknown])
    ranks = scores.argsort().argsort() + 1.0
    return float((ranks[:len(known)].sum() - len(known) * (len(known) + 1) / 2)
                 / (len(known) * len(unknown)))


def evaluate(cache: Cache, similarity: Callable[[np.ndarray, np.ndarray], np.ndarray],
             shots: list[int], seeds: int, per_category: bool = False,
             example_of: np.ndarray | None = None) -> dict[str, Any]:
    """Few-shot closed-set accuracy and AUROC for a similarity function over object indices.

    ``similarity(queries, supports)`` returns a ``(q, s)`` matrix of object indices' similarity.
    """
    from sam_detect.evaluation.evaluator import split_instances

    instances = instances_of(cache)
    index = {g.id: i for i, g in enumerate(instances)}
    cats = np.array([g.category for g in instances])
    result: dict[str, Any] = {}
    per_cat: dict[int, dict[str, list[float]]] = {k: {} for k in shots}
    roles = cache.data["meta_role"] if "meta_role" in cache.data.files else None
    instance_level = roles is not None and (roles == "teach").any()
    for seed in range(seeds):
        if instance_level:  # support: an object's teaching pictures; query: its scene views
            rng = np.random.default_rng([seed, 7])
            taught = sorted(set(cats) - cache.never_taught)
            support_of = {c: list(rng.permutation(np.flatnonzero((cats == c)
                                                                 & (roles == "teach"))))
                          for c in taught}
            query = np.flatnonzero(np.isin(cats, taught) & (roles != "teach"))
            unknown = np.flatnonzero(~np.isin(cats, taught) & (roles != "teach"))
        else:
            split = split_instances(instances, max(shots), seed, 0,
                                    never_taught=sorted(cache.never_taught))
            query = np.array([index[i] for i in split.query])
            unknown = np.array([index[i] for i in split.unknown], int)
            support_of = {c: [index[i] for i in ids] for c, ids in split.support.items()}
        for k in shots:
            support = np.array([i for ids in support_of.values() for i in ids[:k]])
            sims = similarity(query, support)
            # a similarity may return one column per stored view of each support object
            per = sims.shape[1] // len(support)
            predicted = vote(sims, np.repeat(cats[support], per))
            right = predicted == cats[query]
            result.setdefault(f"acc@{k}", []).append(float(right.mean()))
            for c in np.unique(cats[query]):
                per_cat[k].setdefault(c, []).append(float(right[cats[query] == c].mean()))
            if len(unknown):
                known_best = sims.max(axis=1)
                unknown_best = similarity(unknown, support).max(axis=1)
                result.setdefault(f"auroc@{k}", []).append(auroc(known_best, unknown_best))
    summary = {name: float(np.mean(v)) for name, v in result.items()}
    if per_category:
        summary["per_category"] = {k: {c: float(np.mean(v)) for c, v in sorted(d.items())}
                                   for k, d in per_cat.items()}
    return summary


def matrix_similarity(vectors: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Cosine similarity of precomputed unit vectors."""
    full = vectors @ vectors.T

    def sim(q: np.ndarray, s: np.ndarray) -> np.ndarray:
        return full[np.ix_(q, s)]

    return sim


def views_similarity(query_vectors: np.ndarray, view_vectors: np.ndarray, mode: str = "max"
                     ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Similarity of a query to a support object over the support's views (max or mean)."""
    full = np.einsum("qd,svd->qsv", query_vectors, view_vectors)
    full = full.max(axis=2) if mode == "max" else full.mean(axis=2)

    def sim(q: np.ndarray, s: np.ndarray) -> np.ndarray:
        return full[np.ix_(q, s)]

    return sim


def local_similarity(cells: list[np.ndarray]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Symmetric chamfer similarity of per-object sets of unit cell descriptors."""
    memo: dict[tuple[int, int], float] = {}

    def pair(a: int, b: int) -> float:
        key = (a, b) if a < b else (b, a)
        if key not in memo:
            s = cells[a] @ cells[b].T
            memo[key] = 0.5 * (s.max(axis=1).mean() + s.max(axis=0).mean())
        return memo[key]

    def sim(q: np.ndarray, s: np.ndarray) -> np.ndarray:
        return np.array([[pair(a, b) for b in s] for a in q], np.float32)

    return sim


def study(args: Any) -> int:
    """Score every variant on every cache and print one line per variant."""
    from study_recipes import recipes

    shots = [int(k) for k in args.shots.split(",")]
    wanted = set(args.variants.split(",")) if args.variants else None
    for path in args.caches:
        cache = Cache.load(path)
        reference = Cache.load(path.parent / "reference") \
            if (path.parent / "reference").exists() else None
        print(f"== {path} ({len(cache.categories)} objects, never taught: "
              f"{len(cache.never_taught)} categories); {args.seeds} seeds")
        for name, make in recipes(cache, reference).items():
            if wanted and name not in wanted:
                continue
            scores = evaluate(cache, make(), shots, args.seeds)
            text = "  ".join(f"{k} {v:.3f}" for k, v in scores.items())
            print(f"{name:28s} {text}", flush=True)
    return 0
