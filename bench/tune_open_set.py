# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Fit the open-set margin and the confidence calibration of one embedder on a TUNE split.

Usage (from the repository root)::

    python bench/tune_open_set.py /work/data/easy_tune --embedder efficientnet --shots 5

Ground-truth crops are embedded once; for several seeds ``--held-out`` categories are never
taught and ``--shots`` examples of the others are. Every query gets the open-set scores of
:class:`~sam_detect.classifier.KNNClassifier` (margin over generic objects, lead over the second
label, vote share). The margin is the largest that calls at most ``--max-false-unknown`` of the
taught categories' queries unknown (most rejection within that budget); the calibration is a
logistic fit of "the label is right" on the answers it accepts, pooled over
``--calibration-shots`` (a fit at one shot count is overconfident at others). Prints JSON to
paste into ``sam_detect/classifier/calibration.py`` (and writes it with ``--out``).
Never run it on a validation split.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    """Run the fit; see the module docstring."""
    from sam_detect import SAMDetect
    from sam_detect.classifier import Calibration
    from sam_detect.evaluation.core.evaluator import EvaluationCache, open_set_scores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--embedder", default="efficientnet")
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--held-out", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--calibration-shots", default="1,5,10",
                        help="shot counts whose answers the calibration is fitted on (pooled)")
    parser.add_argument("--max-false-unknown", type=float, default=0.10,
                        help="most known queries the margin may call unknown")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    detector = SAMDetect(embedder=args.embedder)
    detector.classifier.margin = -10.0  # record scores; decide afterwards
    cache = EvaluationCache()
    scores = open_set_scores(detector, args.dataset, shots=args.shots, seeds=args.seeds,
                             held_out=args.held_out, cache=cache)
    pooled = [s for k in sorted({int(v) for v in args.calibration_shots.split(",")})
              for s in (scores if k == args.shots else open_set_scores(
                  detector, args.dataset, shots=k, seeds=args.seeds, held_out=args.held_out,
                  cache=cache))]
    known = [s for s in scores if not s["never_taught"]]
    unknown = [s for s in scores if s["never_taught"]]

    def share_unknown(rows: list[dict], margin: float) -> float:
        return float(np.mean([s["label"] is None or s["margin"] < margin for s in rows]))

    # The largest margin that keeps the tune false-unknown within --max-false-unknown.
    candidates = sorted({round(float(s["margin"]), 4) for s in known if s["label"] is not None})
    margin = -1.0
    for value in candidates:
        if share_unknown(known, value) <= args.max_false_unknown:
            margin = value
    accepted = [s for s in pooled if s["label"] is not None and s["margin"] >= margin]
    calibration = Calibration.fit([s["margin"] for s in accepted],
                                  [s["lead"] for s in accepted],
                                  [s["share"] for s in accepted],
                                  [s["candidate"] == s["truth"] for s in accepted])
    result = {
        "benchmark": "open_set_tune", "split": "tune", "dataset": args.dataset,
        "embedder": detector.embedder.name,
        "shots": args.shots, "calibration_shots": args.calibration_shots,
        "held_out": args.held_out, "seeds": args.seeds,
        "margin": margin,
        "calibration": {"weights": list(calibration.weights), "bias": calibration.bias},
        "tune_unknown_rejection": share_unknown(unknown, margin),
        "tune_false_unknown": share_unknown(known, margin),
        "queries": {"known": len(known), "never_taught": len(unknown)},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
