# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
r"""Measure the self-fitting open-set decision per embedder, on one split (tune or validation).

Usage (from the repository root)::

    python bench/eval_open_set.py /work/data/hard/tune /work/data/instance/tune \\
        --embedders efficientnet,average,unseen --shots 1,3,5 --out bench/results/open_set

For each dataset and embedder, ``sam-detect evaluate``'s classification and unknown metrics are
measured (ground-truth masks: the decision, not the segmenter) and written as one report per
pair, ``<out>_<kind>_<split>_<embedder>.json``. ``unseen`` is EfficientNet-Lite0's vectors
under a fixed random rotation, registered under a name no table or code path knows: what any
new embedder gets. Embeddings are cached on disk (``--cache``), so settings can be compared
without embedding twice. ``--set name=value`` overrides a :class:`FitSettings` field: only ever
choose settings on a TUNE split.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

UNSEEN_NAME = "unseen-rotation-v1"


class RotatedEmbedder:
    """An embedder nobody has fitted anything for: another one's vectors, rotated.

    A rotation keeps every cosine, so a decision that fits itself must reach the same figures;
    one that reads a table by embedder name cannot.

    Args:
        base: The embedder whose vectors are rotated.
        seed: Seed of the random rotation.
        name: The name it is registered under.
    """

    def __init__(self, base: object, seed: int = 12345, name: str = UNSEEN_NAME) -> None:
        self.base = base
        self.name = name
        self.dim = int(base.dim)
        self.unknown_threshold = float(base.unknown_threshold)
        # what the vectors are, not what the embedder is called: a rotation keeps them
        # whitened on generic objects, and teaching-time views are views of the same crop
        self.whitened = bool(getattr(base, "whitened", False))
        self.teach_views = tuple(getattr(base, "teach_views", ()))
        gaussian = np.random.default_rng(seed).normal(size=(self.dim, self.dim))
        q, r = np.linalg.qr(gaussian)
        self.rotation = (q * np.sign(np.diag(r))).astype(np.float32)

    def embed(self, crops: list) -> np.ndarray:
        """Return the base embedder's unit vectors, rotated."""
        return np.asarray(self.base.embed(crops), np.float32) @ self.rotation

    def embed_views(self, crops: list) -> np.ndarray:
        """Return the base embedder's teaching-time views, rotated."""
        return np.asarray(self.base.embed_views(crops), np.float32) @ self.rotation


def build(kind: str, unknown_threshold: float | None = None) -> object:
    """Return a detector with the embedder ``kind`` (``unseen``: rotated EfficientNet)."""
    from sam_detect import SAMDetect

    if kind == "unseen":
        from sam_detect.embedding import create_embedder

        kind = RotatedEmbedder(create_embedder("efficientnet", device="cpu", log=None))
    return SAMDetect(embedder=kind, segmenter="naive", unknown_threshold=unknown_threshold)


def load_cache(path: Path) -> object:
    """Return the evaluation cache saved at ``path`` (a new one when there is none)."""
    from sam_detect.evaluation.core.evaluator import EvaluationCache

    cache = EvaluationCache()
    if path.exists():
        with open(path, "rb") as handle:
            cache.embeddings.update(pickle.load(handle))
    return cache


def save_cache(cache: object, path: Path) -> None:
    """Write the cache's embeddings to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        pickle.dump(cache.embeddings, handle)
    os.replace(temporary, path)


def rotate_cache(cache: object, base_name: str, embedder: RotatedEmbedder) -> None:
    """Add the rotated embedder's entries computed from the base embedder's (same crops)."""
    for key, vector in list(cache.embeddings.items()):
        if key[-2] == base_name:  # ground truth vectors and (views, dim) teaching views
            cache.embeddings[(*key[:-2], embedder.name, key[-1])] = vector @ embedder.rotation


def main(argv: list[str] | None = None) -> int:
    """Run the measurement; see the module docstring."""
    from sam_detect.classifier.open_set import FitSettings
    from sam_detect.evaluation import evaluate
    from sam_detect.evaluation.core.coco import CocoDataset
    from sam_detect.evaluation.core.instance_split import dataset_kind

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--embedders", default="efficientnet,average,unseen")
    parser.add_argument("--shots", default="1,3,5")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--held-out", type=int, default=None,
                        help="never-taught categories drawn per seed (default: 4 at category "
                             "level, 0 at instance level, where the dataset names them)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a FitSettings field (tune splits only)")
    parser.add_argument("--unknown-threshold", type=float, default=None,
                        help="the similarity floor (default: the embedder's)")
    parser.add_argument("--cache", default="/work/data/cache/openset/evalcache")
    parser.add_argument("--out", default=None, help="report prefix")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        name, value = item.split("=", 1)
        overrides[name] = type(getattr(FitSettings(), name))(value)
    settings = replace(FitSettings(), **overrides)
    shots = [int(k) for k in args.shots.split(",")]
    summary = []
    for dataset in args.datasets:
        info = CocoDataset(dataset).info
        kind = dataset_kind(info)
        split = Path(dataset).name
        held_out = args.held_out if args.held_out is not None else (4 if kind == "category"
                                                                    else 0)
        for name in args.embedders.split(","):
            detector = build(name, args.unknown_threshold)
            detector.open_set.settings = settings
            base = "efficientnet" if name == "unseen" else name
            cache_path = Path(f"{args.cache}_{kind}_{split}_{base}.pkl")
            cache = load_cache(cache_path)
            if name == "unseen":
                rotate_cache(cache, detector.embedder.base.name, detector.embedder)
            started = time.perf_counter()
            report = evaluate(detector, dataset, metrics=["classification", "unknown"],
                              shots=shots, seeds=args.seeds, held_out=held_out, cache=cache,
                              latency_images=0)
            if name != "unseen":
                save_cache(cache, cache_path)
            data = report.to_dict()
            data["config"]["open_set_settings"] = settings.__dict__
            data["config"]["split"] = split
            data["config"]["kind"] = kind
            if args.out:
                target = Path(f"{args.out}_{kind}_{split}_{name}.json")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(data, indent=1) + "\n")
            for row in data["few_shot"]:
                line = {"kind": kind, "split": split, "embedder": detector.embedder.name,
                        "shots": row["shots"]}
                for metric in ("accuracy", "unknown_rejection", "false_unknown", "ece",
                               "one_taught_others_unknown", "one_taught_recognised"):
                    value = row.get(metric)
                    line[metric] = None if value is None else round(value["mean"], 3)
                line["auroc"] = round((row.get("unknown_roc") or {}).get("auc") or 0.0, 3)
                line["precision"] = precision_at(row.get("reliability") or [], 0.0)
                line["precision_at_0.5"] = precision_at(row.get("reliability") or [], 0.5)
                line["kept_at_0.5"] = kept_at(row.get("reliability") or [], 0.5)
                summary.append(line)
                print(json.dumps(line), flush=True)
            print(f"# {name} on {dataset}: {time.perf_counter() - started:.0f} s", flush=True)
    return 0


def precision_at(bins: list, least: float) -> float | None:
    """Return the share right among answers with confidence >= ``least`` (reliability bins)."""
    kept = [b for b in bins if b.get("low", b.get("lower", 0.0)) >= least - 1e-9]
    count = sum(b.get("count", 0) for b in kept)
    if not count:
        return None
    return round(sum(b.get("accuracy", 0.0) * b.get("count", 0) for b in kept) / count, 3)


def kept_at(bins: list, least: float) -> float | None:
    """Return the share of answers with confidence >= ``least`` (reliability bins)."""
    total = sum(b.get("count", 0) for b in bins)
    kept = sum(b.get("count", 0) for b in bins if b.get("low", 0.0) >= least - 1e-9)
    return round(kept / total, 3) if total else None


if __name__ == "__main__":
    sys.exit(main())
