# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Metric functions of the evaluation: mask matching, intervals, embedding quality, latency.

Each function is pure (arrays in, numbers out) so it can be checked on hand-made cases:

* :func:`iou_matrix` and :func:`greedy_match` - predicted vs ground-truth masks (COCO RLE IoU).
* :func:`mean_ci` and :func:`paired_difference` - Student-t 95 % intervals over seeds.
* :func:`nn_agreement` and :func:`silhouette_cosine` - how well embeddings cluster by label.
* :func:`latency_summary` - median and p95 of stage timings.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

Rle = dict[str, Any]


def encode_masks(masks: Sequence[np.ndarray]) -> list[Rle]:
    """Return pycocotools RLEs (bytes ``counts``) of boolean masks, for :func:`iou_matrix`."""
    from pycocotools import mask as mask_utils

    return [mask_utils.encode(np.asfortranarray(np.asarray(m, dtype=np.uint8))) for m in masks]


def iou_matrix(predicted: Sequence[Any], ground_truth: Sequence[Any]) -> np.ndarray:
    """Return the ``(n_pred, n_gt)`` IoU of every predicted mask with every ground-truth mask.

    Args:
        predicted: Boolean ``(H, W)`` masks or pycocotools RLEs.
        ground_truth: Same, all of the same image size.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((4, 4), bool); a[:2] = True
        >>> b = np.zeros((4, 4), bool); b[:, :2] = True
        >>> iou_matrix([a], [a, b]).round(3).tolist()
        [[1.0, 0.333]]
    """
    from pycocotools import mask as mask_utils

    if len(predicted) == 0 or len(ground_truth) == 0:
        return np.zeros((len(predicted), len(ground_truth)), dtype=np.float64)
    pred = [p if isinstance(p, dict) else encode_masks([p])[0] for p in predicted]
    gt = [g if isinstance(g, dict) else encode_masks([g])[0] for g in ground_truth]
    return np.asarray(mask_utils.iou(pred, gt, [0] * len(gt)), dtype=np.float64).reshape(
        len(pred), len(gt)
    )


def greedy_match(iou: np.ndarray, threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """Pair predictions with ground truths greedily, highest IoU first, one-to-one.

    Returns:
        ``(pred_index, gt_index, iou)`` for every pair with ``iou >= threshold``.

    Example:
        >>> import numpy as np
        >>> greedy_match(np.array([[0.9, 0.6], [0.7, 0.2]]))
        [(0, 0, 0.9)]
    """
    iou = np.asarray(iou, dtype=np.float64)
    if iou.size == 0:
        return []
    order = np.argsort(-iou, axis=None, kind="stable")
    used_pred: set[int] = set()
    used_gt: set[int] = set()
    pairs = []
    for flat in order:
        p, g = divmod(int(flat), iou.shape[1])
        value = float(iou[p, g])
        if value < threshold:
            break
        if p in used_pred or g in used_gt:
            continue
        used_pred.add(p)
        used_gt.add(g)
        pairs.append((p, g, value))
    return pairs


def mean_ci(
    values: Sequence[float],
    confidence: float = 0.95,
    bounds: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Return the mean of ``values`` and its Student-t confidence interval.

    Args:
        values: One value per seed (``None`` entries are skipped).
        confidence: Coverage of the interval.
        bounds: Clip the interval to these limits (``(0, 1)`` for proportions).

    Returns:
        ``{"mean", "low", "high", "n"}``; ``low``/``high`` are ``None`` with fewer than 2 values
        and ``mean`` is ``None`` with none.

    Example:
        >>> r = mean_ci([0.7, 0.8, 0.9])
        >>> round(r["mean"], 3), round(r["low"], 3), round(r["high"], 3)
        (0.8, 0.552, 1.048)
    """
    from scipy import stats

    data = np.asarray([v for v in values if v is not None], dtype=np.float64)
    n = int(data.size)
    if n == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    mean = float(data.mean())
    if n < 2:
        return {"mean": mean, "low": None, "high": None, "n": n}
    sem = float(data.std(ddof=1)) / np.sqrt(n)
    if sem == 0.0:
        return {"mean": mean, "low": mean, "high": mean, "n": n}
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return {"mean": mean, "low": float(low), "high": float(high), "n": n}


def paired_difference(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95
) -> dict[str, Any]:
    """Return :func:`mean_ci` of ``a[i] - b[i]``: the margin of ``a`` over ``b`` on shared seeds.

    Example:
        >>> round(paired_difference([0.8, 0.9, 0.85], [0.7, 0.8, 0.76])["mean"], 3)
        0.097
    """
    if len(a) != len(b):
        raise ValueError(f"paired values differ in length: {len(a)} and {len(b)}")
    return mean_ci([float(x) - float(y) for x, y in zip(a, b)], confidence)


def nn_agreement(
    embeddings: np.ndarray,
    labels: Sequence[str],
    groups: Sequence[str] | None = None,
) -> float | None:
    """Return how often an embedding's nearest neighbour (cosine) has the same label.

    Args:
        embeddings: ``(n, d)`` vectors (normalised here).
        labels: The label of each row.
        groups: Optional group of each row (e.g. the source object); neighbours of the same group
            are skipped, so two pastes of one photo do not count as agreement.

    Returns:
        The fraction in ``[0, 1]``, or ``None`` when no row has a neighbour.

    Example:
        >>> import numpy as np
        >>> e = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
        >>> nn_agreement(e, ["a", "a", "b", "a"])
        0.5
    """
    from sam_detect.embedding.base import l2_normalise

    vectors = l2_normalise(embeddings)
    n = len(vectors)
    if n < 2:
        return None
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    if groups is not None:
        group_arr = np.asarray(groups)
        sims[group_arr[:, None] == group_arr[None, :]] = -np.inf
    best = np.argmax(sims, axis=1)
    has_neighbour = np.isfinite(sims[np.arange(n), best])
    if not has_neighbour.any():
        return None
    label_arr = np.asarray(labels)
    agree = label_arr[best] == label_arr
    return float(agree[has_neighbour].mean())


def silhouette_cosine(embeddings: np.ndarray, labels: Sequence[str]) -> float | None:
    """Return the mean silhouette coefficient with cosine distance, in ``[-1, 1]``.

    Positive: rows are closer to their own label than to the nearest other label; negative: the
    labels are mixed. ``None`` when it is undefined (fewer than 2 labels, or one row per label).

    Example:
        >>> import numpy as np
        >>> e = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
        >>> silhouette_cosine(e, ["a", "a", "b", "b"]) > 0.8
        True
    """
    from sklearn.metrics import silhouette_score

    n_labels = len(set(labels))
    if n_labels < 2 or n_labels >= len(labels):
        return None
    return float(silhouette_score(np.asarray(embeddings), np.asarray(labels), metric="cosine"))


def latency_summary(values_ms: Sequence[float]) -> dict[str, Any]:
    """Return ``{"median", "p95", "n"}`` of stage timings in milliseconds.

    Example:
        >>> latency_summary([1.0, 2.0, 3.0, 4.0, 100.0])["median"]
        3.0
    """
    data = np.asarray(list(values_ms), dtype=np.float64)
    if data.size == 0:
        return {"median": None, "p95": None, "n": 0}
    median, p95 = np.percentile(data, [50, 95])
    return {"median": float(median), "p95": float(p95), "n": int(data.size)}


def reliability(confidences: Sequence[float], correct: Sequence[bool],
                bins: int = 10) -> tuple[float | None, list[dict[str, float]]]:
    """Return the expected calibration error and the reliability bins of labelled answers.

    ECE is the count-weighted mean of ``|accuracy - mean confidence|`` over equal-width
    confidence bins.

    Returns:
        ``(ece, bins)``; each bin is ``{"low", "high", "confidence", "accuracy", "count"}``
        (empty bins are left out). ``ece`` is None without answers.

    Example:
        >>> ece, table = reliability([0.9, 0.9, 0.2, 0.2], [True, True, False, True], bins=5)
        >>> round(ece, 3), [b["count"] for b in table]
        (0.2, [2, 2])
    """
    conf = np.asarray(confidences, np.float64)
    hits = np.asarray(correct, bool)
    if not len(conf):
        return None, []
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        members = index == b
        if not members.any():
            continue
        mean_conf, accuracy = float(conf[members].mean()), float(hits[members].mean())
        ece += members.sum() / len(conf) * abs(accuracy - mean_conf)
        table.append({"low": float(edges[b]), "high": float(edges[b + 1]),
                      "confidence": mean_conf, "accuracy": accuracy,
                      "count": int(members.sum())})
    return float(ece), table


def unknown_roc(known_scores: Sequence[float], unknown_scores: Sequence[float],
                points: int = 41) -> dict[str, Any]:
    """Return the ROC of calling an object unknown when its open-set score is below a threshold.

    Args:
        known_scores: Scores of taught categories' queries (higher: more surely known; ``-inf``
            when rejected whatever the threshold).
        unknown_scores: Scores of never-taught categories' instances.
        points: Thresholds sampled between the scores' quantiles.

    Returns:
        ``{"threshold": [...], "false_unknown": [...], "unknown_rejection": [...], "auc"}``;
        ``auc`` is the probability that a never-taught instance scores below a known one.

    Example:
        >>> roc = unknown_roc([0.5, 0.6], [0.1, 0.2], points=3)
        >>> roc["auc"]
        1.0
    """
    known = np.asarray(known_scores, np.float64)
    unknown = np.asarray(unknown_scores, np.float64)
    if not len(known) or not len(unknown):
        return {}
    finite = np.concatenate([known, unknown])
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return {}
    thresholds = np.unique(np.quantile(finite, np.linspace(0, 1, points)))
    thresholds = np.concatenate([[-np.inf], thresholds, [np.inf]])
    below_known = [(known < t).mean() for t in thresholds]
    below_unknown = [(unknown < t).mean() for t in thresholds]
    greater = (unknown[:, None] < known[None, :]).mean()
    ties = (unknown[:, None] == known[None, :]).mean()
    return {"threshold": [None if not np.isfinite(t) else float(t) for t in thresholds],
            "false_unknown": [float(v) for v in below_known],
            "unknown_rejection": [float(v) for v in below_unknown],
            "auc": float(greater + 0.5 * ties)}
