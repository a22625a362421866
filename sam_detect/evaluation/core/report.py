# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The evaluation report as types: read attributes, write ``to_dict()`` (JSON-ready).

:func:`~sam_detect.evaluation.evaluate` returns an :class:`EvaluationReport`; the CLI prints it,
the sweep flattens it into result rows and the dashboard plots those rows. ``to_dict()`` gives
the JSON layout saved in ``bench/results`` (unchanged keys, new ones added), and
:meth:`EvaluationReport.from_dict` reads such a file back.

Example:
    >>> row = FewShotRow(shots=5, queries=40, metrics={"accuracy": Interval(0.8, 0.7, 0.9, 5)})
    >>> row.metric("accuracy").mean, row.to_dict()["accuracy"]["high"]
    (0.8, 0.9)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Interval:
    """A mean over seeds with its 95 % Student-t interval (``low``/``high`` None below 2 seeds)."""

    mean: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Interval:
        """Read ``{"mean", "low", "high", "n"}``; ``None`` gives an empty interval."""
        data = data or {}
        return cls(data.get("mean"), data.get("low"), data.get("high"), int(data.get("n") or 0))

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"mean", "low", "high", "n"}``."""
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n}

    def __str__(self) -> str:
        if self.mean is None:
            return "-"
        if self.low is None or self.high is None:
            return f"{self.mean:.3f}"
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


# Per-shot proportions, each an Interval over seeds.
PROPORTIONS = ("accuracy", "closed_set_accuracy", "class_averaged", "end_to_end",
               "closed_set_end_to_end", "unknown_rejection", "false_unknown",
               "one_taught_others_unknown", "one_taught_recognised", "ece")


@dataclass
class FewShotRow:
    """Results at one shot count.

    Attributes:
        shots: Examples taught per category.
        queries: Query instances of taught categories per seed (mean).
        metrics: Name (see :data:`PROPORTIONS`) -> interval over seeds.
        per_class: Category -> mean accuracy given a correct segment.
        reliability: Calibration bins of the labelled answers (``confidence``, ``accuracy``,
            ``count`` per bin), pooled over seeds.
        unknown_roc: The ROC of "unknown" over the open-set margin, pooled over seeds:
            ``false_unknown`` / ``unknown_rejection`` lists and ``auc``.
    """

    shots: int
    queries: int
    metrics: dict[str, Interval] = field(default_factory=dict)
    per_class: dict[str, float] = field(default_factory=dict)
    reliability: list[dict[str, float]] = field(default_factory=list)
    unknown_roc: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str) -> Interval:
        """Return the interval of ``name`` (an empty one when it was not measured)."""
        return self.metrics.get(name, Interval(None))

    def to_dict(self) -> dict[str, Any]:
        """Return the row as saved: ``shots``, ``queries``, each metric, ``per_class``..."""
        out: dict[str, Any] = {"shots": self.shots, "queries": self.queries}
        out.update({name: value.to_dict() for name, value in self.metrics.items()})
        if self.per_class:
            out["per_class"] = dict(self.per_class)
        if self.reliability:
            out["reliability"] = list(self.reliability)
        if self.unknown_roc:
            out["unknown_roc"] = dict(self.unknown_roc)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FewShotRow:
        """Read a saved row."""
        return cls(int(data["shots"]), int(data.get("queries") or 0),
                   {name: Interval.from_dict(data[name]) for name in PROPORTIONS
                    if isinstance(data.get(name), dict)},
                   dict(data.get("per_class") or {}), list(data.get("reliability") or []),
                   dict(data.get("unknown_roc") or {}))


@dataclass
class EvaluationReport:
    """Everything :func:`~sam_detect.evaluation.evaluate` measured.

    Attributes:
        dataset: ``path``, ``images``, ``instances``, ``categories``.
        config: The detector and evaluation settings.
        segmentation: ``recall``, ``mean_iou``, ``precision``, ``segments_per_image``...
        few_shot: One row per shot count.
        embedding_quality: ``nn_agreement``, ``silhouette``.
        latency_ms: Per stage ``{"median", "p95", "n"}`` and ``objects_per_image``.
        runs: Per seed and shot count values, for paired comparisons.
        elapsed_s: Wall time of the evaluation.
        stamp: Where it ran: ``commit``, ``machine``, ``date`` (set by the front ends).
    """

    dataset: dict[str, Any]
    config: dict[str, Any]
    segmentation: dict[str, Any] | None = None
    few_shot: list[FewShotRow] = field(default_factory=list)
    embedding_quality: dict[str, Any] | None = None
    latency_ms: dict[str, Any] | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float | None = None
    stamp: dict[str, Any] = field(default_factory=dict)

    def row(self, shots: int) -> FewShotRow | None:
        """Return the row of ``shots``, or None."""
        return next((r for r in self.few_shot if r.shots == shots), None)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready report (the layout ``sam-detect evaluate --json`` prints)."""
        out: dict[str, Any] = {"dataset": self.dataset, "config": self.config}
        if self.segmentation is not None:
            out["segmentation"] = self.segmentation
        if self.few_shot:
            out["few_shot"] = [row.to_dict() for row in self.few_shot]
            out["runs"] = self.runs
        if self.embedding_quality is not None:
            out["embedding_quality"] = self.embedding_quality
        if self.latency_ms is not None:
            out["latency_ms"] = self.latency_ms
        if self.elapsed_s is not None:
            out["elapsed_s"] = self.elapsed_s
        out.update(self.stamp)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationReport:
        """Read a report saved with :meth:`to_dict`."""
        return cls(dict(data.get("dataset") or {}), dict(data.get("config") or {}),
                   data.get("segmentation"),
                   [FewShotRow.from_dict(r) for r in data.get("few_shot") or []],
                   data.get("embedding_quality"), data.get("latency_ms"),
                   list(data.get("runs") or []), data.get("elapsed_s"),
                   {k: data[k] for k in ("commit", "machine", "date") if k in data})

    # Read-only mapping access for callers written against the dict report.
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """Return one top-level entry of :meth:`to_dict` (for callers of the dict report)."""
        return self.to_dict().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()
