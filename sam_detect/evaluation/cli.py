# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The evaluation commands: ``evaluate``, ``make-benchmark``, ``bench`` and ``dashboard``.

Each ``*_main(argv)`` parses its own flags and returns an exit status; user errors are raised as
:class:`~sam_detect.errors.SamDetectError`, which ``sam-detect`` prints as one line with status 2.
``bench`` returns 1 when it flags a regression against the previous results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from sam_detect.errors import SamDetectError

DEFAULT_RESULTS = "bench-results.jsonl"


def _parse_shots(text: str) -> list[int]:
    try:
        shots = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise SamDetectError(f"--shots must be comma-separated integers like 1,3,5,10, "
                             f"got '{text}'") from None
    if not shots or shots[0] < 1:
        raise SamDetectError(f"--shots must be positive integers, got '{text}'")
    return shots


def _names(text: str | None) -> list[str] | None:
    return [v.strip() for v in text.split(",") if v.strip()] if text else None


def format_report(report: Any) -> str:
    """Return a human-readable summary of an :class:`~sam_detect.evaluation.EvaluationReport`.

    A report read back from JSON (a dict) is accepted too.
    """
    from sam_detect.evaluation.report import EvaluationReport

    if isinstance(report, dict):
        report = EvaluationReport.from_dict(report)
    config, dataset = report.config, report.dataset
    kind = dataset.get("kind") or "category"
    split = f", {dataset['split']} split" if dataset.get("split") else ""
    labels = "objects taught or never taught" if kind == "instance" else "categories"
    lines = [
        f"dataset {dataset['path']} ({kind} level{split}): {dataset['images']} images, "
        f"{dataset['instances']} objects, {len(dataset['categories'])} {labels}",
        f"segmenter {config['segmenter']}, embedder {config['embedder']}, fade {config['fade']}, "
        f"store {config['store']}, {config['seeds']} seeds, {config.get('held_out', 0)} "
        f"{'objects' if kind == 'instance' else 'categories'} held out"
        + (f" + {len(config['never_taught'])} never taught by the dataset"
           if config.get("never_taught") else "")
        + (f"; taught from {config['support']}" if config.get("support") else ""),
    ]
    if dataset.get("dropped_annotations"):
        lines.append(f"dropped {dataset['dropped_annotations']} annotation(s) whose image is not "
                     "in the dataset's images")
    seg = report.segmentation
    if seg:
        lines.append(f"segmentation: recall@IoU{config['iou_threshold']} {seg['recall']:.3f}, "
                     f"mean IoU {seg['mean_iou'] or 0:.3f}, precision {seg['precision'] or 0:.3f},"
                     f" {seg['segments_per_image']:.1f} segments/image")
        if seg.get("recall_by_background"):
            lines.append("  recall by background: " + ", ".join(
                f"{k} {v:.2f}" for k, v in seg["recall_by_background"].items()))
    if report.few_shot:
        lines.append("shots  accuracy [95% CI]       class-avg              end-to-end"
                     "             unknown-rejection      false-unknown")
        for row in report.few_shot:
            lines.append(f"{row.shots:<6} {str(row.metric('accuracy')):<23} "
                         f"{str(row.metric('class_averaged')):<22} "
                         f"{str(row.metric('end_to_end')):<22} "
                         f"{str(row.metric('unknown_rejection')):<22} "
                         f"{row.metric('false_unknown')}")
        lines.append("shots  one taught: others unknown  one taught: recognised  "
                     "ECE                    AUROC(unknown)")
        for row in report.few_shot:
            auc = row.unknown_roc.get("auc")
            lines.append(f"{row.shots:<6} {str(row.metric('one_taught_others_unknown')):<28} "
                         f"{str(row.metric('one_taught_recognised')):<23} "
                         f"{str(row.metric('ece')):<22} {'-' if auc is None else f'{auc:.3f}'}")
    quality = report.embedding_quality
    if quality:
        nn, silhouette = quality.get("nn_agreement"), quality.get("silhouette")
        lines.append("embedding quality: nn-agreement "
                     f"{'-' if nn is None else f'{nn:.3f}'}, silhouette (cosine) "
                     f"{'-' if silhouette is None else f'{silhouette:.3f}'}")
    latency = report.latency_ms
    if latency:
        lines.append("latency ms (median/p95): " + ", ".join(
            f"{stage} {v['median']:.1f}/{v['p95']:.1f}" for stage, v in latency.items()
            if isinstance(v, dict) and v.get("median") is not None))
    return "\n".join(lines)


def evaluate_parser() -> argparse.ArgumentParser:
    """Return the parser of ``sam-detect evaluate``."""
    from sam_detect.cli import add_detector_arguments, CommandParser

    parser = CommandParser(
        prog="sam-detect evaluate",
        description="Few-shot evaluation on a COCO dataset: segmentation recall, accuracy "
                    "given a correct segment, end-to-end accuracy, unknown rejection and false "
                    "unknown, one category taught at a time, calibration (ECE) and the ROC of "
                    "unknown, embedding quality and per-stage latency.")
    parser.add_argument("dataset", help="COCO dataset folder (annotations.json + images/), "
                                        "the JSON file, or a make-benchmark --hard folder "
                                        "(both splits are evaluated, tune then validation), or "
                                        "tracking sequences (sequences.json)")
    parser.add_argument("--shots", default="1,3,5,10", help="examples taught per category")
    parser.add_argument("--seeds", type=int, default=5, help="random support/query splits")
    parser.add_argument("--held-out", type=int, default=0,
                        help="categories never taught, to measure unknown rejection (a hard "
                             "benchmark's distractor categories are never taught anyway)")
    parser.add_argument("--metrics", help="comma-separated subset: segmentation, classification,"
                                          " unknown, end_to_end, embedding_quality, latency")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU for a segment to match")
    parser.add_argument("--max-images", type=int, help="use only the first N images")
    parser.add_argument("--latency-images", type=int, default=10,
                        help="images timed through detect()")
    parser.add_argument("--seed", type=int, default=0, help="base random seed")
    parser.add_argument("--store", choices=("memory", "edge"), default="memory",
                        help="scratch store for the taught examples (emptied after)")
    parser.add_argument("--json", metavar="OUT",
                        help="write the full report as JSON ('-': stdout); for a --hard folder "
                             "one file per split: OUT_tune.json and OUT_validation.json")
    parser.add_argument("--min-confidence", type=float, default=0.0,
                        help="tracking sequences: count only labelled instances with at least "
                             "this confidence")
    parser.add_argument("--truth-masks", action="store_true",
                        help="tracking sequences: key frames get the ground-truth masks, to "
                             "measure the tracker apart from the segmenter")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_detector_arguments(parser)
    return parser


def evaluate_main(argv: Sequence[str]) -> int:
    """Run ``sam-detect evaluate``; return the exit status."""
    from sam_detect.cli import build_detector
    from sam_detect.evaluation.evaluator import evaluate
    from sam_detect.evaluation.sweep import git_commit, machine_info
    from sam_detect.vector_store import open_store

    args = evaluate_parser().parse_args(list(argv))
    if (Path(args.dataset) / "sequences.json").is_file():
        return _evaluate_tracking(args)
    splits = benchmark_splits(args.dataset)
    reports = []
    for split, dataset in splits:
        with tempfile.TemporaryDirectory(prefix="sam-detect-eval-") as tmp:
            store = open_store(args.store, path=str(Path(tmp) / "store")
                               if args.store == "edge" else None)
            detector = build_detector(args, store=store)
            try:
                report = evaluate(
                    detector, dataset, metrics=_names(args.metrics),
                    shots=_parse_shots(args.shots), seeds=args.seeds, held_out=args.held_out,
                    iou_threshold=args.iou, latency_images=args.latency_images,
                    max_images=args.max_images, seed=args.seed,
                    progress=not args.quiet and sys.stderr.isatty())
            finally:
                detector.close()
        report.stamp = {"commit": git_commit(), "machine": machine_info(),
                        "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        reports.append((split, report))
    if args.json == "-":
        documents = [report.to_dict() for _, report in reports]
        print(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
        return 0
    for split, report in reports:
        if split:
            print(f"== {split} split ==")
        print(format_report(report))
        if args.json:
            target = Path(args.json)
            if split:  # one file per split: report.json -> report_tune.json, ...
                target = target.with_name(f"{target.stem}_{split}{target.suffix or '.json'}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
            print(f"report written to {target}")
    return 0


def _evaluate_tracking(args: argparse.Namespace) -> int:
    """Evaluate tracking on ``make-benchmark --sequences`` output: IDF1, id switches, flips."""
    from sam_detect.cli import build_detector
    from sam_detect.evaluation.sweep import git_commit, machine_info
    from sam_detect.evaluation.tracking import evaluate_tracking, format_tracking_report
    from sam_detect.vector_store import open_store

    with tempfile.TemporaryDirectory(prefix="sam-detect-eval-") as tmp:
        store = open_store(args.store, path=str(Path(tmp) / "store")
                           if args.store == "edge" else None)
        detector = build_detector(args, store=store)
        try:
            report = evaluate_tracking(detector, Path(args.dataset) / "sequences.json",
                                       iou_threshold=args.iou,
                                       min_confidence=args.min_confidence,
                                       truth_masks=args.truth_masks,
                                       progress=not args.quiet and sys.stderr.isatty())
        finally:
            detector.close()
    report.update(commit=git_commit(), machine=machine_info(),
                  date=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if args.json == "-":
        print(json.dumps(report, indent=2))
        return 0
    print(format_tracking_report(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"report written to {args.json}")
    return 0


def benchmark_splits(path: str) -> list[tuple[str | None, str]]:
    """Return ``[(split, dataset path)]``: a hard benchmark's root stands for its two splits.

    ``make-benchmark --hard OUT`` writes ``OUT/tune`` and ``OUT/validation``; given ``OUT``
    (without an ``annotations.json`` of its own), both are evaluated, tune first. Any other path
    is one dataset with no split name.

    Example:
        >>> benchmark_splits("bench/easy/annotations.json")
        [(None, 'bench/easy/annotations.json')]
    """
    root = Path(path)
    if root.is_dir() and not (root / "annotations.json").exists():
        found = [(split, str(root / split)) for split in ("tune", "validation")
                 if (root / split / "annotations.json").is_file()]
        if found:
            return found
    return [(None, path)]


def make_benchmark_parser() -> argparse.ArgumentParser:
    """Return the parser of ``sam-detect make-benchmark``."""
    from sam_detect.cli import CommandParser

    parser = CommandParser(
        prog="sam-detect make-benchmark",
        description="Build a COCO few-shot benchmark: photographic tuxpaint stamps (their alpha "
                    "is the mask) pasted on real textures. Needs the Debian package "
                    "tuxpaint-stamps-default (or SAM_DETECT_STAMPS_DIR).")
    parser.add_argument("out", help="output folder (images/ and annotations.json)")
    parser.add_argument("--images", type=int, default=120, help="number of images")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    parser.add_argument("--min-per-class", type=int, default=10,
                        help="least photographic stamps a category needs")
    parser.add_argument("--size", default="640x480", help="image size WxH")
    parser.add_argument("--objects-per-image", default="2-5",
                        help="range a-b of objects per image (each --hard split has its own)")
    parser.add_argument("--stamps-dir", help="stamps folder (default $SAM_DETECT_STAMPS_DIR or "
                                             "/usr/share/tuxpaint/stamps)")
    parser.add_argument("--sequences", type=int, default=0,
                        help="instead of images: N tracking sequences (moving, occluding, "
                             "leaving and returning objects with ground-truth ids)")
    parser.add_argument("--frames", type=int, default=60, help="frames per sequence")
    parser.add_argument("--hard", action="store_true",
                        help="cluttered robot-like scenes (distractors, overlap, shadows, blur, "
                             "noise, photo/patchwork/stripe backgrounds) written as two splits: "
                             "OUT/tune (tune on it) and OUT/validation (report on it)")
    parser.add_argument("--split", choices=("tune", "validation", "both"), default="both",
                        help="with --hard or --instance: which split(s) to write")
    parser.add_argument("--instance", action="store_true",
                        help="instance-level benchmark: each label is ONE photographed object, "
                             "taught from its teaching pictures and asked in cluttered scenes "
                             "under scale, rotation, mirror, lighting, blur, occlusion and edge "
                             "cuts; written as OUT/tune and OUT/validation with disjoint objects "
                             "(--images is scenes per split)")
    parser.add_argument("--taught-objects", type=int, default=16,
                        help="with --instance: objects taught per split")
    parser.add_argument("--never-taught", type=int, default=8,
                        help="with --instance: never-taught objects per split, half of them of "
                             "a taught object's kind (another apple)")
    parser.add_argument("--teach-views", type=int, default=5,
                        help="with --instance: teaching pictures per taught object")
    parser.add_argument("--unseen-categories", type=int, default=None, metavar="N",
                        help="with --hard: few-shot categories held out of tune (validation "
                             "only; default a quarter of them); the splits never share a photo")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def make_benchmark_main(argv: Sequence[str]) -> int:
    """Run ``sam-detect make-benchmark``; return the exit status."""
    from sam_detect.evaluation.benchmark import make_benchmark, parse_range, parse_size

    args = make_benchmark_parser().parse_args(list(argv))
    if args.hard and args.instance:
        raise SamDetectError("choose one of --hard (category level) and --instance")
    if args.hard:
        return _make_hard_benchmark(args)
    if args.instance:
        return _make_instance_benchmark(args)
    if args.sequences:
        from sam_detect.evaluation.sequences import make_sequences

        summary = make_sequences(
            args.out, sequences=args.sequences, frames=args.frames, seed=args.seed,
            size=parse_size(args.size), min_per_class=args.min_per_class,
            stamps_root=args.stamps_dir, progress=not args.quiet and sys.stderr.isatty())
        print(f"wrote {summary['sequences']} sequences, {summary['frames']} frames, to "
              f"{args.out}")
        return 0
    summary = make_benchmark(
        args.out, images=args.images, seed=args.seed, min_per_class=args.min_per_class,
        size=parse_size(args.size), objects_per_image=parse_range(args.objects_per_image),
        stamps_root=args.stamps_dir, progress=not args.quiet and sys.stderr.isatty())
    print(f"wrote {summary['images']} images with {summary['instances']} objects of "
          f"{len(summary['categories'])} categories ({summary['stamps']} photographic stamps) "
          f"to {args.out}")
    print("objects per category: " + ", ".join(f"{k} {v}"
                                               for k, v in summary["per_category"].items()))
    return 0


def _make_hard_benchmark(args: argparse.Namespace) -> int:
    from sam_detect.evaluation.benchmark import parse_size
    from sam_detect.evaluation.hard_benchmark import make_hard_benchmark

    splits = ("tune", "validation") if args.split == "both" else (args.split,)
    summaries = make_hard_benchmark(
        args.out, images=args.images, seed=args.seed, splits=splits,
        min_per_class=args.min_per_class, size=parse_size(args.size),
        stamps_root=args.stamps_dir, progress=not args.quiet and sys.stderr.isatty(),
        unseen_categories=args.unseen_categories)
    for split, summary in summaries.items():
        print(f"{split}: wrote {summary['images']} images with {summary['instances']} objects "
              f"of {len(summary['categories'])} categories from {summary['stamps']} photos "
              f"({summary['distractor_instances']} distractors of "
              f"{len(summary['distractor_categories'])} never-taught categories) to "
              f"{Path(summary['path']).parent}")
        print("  backgrounds: " + ", ".join(f"{k} {v}" for k, v in summary["backgrounds"].items()))
    unseen = next(iter(summaries.values()))["unseen_categories"]
    print("no photo is in both splits; categories in validation only: "
          + (", ".join(unseen) or "none"))
    return 0


def _make_instance_benchmark(args: argparse.Namespace) -> int:
    from sam_detect.evaluation.benchmark import parse_size
    from sam_detect.evaluation.instance_benchmark import make_instance_benchmark

    splits = ("tune", "validation") if args.split == "both" else (args.split,)
    summaries = make_instance_benchmark(
        args.out, images=args.images, seed=args.seed, splits=splits,
        min_per_class=args.min_per_class, size=parse_size(args.size),
        stamps_root=args.stamps_dir, taught_objects=args.taught_objects,
        never_taught=args.never_taught, teach_views=args.teach_views,
        unseen_categories=args.unseen_categories,
        progress=not args.quiet and sys.stderr.isatty())
    for split, summary in summaries.items():
        views = summary["views_per_object"]
        print(f"{split}: wrote {summary['scenes']} scenes and {summary['teach_images']} teaching "
              f"pictures ({summary['instances']} objects) to {Path(summary['path']).parent}")
        print(f"  {len(summary['taught_objects'])} taught objects, "
              f"{len(summary['never_taught_objects'])} never taught "
              f"({len(summary['same_kind_never_taught'])} of a taught object's kind), "
              f"{len(summary['kinds'])} kinds; scene views per object {views['min']}-"
              f"{views['max']} (mean {views['mean']})")
        print("  views with: " + ", ".join(f"{k} {v}" for k, v in summary["transforms"].items()))
    print("tune and validation share no object")
    return 0


def default_benchmark(images: int, seed: int = 0) -> Path:
    """Return the benchmark ``bench`` uses without ``--dataset`` (built once, then cached)."""
    from sam_detect.evaluation.benchmark import make_benchmark

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "sam_detect" / f"benchmark-{images}-seed{seed}"
    if not (folder / "annotations.json").is_file():
        print(f"building the benchmark in {folder} (once)", file=sys.stderr)
        make_benchmark(folder, images=images, seed=seed)
    return folder


def bench_parser() -> argparse.ArgumentParser:
    """Return the parser of ``sam-detect bench``."""
    from sam_detect.cli import CommandParser

    parser = CommandParser(
        prog="sam-detect bench",
        description="Sweep fade strategies x embedders (memory store) and stores (default fade), "
                    "append one JSON line per combination, print a table and compare with the "
                    "previous results. Exit status 1 when a regression is flagged.")
    parser.add_argument("--dataset", help="COCO dataset (default: a cached make-benchmark "
                                          "dataset, 120 images or 24 with --quick)")
    parser.add_argument("--out", default=DEFAULT_RESULTS, help="JSON-lines file to append to")
    parser.add_argument("--previous", help="results to compare with (default: the rows already "
                                           "in --out)")
    parser.add_argument("--threshold", type=float, default=0.1,
                        help="relative accuracy drop or latency rise that is a regression")
    parser.add_argument("--quick", action="store_true",
                        help="small run for CI: 24 images, 2 seeds, 2 timed images")
    parser.add_argument("--embedders", help="comma-separated (default: average and efficientnet "
                                            "if installed)")
    parser.add_argument("--fades", help="comma-separated fade names (default: all: identity, "
                                        "hard_crop, gaussian_s10/20/30/50, linear, exponential)")
    parser.add_argument("--stores", default="memory,edge", help="comma-separated store kinds")
    parser.add_argument("--seeds", type=int, help="splits per evaluation (default 5, quick 2)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return parser


def bench_main(argv: Sequence[str]) -> int:
    """Run ``sam-detect bench``; return 0, or 1 when a regression is flagged."""
    from sam_detect.evaluation.sweep import (
        FADE_SWEEP,
        append_rows,
        fade_margins,
        find_regressions,
        format_margins,
        format_regressions,
        format_table,
        read_rows,
        run_sweep,
    )

    args = bench_parser().parse_args(list(argv))
    if args.threshold <= 0:
        raise SamDetectError(f"--threshold must be positive, got {args.threshold}")
    fades = FADE_SWEEP
    if args.fades:
        known = {f.name: f for f in FADE_SWEEP}
        unknown = [n for n in _names(args.fades) or [] if n not in known]
        if unknown:
            raise SamDetectError(f"unknown fade {unknown[0]}; choose from {', '.join(known)}")
        fades = tuple(known[n] for n in _names(args.fades) or [])
    stores = _names(args.stores) or ["memory"]
    for store in stores:
        if store not in ("memory", "edge", "qdrant"):
            raise SamDetectError(f"unknown store '{store}'; choose memory or edge")
    dataset = Path(args.dataset) if args.dataset else default_benchmark(24 if args.quick else 120)
    previous_path = Path(args.previous) if args.previous else Path(args.out)
    if args.previous and not previous_path.is_file():
        raise SamDetectError(f"--previous {previous_path} not found")
    previous = read_rows([previous_path]) if previous_path.is_file() else []

    def log(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    rows = run_sweep(
        dataset, fades=fades, embedders=_names(args.embedders), stores=stores,
        seeds=args.seeds or (2 if args.quick else 5),
        max_images=24 if args.quick and args.dataset else None,
        latency_images=2 if args.quick else 10, log=log)
    append_rows(args.out, rows)
    print(format_table(rows))
    margins = [m for m in fade_margins(rows) if m["fade"].startswith("gaussian")]
    if margins:
        print("Gaussian fade margins (paired over seeds, 95% CI):")
        print(format_margins(margins))
    print(f"{len(rows)} rows appended to {args.out}")
    regressions = find_regressions(rows, previous, args.threshold)
    if regressions:
        print(format_regressions(regressions))
        return 1
    return 0


def dashboard_parser() -> argparse.ArgumentParser:
    """Return the parser of ``sam-detect dashboard``."""
    from sam_detect.cli import CommandParser

    parser = CommandParser(
        prog="sam-detect dashboard",
        description="Write a static HTML dashboard (index.html + PNG plots, works offline) from "
                    "bench results (sam-detect bench, bench/bench_stores.py --json, "
                    "bench/bench_gpu.py --json) or sam-detect evaluate --json reports.")
    parser.add_argument("results", nargs="+", help="JSON-lines result files")
    parser.add_argument("--out", default="site", help="output folder")
    parser.add_argument("--threshold", type=float, default=0.1,
                        help="relative change flagged as a regression on the page")
    return parser


def dashboard_main(argv: Sequence[str]) -> int:
    """Run ``sam-detect dashboard``; return the exit status."""
    from sam_detect.evaluation.dashboard import clean_rows, write_dashboard
    from sam_detect.evaluation.sweep import read_rows

    args = dashboard_parser().parse_args(list(argv))
    rows = read_rows(args.results)
    if not any(isinstance(row, dict) for row in rows):
        raise SamDetectError(f"no results in {', '.join(map(str, args.results))}: give the "
                             "files that sam-detect evaluate --json or sam-detect bench wrote")
    page = write_dashboard(rows, args.out, threshold=args.threshold)
    _, ignored = clean_rows(rows)
    if ignored:
        print(f"ignored {len(ignored)} field(s) of the wrong type: {'; '.join(ignored[:5])}"
              + (" ..." if len(ignored) > 5 else ""), file=sys.stderr)
    print(f"dashboard written to {page}")
    return 0
