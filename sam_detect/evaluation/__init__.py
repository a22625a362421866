# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Evaluation: COCO datasets, the few-shot benchmark builder, metrics, sweeps and dashboards.

The core that measures a detector (evaluator, metrics, report, coco) lives in
:mod:`sam_detect.evaluation.core`; this folder adds its front ends (the commands, the sweep,
the dashboard and the benchmark generators).

Example:
    >>> from sam_detect import SAMDetect
    >>> from sam_detect.evaluation import evaluate, make_benchmark
    >>> make_benchmark("benchmark/", images=120, seed=0)["instances"]  # doctest: +SKIP
    398
    >>> report = evaluate(SAMDetect(), "benchmark/", shots=[1, 5])  # doctest: +SKIP
    >>> report.segmentation["recall"], report.row(5).metric("accuracy").mean  # doctest: +SKIP
    (0.653, 0.72)
"""

from __future__ import annotations

from sam_detect.evaluation.core.coco import (
    CocoDataset, GroundTruth, annotation_from_mask, write_coco)
from sam_detect.evaluation.core.evaluator import (
    METRICS,
    EvaluationCache,
    Split,
    evaluate,
    resolve_metrics,
    split_instances,
)
from sam_detect.evaluation.benchmark import find_photo_stamps, make_benchmark
from sam_detect.evaluation.core.report import EvaluationReport, FewShotRow, Interval

__all__ = [
    "METRICS",
    "CocoDataset",
    "EvaluationCache",
    "EvaluationReport",
    "FewShotRow",
    "GroundTruth",
    "Interval",
    "Split",
    "annotation_from_mask",
    "evaluate",
    "find_photo_stamps",
    "make_benchmark",
    "resolve_metrics",
    "split_instances",
    "write_coco",
]
