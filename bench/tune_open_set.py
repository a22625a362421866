# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
r"""Fit the open-set confidence's three coefficients, and check the operating point, on TUNE.

Usage (from the repository root)::

    python bench/tune_open_set.py /work/data/hard/tune /work/data/instance/tune \\
        --embedder efficientnet --out bench/results/open_set_calibration_tune.json

Nothing here is per embedder: the decision fits itself to every store
(:mod:`sam_detect.classifier.open_set`). What this script fits once, for all embedders, is the
logistic model of ``confidence`` in the units the fit measures everything in (the embedder's
spread of scores): ``sigmoid(SLOPE * standing + BIAS + TIGHTNESS * tightness)``, pooled over
both kinds of teaching (category and instance level) and 1, 3 and 5 shots, on the answers the
shipped operating point accepts. It also prints, per dataset and shot count, the false unknown
and the rejection at the operating points ``--points`` (in scales), to choose
``FitSettings.operating_point``. Paste the coefficients into
``sam_detect/classifier/open_set.py``. Never run it on a validation split.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict

import numpy as np


def answers(detector: object, dataset_path: str, shots: list[int], seeds: int) -> list[dict]:
    """Teach and ask as ``sam-detect evaluate`` does; return one row per query."""
    from sam_detect.evaluation.core.coco import CocoDataset
    from sam_detect.evaluation.core.evaluator import draw_split
    from sam_detect.evaluation.core.instance_split import dataset_kind, teaching_images

    dataset = CocoDataset(dataset_path)
    kind = dataset_kind(dataset.info)
    instances = list(dataset.instances())
    by_image = defaultdict(list)
    for truth in instances:
        by_image[truth.image_id].append(truth)
    vectors = {}
    for image_id, truths in by_image.items():
        image = dataset.load_image(image_id)
        for truth, vector in zip(truths, detector.embed_masks(
                image, [dataset.mask(t.id) for t in truths])):
            vectors[truth.id] = vector
    category = {t.id: t.category for t in instances}
    never = list(dataset.info.get("distractor_categories") or [])
    rows = []
    for seed in range(seeds):
        split = draw_split(instances, max(shots), seed, 4 if kind == "category" else 0, never,
                           teaching_images(dataset) if kind == "instance" else None)
        for k in shots:
            for label in list(detector.labels()):
                detector.remove_label(label)
            for label, ids in split.support.items():
                detector.add_embeddings(np.stack([vectors[i] for i in ids[:k]]),
                                        [label] * len(ids[:k]))
            for ids, known in ((split.query, True), (split.unknown, False)):
                predictions = detector.classify(np.stack([vectors[i] for i in ids]))
                model = detector.open_set.current().model
                for i, p in zip(ids, predictions):
                    if p.candidate is None:
                        continue
                    score = p.margin + model.threshold
                    rows.append({"kind": kind, "shots": k, "known": known,
                                 "right": known and p.candidate == category[i],
                                 "accepted": p.label is not None,
                                 "standing": model.standing(score),
                                 "tightness": model.summary.get("tightness")})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the fit; see the module docstring."""
    from sklearn.linear_model import LogisticRegression

    from sam_detect import SAMDetect
    from sam_detect.classifier.open_set import FitSettings, TYPICAL_TIGHTNESS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", help="TUNE splits (category and instance level)")
    parser.add_argument("--embedder", default="efficientnet")
    parser.add_argument("--shots", default="1,3,5")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--points", default="-1,-0.75,-0.5,-0.25,0",
                        help="operating points to report, in scales")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    detector = SAMDetect(embedder=args.embedder, segmenter="naive")
    shots = [int(k) for k in args.shots.split(",")]
    rows = [row for path in args.datasets for row in answers(detector, path, shots, args.seeds)]
    operating = FitSettings().operating_point
    accepted = [r for r in rows if r["accepted"]]
    tightness = [TYPICAL_TIGHTNESS if r["tightness"] is None else r["tightness"]
                 for r in accepted]
    model = LogisticRegression(C=100.0).fit(
        np.column_stack([[r["standing"] for r in accepted], tightness]),
        [r["right"] for r in accepted])
    points = {}
    for kind in sorted({r["kind"] for r in rows}):
        for k in shots:
            mine = [r for r in rows if r["kind"] == kind and r["shots"] == k]
            known = np.array([r["standing"] for r in mine if r["known"]])
            unknown = np.array([r["standing"] for r in mine if not r["known"]])
            points[f"{kind} {k}"] = {
                p: {"false_unknown": round(float(np.mean(known < float(p))), 3),
                    "rejection": round(float(np.mean(unknown < float(p))), 3)}
                for p in args.points.split(",")}
    result = {"split": "tune", "datasets": args.datasets, "embedder": detector.embedder.name,
              "shots": shots, "seeds": args.seeds, "operating_point": operating,
              "SLOPE": round(float(model.coef_[0][0]), 3),
              "TIGHTNESS": round(float(model.coef_[0][1]), 3),
              "BIAS": round(float(model.intercept_[0]), 3),
              "answers": len(accepted), "points": points}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
