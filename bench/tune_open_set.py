# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
r"""Fit the open-set confidence's four coefficients, and check the operating point, on TUNE.

Usage (from the repository root)::

    python bench/tune_open_set.py /work/data/hard/tune /work/data/instance/tune \\
        --embedders efficientnet,efficientnet-lite0 \\
        --out bench/results/open_set_calibration_tune.json

Nothing here is per embedder: the decision fits itself to every store
(:mod:`sam_detect.classifier.open_set`). What this script fits once, for all embedders, is the
logistic model of ``confidence`` in the units the fit measures everything in (the embedder's
spread of scores): ``sigmoid(SLOPE * standing + SIMILARITY * similarity + BIAS + TIGHTNESS *
tightness)``, pooled over both kinds of teaching (category and instance level), 1, 3 and 5
shots and the embedders named (the default and plain EfficientNet-Lite0: one whitened on
generic objects, one whitened by the decision), on the answers the shipped decision accepts.
It also prints, per embedder, dataset and shot count, the false unknown and the rejection of the
fitted score alone (without the ``unknown_threshold`` floor) at the operating points
``--points`` (in scales), to choose ``FitSettings.operating_point``. Paste the coefficients into
``sam_detect/classifier/open_set.py``. Never run it on a validation split.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def answers(detector: object, dataset_path: str, shots: list[int], seeds: int,
            cache: object) -> list[dict]:
    """Teach and ask as ``sam-detect evaluate`` does; return one row per query.

    Teaching stores what the evaluator stores (every teaching-time view of an example, under
    one ``"example"`` id, for an embedder with views), so the fit sees the stores users get.
    """
    from sam_detect.evaluation.core.coco import CocoDataset
    from sam_detect.evaluation.core.evaluator import _compute_vectors, _teach, draw_split
    from sam_detect.evaluation.core.instance_split import dataset_kind, teaching_images

    dataset = CocoDataset(dataset_path)
    kind = dataset_kind(dataset.info)
    instances = list(dataset.instances())
    computed = _compute_vectors(detector, dataset, instances, dataset.image_ids,
                                {"classification", "unknown"}, cache, 0.5, False)
    vectors, taught = computed.gt, {**computed.gt, **computed.teach}
    category = {t.id: t.category for t in instances}
    never = list(dataset.info.get("distractor_categories") or [])
    rows = []
    for seed in range(seeds):
        split = draw_split(instances, max(shots), seed, 4 if kind == "category" else 0, never,
                           teaching_images(dataset) if kind == "instance" else None)
        for k in shots:
            _teach(detector, split.support, taught, k)
            for ids, known in ((split.query, True), (split.unknown, False)):
                if not ids:
                    continue
                predictions = detector.classify(np.stack([vectors[i] for i in ids]))
                model = detector.open_set.current().model
                for i, p in zip(ids, predictions):
                    if p.candidate is None:
                        continue
                    rows.append({"kind": kind, "shots": k, "known": known,
                                 "embedder": detector.embedder.name,
                                 "right": known and p.candidate == category[i],
                                 "accepted": p.label is not None,
                                 "standing": model.standing(p.margin + model.threshold),
                                 "similarity": model.similarity_standing(p.similarity),
                                 "tightness": model.summary.get("tightness"),
                                 "above_floor": max(n.score for n in p.neighbours
                                                    if n.label == p.candidate)
                                 >= detector.unknown_threshold})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the fit; see the module docstring."""
    from sklearn.linear_model import LogisticRegression

    from eval_open_set import build, load_cache, save_cache

    from sam_detect.classifier.open_set import FitSettings, TYPICAL_TIGHTNESS
    from sam_detect.evaluation.core.coco import CocoDataset
    from sam_detect.evaluation.core.instance_split import dataset_kind

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", help="TUNE splits (category and instance level)")
    parser.add_argument("--embedders", default="efficientnet,efficientnet-lite0",
                        help="pooled: the coefficients must serve every embedder")
    parser.add_argument("--shots", default="1,3,5")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--points", default="-1,-0.75,-0.5,-0.375,-0.25,-0.125,0,0.25,0.5",
                        help="operating points to report, in scales")
    parser.add_argument("--cache", default="/work/data/cache/decision/evalcache",
                        help="embeddings cache prefix (shared with eval_open_set.py)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    shots = [int(k) for k in args.shots.split(",")]
    rows, names = [], []
    for name in args.embedders.split(","):
        detector = build(name)
        names.append(detector.embedder.name)
        for path in args.datasets:
            split = Path(path).name
            kind = dataset_kind(CocoDataset(path).info)
            cache_path = Path(f"{args.cache}_{kind}_{split}_{name}.pkl")
            cache = load_cache(cache_path)
            rows += answers(detector, path, shots, args.seeds, cache)
            save_cache(cache, cache_path)
    operating = FitSettings().operating_point
    accepted = [r for r in rows if r["accepted"]]
    tightness = [TYPICAL_TIGHTNESS if r["tightness"] is None else r["tightness"]
                 for r in accepted]
    model = LogisticRegression(C=100.0, max_iter=1000).fit(
        np.column_stack([[r["standing"] for r in accepted],
                         [r["similarity"] for r in accepted], tightness]),
        [r["right"] for r in accepted])
    points = {}
    for kind, embedder in sorted({(r["kind"], r["embedder"]) for r in rows}):
        for k in shots:
            mine = [r for r in rows if r["kind"] == kind and r["shots"] == k
                    and r["embedder"] == embedder]
            known = np.array([r["standing"] for r in mine if r["known"]])
            unknown = np.array([r["standing"] for r in mine if not r["known"]])
            floor = np.array([r["above_floor"] for r in mine])
            known_floor = np.where(floor[[r["known"] for r in mine]], known, -np.inf)
            unknown_floor = np.where(floor[[not r["known"] for r in mine]], unknown, -np.inf)
            # no candidate at all: unknown whatever the point (counted as rejected / false)
            points[f"{embedder} {kind} {k}"] = {
                p: {"false_unknown": round(float(np.mean(known < float(p))), 3),
                    "rejection": round(float(np.mean(unknown < float(p))), 3),
                    "false_unknown_with_floor": round(float(np.mean(known_floor < float(p))), 3),
                    "rejection_with_floor": round(float(np.mean(unknown_floor < float(p))), 3)}
                for p in args.points.split(",")}
    result = {"split": "tune", "datasets": args.datasets, "embedders": names,
              "shots": shots, "seeds": args.seeds, "operating_point": operating,
              "SLOPE": round(float(model.coef_[0][0]), 3),
              "SIMILARITY": round(float(model.coef_[0][1]), 3),
              "TIGHTNESS": round(float(model.coef_[0][2]), 3),
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
