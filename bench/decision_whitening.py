#!/usr/bin/env python3
# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Does the open-set decision's own whitening help an embedder whose vectors are whitened already?

The decision (:mod:`sam_detect.classifier.open_set`) whitens similarities with the embedder's
generic-object reference set, for any embedder; ``efficientnet-lite0-whitened`` whitens its
vectors on generic objects itself. This script measures, on TUNE splits only, the default
detector (``efficientnet-lite0-whitened`` with its teaching views, hard crop) with the decision
whitening on the reference set and with the identity instead (raw cosines, no centring; what
the decision now does for an embedder that says ``whitened = True``):
unknown AUROC, never-taught rejected at false unknown, accuracy and ECE, ground-truth masks,
5 seeds. One evaluation cache serves both variants (the same vectors).

Run ``python bench/decision_whitening.py /work/data/hard/tune /work/data/instance/tune
--out bench/results/decision_whitening_tune.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sam_detect import SAMDetect  # noqa: E402
from sam_detect.evaluation.core.coco import CocoDataset  # noqa: E402
from sam_detect.evaluation.core.evaluator import EvaluationCache, evaluate  # noqa: E402
from sam_detect.evaluation.core.instance_split import dataset_kind  # noqa: E402

SHOTS = {"category": 5, "instance": 1}
HELD_OUT = {"category": 4, "instance": 0}


def figures(report: Any, shots: int) -> dict[str, float | None]:
    """Return the figures compared, at ``shots``."""
    row = report.row(shots)

    def mean(name: str) -> float | None:
        interval = row.metric(name)
        return None if interval is None else round(float(interval.mean), 4)

    return {"auroc": round(float(row.unknown_roc["auc"]), 4) if row.unknown_roc else None,
            "unknown_rejection": mean("unknown_rejection"),
            "false_unknown": mean("false_unknown"), "accuracy": mean("accuracy"),
            "ece": mean("ece")}


def main(argv: list[str] | None = None) -> int:
    """Measure both variants on each TUNE split; print and optionally write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", help="TUNE splits")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    cache = EvaluationCache()
    result: dict[str, Any] = {"split": "tune", "seeds": args.seeds, "results": {}}
    for path in args.datasets:
        kind = dataset_kind(CocoDataset(path).info)
        for variant in ("decision whitens", "no decision whitening"):
            with SAMDetect(segmenter="naive") as detector:  # ground-truth masks: no segments
                whiten = variant == "decision whitens"
                detector.open_set.whiten = lambda: whiten  # Whitening.fit, or .identity
                result["embedder"] = detector.embedder.name
                report = evaluate(detector, path, metrics=["classification", "unknown"],
                                  shots=[SHOTS[kind]], seeds=args.seeds,
                                  held_out=HELD_OUT[kind], cache=cache)
            result["results"].setdefault(f"{kind} {SHOTS[kind]} shot(s)", {})[variant] = \
                figures(report, SHOTS[kind])
            print(kind, variant, result["results"][f"{kind} {SHOTS[kind]} shot(s)"][variant],
                  flush=True)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
