# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A static metrics dashboard: one ``index.html`` and matplotlib PNGs, viewable offline.

Input rows come from JSON-lines files: ``sam-detect bench`` (``"benchmark": "eval"``),
``bench/bench_stores.py --json`` (``"benchmark": "store"``) and ``bench/bench_gpu.py --json``
(``"benchmark": "gpu"``); a ``sam-detect evaluate --json`` report is read as one eval row. The
page shows:

* per-stage latency (median) over commits, for the default fade on the memory store;
* accuracy per fade strategy at 1 and 5 shots with 95 % interval error bars (latest run);
* few-shot convergence: accuracy against shots, per fade (latest run);
* store search latency against the number of stored vectors;
* the ROC of "unknown" (never-taught categories rejected against taught ones called unknown) at
  5 shots, per dataset, with the targets marked;
* open-set results per dataset (hard vs easy, tune vs validation): accuracy, end-to-end,
  unknown rejection, false unknown, the one-category-taught pair and ECE, with intervals;
* the reliability diagram of ``confidence`` (share right per confidence bin) at 5 shots;
* tracking, when the results hold them (``bench/results/tracking_eval.json``: IDF1 and label
  flips per configuration against their targets; ``tracking_cpu.jsonl``: ms per frame tracked
  vs untracked per segmenter with the speed-up);
* category-level and instance-level figures side by side (``make-benchmark --hard`` and
  ``--instance`` reports), each with its split;
* tables of the latest results, regressions against the run before, and the rows of every other
  benchmark (GPU, stores, pipeline).

The page is a jinja2 template (``templates/dashboard.html``) rendered with autoescape: a results
file is data from anywhere, and none of its strings can become markup or script on the page.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from sam_detect.errors import require_extra
from sam_detect.evaluation.sweep import (
    DEFAULT_FADE,
    STAGES,
    TABLE_COLUMNS,
    find_regressions,
    table_cells,
)

STORE_SIZE_KEYS = ("size", "n", "vectors", "points", "count")
STORE_LATENCY_KEYS = ("p50_ms", "median_ms", "query_p50_ms", "search_p50_ms", "latency_ms")
PLOTS = ("latency_over_commits.png", "accuracy_by_fade.png", "few_shot_convergence.png",
         "store_latency.png", "unknown_roc.png", "open_set_by_dataset.png", "reliability.png")
TRACKING_PLOTS = ("tracking.png", "tracking_speed.png")
IDF1_TARGET = 0.90
FLIPS_TARGET = 1.0
SPEEDUP_TARGET = 3.0
SPEEDUP_KEYFRAME_INTERVAL = 5
GPU_GOAL = ("The 60 FPS GPU goal (1080p, 10 objects, SAM2-tiny + CLIP-B/32) was not measured: "
            "no GPU was lent to this session.")
OPEN_SET_SHOTS = 5
OPEN_SET_METRICS = (("accuracy", "accuracy"), ("end_to_end", "end-to-end"),
                    ("unknown_rejection", "unknown rejected"), ("false_unknown", "false unknown"),
                    ("one_taught_others_unknown", "one taught: others unknown"),
                    ("one_taught_recognised", "one taught: recognised"), ("ece", "ECE"))


def run_id(row: dict[str, Any]) -> tuple[str, str]:
    """Return ``(date, commit)``: the rows of one run share it."""
    return (str(row.get("date") or ""), str(row.get("commit") or "unknown"))


def _eval_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("benchmark") == "eval"]


def latest_run(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the eval rows of the most recent run."""
    evals = _eval_rows(rows)
    if not evals:
        return []
    last = max(run_id(r) for r in evals)
    return [r for r in evals if run_id(r) == last]


def _shot(row: dict[str, Any], shots: int, metric: str = "accuracy") -> dict[str, Any] | None:
    for entry in row.get("few_shot") or []:
        if entry.get("shots") == shots and isinstance(entry.get(metric), dict):
            return entry[metric]
    return None


def _error(entry: dict[str, Any] | None) -> tuple[float, float, float]:
    """Return ``(mean, lower error, upper error)`` of a mean/CI dict (zeros when missing)."""
    if not entry or entry.get("mean") is None:
        return (0.0, 0.0, 0.0)
    mean = float(entry["mean"])
    if entry.get("low") is None:
        return (mean, 0.0, 0.0)
    return (mean, max(0.0, mean - float(entry["low"])), max(0.0, float(entry["high"]) - mean))


def _figure(n_panels: int) -> tuple[Any, list[Any]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, max(1, n_panels), figsize=(5.5 * max(1, n_panels), 4),
                             squeeze=False)
    return fig, list(axes[0])


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    # Fixed metadata so the same rows give the same bytes.
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def _empty(path: Path, message: str) -> None:
    fig, (ax,) = _figure(1)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    _save(fig, path)


def plot_latency_over_commits(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot each stage's median latency per run (default fade, memory store), per embedder."""
    evals = [r for r in _eval_rows(rows) if r.get("fade") == DEFAULT_FADE
             and r.get("store") == "memory" and r.get("latency_ms")]
    embedders = sorted({str(r.get("embedder")) for r in evals})
    if not evals:
        _empty(path, "no eval rows with latencies yet (run sam-detect bench)")
        return
    fig, axes = _figure(len(embedders))
    for ax, embedder in zip(axes, embedders):
        mine = sorted((r for r in evals if str(r.get("embedder")) == embedder), key=run_id)
        ticks = [f"{r.get('commit', 'unknown')[:7]}\n{str(r.get('date', ''))[:10]}" for r in mine]
        for stage in STAGES:
            values = [((r["latency_ms"].get(stage) or {}).get("median")) for r in mine]
            if any(v is not None for v in values):
                ax.plot(range(len(mine)), [v if v is not None else float("nan") for v in values],
                        marker="o", label=stage)
        ax.set_xticks(range(len(mine)), ticks, fontsize=7)
        ax.set_ylabel("median ms per image")
        ax.set_title(f"stage latency over commits ({embedder})")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)


def plot_accuracy_by_fade(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot 1- and 5-shot accuracy (95 % CI error bars) per fade strategy, latest run."""
    latest = [r for r in latest_run(rows) if r.get("store") == "memory"]
    if not latest:
        _empty(path, "no eval rows yet (run sam-detect bench)")
        return
    embedders = sorted({str(r.get("embedder")) for r in latest})
    fig, axes = _figure(len(embedders))
    for ax, embedder in zip(axes, embedders):
        mine = [r for r in latest if str(r.get("embedder")) == embedder]
        names = [str(r.get("fade")) for r in mine]
        width = 0.2
        series = [(1, "accuracy", "1-shot"), (5, "accuracy", "5-shot"),
                  (5, "closed_set_accuracy", "5-shot, no unknown threshold"),
                  (5, "end_to_end", "5-shot end-to-end")]
        for offset, (shots, metric, label) in enumerate(series):
            stats = [_error(_shot(r, shots, metric)) for r in mine]
            xs = [i + (offset - 1.5) * width for i in range(len(mine))]
            ax.bar(xs, [s[0] for s in stats], width,
                   yerr=[[s[1] for s in stats], [s[2] for s in stats]], capsize=3, label=label)
        ax.set_xticks(range(len(mine)), names, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("top-1 accuracy")
        ax.set_title(f"accuracy per fade strategy ({embedder})")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    _save(fig, path)


def plot_few_shot(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot accuracy against shots for each fade (latest run, memory store), with CI bands."""
    latest = [r for r in latest_run(rows) if r.get("store") == "memory"]
    if not latest:
        _empty(path, "no eval rows yet (run sam-detect bench)")
        return
    embedders = sorted({str(r.get("embedder")) for r in latest})
    fig, axes = _figure(len(embedders))
    for ax, embedder in zip(axes, embedders):
        for row in (r for r in latest if str(r.get("embedder")) == embedder):
            points = [(e["shots"], _error(e.get("accuracy"))) for e in row.get("few_shot") or []
                      if isinstance(e.get("accuracy"), dict)]
            if not points:
                continue
            xs = [p[0] for p in points]
            means = [p[1][0] for p in points]
            ax.plot(xs, means, marker="o", label=str(row.get("fade")))
            ax.fill_between(xs, [m - p[1][1] for m, p in zip(means, points)],
                            [m + p[1][2] for m, p in zip(means, points)], alpha=0.12)
        ax.set_xlabel("examples taught per category (shots)")
        ax.set_ylabel("top-1 accuracy (given a correct segment)")
        ax.set_ylim(0, 1)
        ax.set_title(f"few-shot convergence ({embedder})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    _save(fig, path)


def _latest_per_dataset(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the newest eval row per (dataset, embedder, fade, store), oldest key first."""
    newest: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in sorted(_eval_rows(rows), key=run_id):
        dataset = row.get("dataset") or {}
        key = (str(dataset.get("label") or dataset.get("name")), str(row.get("embedder")),
               str(row.get("fade")), str(row.get("store")), str(row.get("decision") or ""))
        newest[key] = row
    return [newest[k] for k in sorted(newest)]


def _dataset_name(row: dict[str, Any]) -> str:
    dataset = row.get("dataset") or {}
    name = str(dataset.get("label") or dataset.get("name"))
    decision = str(row.get("decision") or "")
    return f"{name} [{decision.split(':')[0]}]" if decision else name


def plot_unknown_roc(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot the ROC of "unknown" at 5 shots for each dataset's newest default-fade row."""
    curves = []
    for row in _latest_per_dataset(rows):
        for entry in row.get("few_shot") or []:
            roc = entry.get("unknown_roc") or {}
            if entry.get("shots") == OPEN_SET_SHOTS and roc.get("false_unknown"):
                curves.append((row, entry, roc))
    if not curves:
        _empty(path, "no ROC of unknown yet (sam-detect evaluate --held-out N --json)")
        return
    fig, (ax,) = _figure(1)
    for row, entry, roc in curves:
        label = (f"{_dataset_name(row)} {row.get('embedder')} {row.get('fade')} "
                 f"(AUC {roc.get('auc', 0):.2f})")
        line, = ax.plot(roc["false_unknown"], roc["unknown_rejection"], label=label)
        point = (entry.get("false_unknown") or {}).get("mean"), (
            entry.get("unknown_rejection") or {}).get("mean")
        if None not in point:
            ax.plot(*point, marker="o", color=line.get_color())
    ax.axvline(0.10, color="grey", ls=":", lw=1)
    ax.axhline(0.90, color="grey", ls=":", lw=1)
    ax.set_xlabel("false unknown (taught categories called unknown)")
    ax.set_ylabel("unknown rejection (never-taught categories)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"ROC of unknown, {OPEN_SET_SHOTS} shots (dot: shipped operating point; "
                 "dotted: targets)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="lower right")
    _save(fig, path)


def plot_open_set_by_dataset(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot 5-shot open-set metrics per dataset (hard vs easy gap), default fade rows."""
    chosen = [r for r in _latest_per_dataset(rows) if r.get("fade") == DEFAULT_FADE
              and _shot(r, OPEN_SET_SHOTS, "one_taught_others_unknown") is not None]
    if not chosen:
        _empty(path, "no open-set rows yet (sam-detect evaluate DATASET --held-out N --json)")
        return
    fig, (ax,) = _figure(1)
    fig.set_size_inches(11, 4)
    width = 0.8 / max(len(chosen), 1)
    for index, row in enumerate(chosen):
        stats = [_error(_shot(row, OPEN_SET_SHOTS, metric)) for metric, _ in OPEN_SET_METRICS]
        xs = [i + (index - (len(chosen) - 1) / 2) * width for i in range(len(OPEN_SET_METRICS))]
        ax.bar(xs, [s[0] for s in stats], width, yerr=[[s[1] for s in stats],
                                                       [s[2] for s in stats]],
               capsize=2, label=f"{_dataset_name(row)} ({row.get('embedder')})")
    ax.set_xticks(range(len(OPEN_SET_METRICS)), [n for _, n in OPEN_SET_METRICS], fontsize=8,
                  rotation=15)
    ax.set_ylim(0, 1)
    ax.set_title(f"open set at {OPEN_SET_SHOTS} shots per dataset (95 % CI over seeds)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    _save(fig, path)


def plot_reliability(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot the reliability diagram of ``confidence`` at 5 shots per dataset (ECE in the label)."""
    curves = []
    for row in _latest_per_dataset(rows):
        for entry in row.get("few_shot") or []:
            if entry.get("shots") == OPEN_SET_SHOTS and entry.get("reliability"):
                curves.append((row, entry))
    if not curves:
        _empty(path, "no reliability bins yet (sam-detect evaluate DATASET --json)")
        return
    fig, (ax,) = _figure(1)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    for row, entry in curves:
        bins = entry["reliability"]
        ece = (entry.get("ece") or {}).get("mean")
        label = (f"{_dataset_name(row)} {row.get('fade')}"
                 + ("" if ece is None else f" (ECE {ece:.3f})"))
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                label=label)
    ax.set_xlabel("confidence (mean per bin)")
    ax.set_ylabel("share of labels that were right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"reliability of confidence, {OPEN_SET_SHOTS} shots", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="upper left")
    _save(fig, path)


def _first_number(row: dict[str, Any], keys: Sequence[str]) -> float | None:
    for key in keys:
        value = row.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def plot_store_latency(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot search latency against store size for each store kind (latest row per point)."""
    points: dict[str, dict[float, float]] = defaultdict(dict)
    for row in sorted((r for r in rows if r.get("benchmark") == "store"), key=run_id):
        size = _first_number(row, STORE_SIZE_KEYS)
        latency = _first_number(row, STORE_LATENCY_KEYS)
        if size is not None and latency is not None:
            points[str(row.get("store") or row.get("backend") or "?")][size] = latency
    if not points:
        _empty(path, "no store rows yet (python bench/bench_stores.py --json)")
        return
    fig, (ax,) = _figure(1)
    for store, by_size in sorted(points.items()):
        sizes = sorted(by_size)
        ax.plot(sizes, [by_size[s] for s in sizes], marker="o", label=store)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("stored vectors")
    ax.set_ylabel("k-NN search latency, median ms")
    ax.set_title("store latency vs size")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    _save(fig, path)


def _is_tracking_eval(row: dict[str, Any]) -> bool:
    """Whether ``row`` is a tracking report (``tracking_eval.json``: runs of overall metrics)."""
    runs = row.get("runs")
    return isinstance(runs, dict) and any(
        isinstance(r, dict) and isinstance(r.get("overall"), dict) and "idf1" in r["overall"]
        for r in runs.values())


def _is_tracking_speed(row: dict[str, Any]) -> bool:
    """Whether ``row`` is a ``tracking_cpu.jsonl`` row (ms per frame tracked and untracked)."""
    return "tracked_ms" in row and "untracked_ms" in row


def tracking_runs(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return ``(split, configuration, run)`` of every tracking run, later reports winning.

    The split is ``tune`` for runs named ``tune_*`` or made on a ``tune`` sequence folder, else
    ``validation``; the configuration is the run's name without the ``tune_`` prefix.
    """
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if not _is_tracking_eval(row):
            continue
        for name, run in row["runs"].items():
            if not isinstance(run, dict) or not isinstance(run.get("overall"), dict):
                continue
            parts = Path(str(run.get("dataset") or "")).parts
            tune = name.startswith("tune_") or "tune" in parts
            config = name[len("tune_"):] if name.startswith("tune_") else name
            runs[("tune" if tune else "validation", config)] = run
    return [(split, config, run) for (split, config), run in runs.items()]


def _speedup(row: dict[str, Any]) -> float | None:
    ratio = _first_number(row, ("ratio",))
    if ratio is None and row.get("tracked_ms"):
        ratio = float(row["untracked_ms"]) / float(row["tracked_ms"])
    return ratio


def plot_tracking(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot IDF1 and label flips per 100 track-frames per configuration, with the targets.

    Validation runs are the bars; a tune run of the same configuration is drawn hatched beside it.
    """
    runs = tracking_runs(rows)
    configs = [c for s, c, _ in runs if s == "validation"]
    configs += [c for s, c, _ in runs if s == "tune" and c not in configs]
    by_key = {(s, c): r["overall"] for s, c, r in runs}
    fig, axes = _figure(2)
    fig.set_size_inches(12, 4.5)
    panels = (("idf1", "IDF1", IDF1_TARGET, f"target {IDF1_TARGET:.2f}"),
              ("label_flips_per_100_frames", "label flips per 100 track-frames", FLIPS_TARGET,
               f"target \u2264 {FLIPS_TARGET:g}"))
    width = 0.4
    for ax, (metric, label, target, target_label) in zip(axes, panels):
        for offset, split, hatch in ((-0.5, "validation", None), (0.5, "tune", "//")):
            xs, values = [], []
            for index, config in enumerate(configs):
                value = (by_key.get((split, config)) or {}).get(metric)
                if value is not None:
                    xs.append(index + offset * width)
                    values.append(float(value))
            if not xs:
                continue
            bars = ax.bar(xs, values, width, hatch=hatch, label=f"{split} sequences",
                          color="C0" if split == "validation" else "C1",
                          edgecolor="white" if hatch else None)
            ax.bar_label(bars, [f"{v:.2f}" for v in values], fontsize=6, padding=1)
        ax.axhline(target, color="C3", ls="--", lw=1, label=target_label)
        ax.set_xticks(range(len(configs)), configs, rotation=25, ha="right", fontsize=7)
        ax.set_ylabel(label)
        ax.set_title(f"{label} per configuration", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
        ax.legend(fontsize=7, ncol=3, loc="upper center")
    axes[0].set_ylim(0, 1.15)
    _save(fig, path)


def plot_tracking_speed(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot ms per frame untracked vs tracked per segmenter (log scale), speed-up on top."""
    speed = [r for r in rows if _is_tracking_speed(r)]
    fig, (ax,) = _figure(1)
    fig.set_size_inches(7, 4)
    width = 0.38
    names = [str(r.get("path") or "?") for r in speed]
    for offset, key, label in ((-0.5, "untracked_ms", "untracked (segment every frame)"),
                               (0.5, "tracked_ms", "tracked")):
        values = [float(r[key]) for r in speed]
        bars = ax.bar([i + offset * width for i in range(len(speed))], values, width,
                      label=label)
        ax.bar_label(bars, [f"{v:,.0f}" if v >= 1000 else f"{v:.4g}" for v in values],
                     fontsize=7, padding=1)
    for index, row in enumerate(speed):
        ratio = _speedup(row)
        if ratio is not None:
            ax.annotate(f"{ratio:.2f}\u00d7 faster (keyframe every "
                        f"{row.get('keyframe_interval', '?')})", (index, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(0, -12),
                        textcoords="offset points", ha="center", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(top=ax.get_ylim()[1] * 20)
    ax.set_xticks(range(len(speed)), names, fontsize=8)
    ax.set_ylabel("ms per frame (CPU)")
    ax.set_title(f"tracking speed-up (target: SAM2 \u2265 {SPEEDUP_TARGET:g}\u00d7 at "
                 f"keyframe interval {SPEEDUP_KEYFRAME_INTERVAL})", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="center right")
    _save(fig, path)


def _number(value: Any, spec: str = ".3f") -> str:
    return "" if value is None else (format(value, spec) if isinstance(value, float) else
                                     str(value))


def tracking_section(rows: Sequence[dict[str, Any]], out: Path) -> dict[str, Any] | None:
    """Draw the tracking plots into ``out`` and return what the page shows of tracking.

    Returns None (and leaves no tracking plot in ``out``) when ``rows`` hold neither a tracking
    report nor tracking speed rows; else the ``runs`` and ``speed`` tables (``header`` and
    ``body``; None when absent), the reports' ``notes``, the targets, the ``plots`` and the
    ``gpu_goal`` note (None when a GPU row exists). Values are plain text: the template escapes
    them.
    """
    runs = tracking_runs(rows)
    speed = [r for r in rows if _is_tracking_speed(r)]
    for name, present in zip(TRACKING_PLOTS, (runs, speed)):
        if not present and (out / name).exists():
            (out / name).unlink()
    if not runs and not speed:
        return None
    section: dict[str, Any] = {
        "plots": TRACKING_PLOTS, "idf1_target": f"{IDF1_TARGET:.2f}",
        "flips_target": f"{FLIPS_TARGET:g}", "runs": None, "speed": None,
        "notes": [str(r["note"]) for r in rows if _is_tracking_eval(r) and r.get("note")],
        "gpu_goal": None}
    if runs:
        plot_tracking(rows, out / TRACKING_PLOTS[0])
        body = []
        for split, config, run in sorted(runs, key=lambda r: (r[0] != "validation", r[1])):
            overall = run["overall"]
            idf1 = _float(overall.get("idf1"))
            flips = _float(overall.get("label_flips_per_100_frames"))
            met = idf1 is not None and idf1 >= IDF1_TARGET and (flips or 0.0) <= FLIPS_TARGET
            body.append([split, config] + [_number(overall.get(k)) for k in (
                "idf1", "idp", "idr", "num_switches", "mota", "label_flips_per_100_frames",
                "label_accuracy")] + [_number(run.get("keyframe_interval")),
                                      _number(run.get("keyframe_share"), ".2f"),
                                      _number(run.get("ms_per_frame"), ".1f"),
                                      "yes" if met else "no"])
        section["runs"] = {"header": ("split", "configuration", "IDF1", "IDP", "IDR",
                                      "id switches", "MOTA", "label flips /100",
                                      "label accuracy", "keyframe interval", "keyframe share",
                                      "ms/frame", "targets met"), "body": body}
    if speed:
        plot_tracking_speed(rows, out / TRACKING_PLOTS[1])
        body = []
        for row in speed:
            ratio = _speedup(row)
            name = str(row.get("path") or "?")
            target = ("" if "sam2" not in name.lower()
                      or row.get("keyframe_interval") != SPEEDUP_KEYFRAME_INTERVAL
                      else f"\u2265 {SPEEDUP_TARGET:g}\u00d7: "
                      + ("met" if ratio is not None and ratio >= SPEEDUP_TARGET else "missed"))
            body.append([name, _number(_float(row["untracked_ms"]), ".1f"),
                         _number(_float(row["tracked_ms"]), ".1f"),
                         "" if ratio is None else f"{ratio:.2f}\u00d7",
                         _number(row.get("keyframe_interval")),
                         _number(row.get("keyframe_share"), ".2f"), target,
                         str(row.get("date") or "")])
        section["speed"] = {"header": ("segmenter", "untracked ms/frame", "tracked ms/frame",
                                       "speed-up", "keyframe interval", "keyframe share",
                                       "target", "date"), "body": body}
    if not any("gpu" in str(r.get("path")).lower() or "cuda" in str(r.get("path")).lower()
               for r in speed):
        section["gpu_goal"] = GPU_GOAL
    return section


def _float(value: Any) -> float | None:
    """Return ``value`` as a float when it is a number (not a bool), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


KINDS_PLOT = "kinds_side_by_side.png"
KIND_METRICS = (("accuracy", "accuracy given a correct segment"), ("end_to_end", "end-to-end"),
                ("unknown_rejection", "never-taught rejected"),
                ("false_unknown", "false unknown"), ("ece", "ECE"))
KIND_COLUMNS = ("kind", "split", "dataset", "embedder", "shots", "seeds", "segmentation recall",
                "segmentation precision", "accuracy given a correct segment", "end-to-end",
                "never-taught rejected", "false unknown", "unknown AUROC", "ECE",
                "one taught: others unknown", "one taught: recognised", "commit")
_DICT_FIELDS = ("dataset", "latency_ms", "segmentation", "embedding_quality")


def _kind_of(row: dict[str, Any]) -> tuple[str, str]:
    """Return ``(kind, split)`` of an eval row: category or instance level, and its split."""
    dataset = row.get("dataset") or {}
    return str(dataset.get("kind") or "category"), str(dataset.get("split") or "-")


def kind_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the newest default-fade eval row per kind, split, dataset, embedder and decision.

    Ordered category level first, then instance level; tune before validation in each.
    """
    newest: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in sorted(_eval_rows(rows), key=run_id):
        if row.get("fade") != DEFAULT_FADE or not row.get("few_shot"):
            continue
        kind, split = _kind_of(row)
        dataset = row.get("dataset") or {}
        newest[(kind, split, str(dataset.get("label") or dataset.get("name")),
                str(row.get("embedder")), str(row.get("decision") or ""))] = row
    order = sorted(newest, key=lambda k: (k[0] != "category", k[0], k[1] != "tune", k[1:]))
    return [newest[k] for k in order]


def kinds_table(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the side-by-side table (``header``, ``body``): one line per kind, split and shots."""
    body = []
    for row in kind_rows(rows):
        kind, split = _kind_of(row)
        dataset = row.get("dataset") or {}
        seg = row.get("segmentation") or {}
        for entry in row.get("few_shot") or []:
            def cell(metric: str) -> str:
                value = entry.get(metric)
                return _ci_cell(value) if isinstance(value, dict) else "-"
            auc = _float((entry.get("unknown_roc") or {}).get("auc"))
            seeds = (entry.get("accuracy") or {}).get("n") if isinstance(
                entry.get("accuracy"), dict) else None
            body.append([kind, split, str(dataset.get("label") or dataset.get("name")),
                         str(row.get("embedder")), entry.get("shots"), _number(seeds),
                         _number(_float(seg.get("recall"))), _number(_float(seg.get("precision"))),
                         cell("accuracy"), cell("end_to_end"), cell("unknown_rejection"),
                         cell("false_unknown"), "-" if auc is None else f"{auc:.3f}",
                         cell("ece"), cell("one_taught_others_unknown"),
                         cell("one_taught_recognised"), str(row.get("commit") or "")[:7]])
    return {"header": KIND_COLUMNS, "body": body}


def _ci_cell(entry: dict[str, Any]) -> str:
    mean, low, high = (_float(entry.get(k)) for k in ("mean", "low", "high"))
    if mean is None:
        return "-"
    if low is None or high is None:
        return f"{mean:.3f}"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def plot_kinds(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Plot each kind's metrics per split and shot count, side by side (one panel per kind)."""
    chosen = kind_rows(rows)
    kinds = sorted({_kind_of(r)[0] for r in chosen}, key=lambda k: (k != "category", k))
    fig, axes = _figure(len(kinds))
    for ax, kind in zip(axes, kinds):
        series = [(r, e) for r in chosen if _kind_of(r)[0] == kind
                  for e in r.get("few_shot") or [] if isinstance(e, dict)]
        width = 0.8 / max(len(series), 1)
        for index, (row, entry) in enumerate(series):
            stats = [_error(entry.get(m) if isinstance(entry.get(m), dict) else None)
                     for m, _ in KIND_METRICS]
            xs = [i + (index - (len(series) - 1) / 2) * width for i in range(len(KIND_METRICS))]
            dataset = row.get("dataset") or {}
            ax.bar(xs, [s[0] for s in stats], width, yerr=[[s[1] for s in stats],
                                                           [s[2] for s in stats]],
                   capsize=2, hatch=None if _kind_of(row)[1] == "validation" else "//",
                   label=f"{_kind_of(row)[1]}, {entry.get('shots')} shot(s) "
                         f"({dataset.get('label') or dataset.get('name')}, {row.get('embedder')})")
        ax.set_xticks(range(len(KIND_METRICS)), [n for _, n in KIND_METRICS], fontsize=7,
                      rotation=15)
        ax.set_ylim(0, 1)
        ax.set_title(f"{kind} level (hatched: tune; plain: validation)", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=6)
    _save(fig, path)


def clean_rows(rows: Sequence[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Return the rows with every field of the wrong type left out, and what was left out.

    A results file is data from anywhere: a row that is not a JSON object, a ``latency_ms`` or
    ``few_shot`` that is a string, a metric whose mean is not a number... would stop the page
    with a traceback. Such a row or field is dropped and named instead (``row 3 latency_ms
    (str)``); everything else is kept as it was.

    Example:
        >>> kept, ignored = clean_rows([{"benchmark": "eval", "latency_ms": "fast"}, [1, 2]])
        >>> kept, ignored
        ([{'benchmark': 'eval'}], ['row 1 latency_ms (str)', 'row 2 (list, not a result)'])
    """
    kept: list[dict[str, Any]] = []
    ignored: list[str] = []
    for index, original in enumerate(rows, start=1):
        if not isinstance(original, dict):
            ignored.append(f"row {index} ({type(original).__name__}, not a result)")
            continue
        row = dict(original)

        def drop(key: str, value: Any, where: str = "") -> None:
            ignored.append(f"row {index} {where}{key} ({type(value).__name__})")

        fields = _DICT_FIELDS + (("machine",) if row.get("benchmark") == "eval" else ())
        for key in fields:
            if row.get(key) is not None and not isinstance(row[key], dict):
                drop(key, row.pop(key))
        if row.get("few_shot") is not None and not isinstance(row["few_shot"], list):
            drop("few_shot", row.pop("few_shot"))
        for key in ("tracked_ms", "untracked_ms"):
            if key in row and _float(row[key]) is None:
                drop(key, row.pop(key))
        for key in ("latency_ms", "segmentation", "embedding_quality"):
            if isinstance(row.get(key), dict):
                row[key] = _clean_numbers(row[key], key, drop)
        if isinstance(row.get("few_shot"), list):
            row["few_shot"] = [e for e in (_clean_entry(e, drop) for e in row["few_shot"])
                               if e is not None]
        kept.append(row)
    return kept, ignored


def _clean_numbers(values: dict[str, Any], where: str, drop: Any) -> dict[str, Any]:
    """Keep numbers, None, strings naming things, and dicts of numbers (a stage's median/p95)."""
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or _float(value) is not None:
            kept[key] = value
        elif isinstance(value, dict) and all(v is None or _float(v) is not None
                                             or not isinstance(v, (str, list, dict))
                                             for v in value.values()):
            kept[key] = value
        elif isinstance(value, dict) and key.startswith("recall_by"):
            kept[key] = {k: v for k, v in value.items() if _float(v) is not None}
        else:
            drop(key, value, f"{where}.")
    return kept


def _clean_entry(entry: Any, drop: Any) -> dict[str, Any] | None:
    """Return a ``few_shot`` entry with its wrongly typed metrics left out (None: unusable)."""
    if not isinstance(entry, dict) or isinstance(entry.get("shots"), bool) or not isinstance(
            entry.get("shots"), int):
        drop("entry", entry, "few_shot ")
        return None
    kept: dict[str, Any] = {}
    for key, value in entry.items():
        if key in ("shots", "queries"):
            kept[key] = value
        elif key == "unknown_roc":
            if isinstance(value, dict) and all(
                    isinstance(value.get(k), list) and all(_float(v) is not None
                                                           for v in value[k])
                    for k in ("false_unknown", "unknown_rejection")) and len(
                    value["false_unknown"]) == len(value["unknown_rejection"]):
                kept[key] = value
            elif value:
                drop(key, value, "few_shot.")
        elif key == "reliability":
            if isinstance(value, list) and all(
                    isinstance(b, dict) and _float(b.get("confidence")) is not None
                    and _float(b.get("accuracy")) is not None for b in value):
                kept[key] = value
            else:
                drop(key, value, "few_shot.")
        elif isinstance(value, dict):
            if all(value.get(k) is None or _float(value.get(k)) is not None
                   for k in ("mean", "low", "high")):
                kept[key] = value
            else:
                drop(key, value, "few_shot.")
        else:
            kept[key] = value
    return kept


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """Flatten nested dicts one level (``machine.device``) for a generic table."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                if not isinstance(inner, (dict, list)):
                    flat[f"{key}.{sub}"] = inner
        elif not isinstance(value, list):
            flat[key] = value
    return flat


def _generic_table(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return ``header`` and ``body`` of a table of flattened rows."""
    flats = [_flat(r) for r in rows]
    columns: list[str] = []
    for flat in flats:
        columns.extend(k for k in flat if k not in columns)
    body = [[("" if f.get(c) is None else (f"{f[c]:.4g}" if isinstance(f[c], float) else f[c]))
             for c in columns] for f in flats]
    return {"header": columns, "body": body}


def write_dashboard(rows: Sequence[dict[str, Any]], out: str | os.PathLike,
                    threshold: float = 0.1) -> Path:
    """Write ``index.html`` and the plots into ``out``; return the page's path.

    The page is rendered by jinja2 from ``templates/dashboard.html`` with autoescape on, so
    every string a results file brings (machine names, dataset names, notes) is text on the
    page, never markup. Fields of the wrong type (a string where numbers belong) are left out
    and named on the page (:func:`clean_rows`).

    Example:
        >>> import tempfile
        >>> page = write_dashboard([], tempfile.mkdtemp())
        >>> page.name, (page.parent / "accuracy_by_fade.png").exists()
        ('index.html', True)
    """
    require_extra("matplotlib", "eval", "sam-detect dashboard")
    require_extra("jinja2", "eval", "sam-detect dashboard")
    rows, ignored = clean_rows(rows)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_latency_over_commits(rows, out / PLOTS[0])
    plot_accuracy_by_fade(rows, out / PLOTS[1])
    plot_few_shot(rows, out / PLOTS[2])
    plot_store_latency(rows, out / PLOTS[3])
    plot_unknown_roc(rows, out / PLOTS[4])
    plot_open_set_by_dataset(rows, out / PLOTS[5])
    plot_reliability(rows, out / PLOTS[6])
    kinds = kinds_table(rows)
    if kinds["body"]:
        plot_kinds(rows, out / KINDS_PLOT)
    elif (out / KINDS_PLOT).exists():
        (out / KINDS_PLOT).unlink()

    latest = latest_run(rows)
    runs = sorted({run_id(r) for r in _eval_rows(rows)})
    previous = [r for r in _eval_rows(rows) if len(runs) > 1 and run_id(r) == runs[-2]]
    regressions = find_regressions(latest, previous, threshold) if previous else []
    header = None
    if latest:
        date, commit = run_id(latest[0])
        machine = latest[0].get("machine") or {}
        dataset = latest[0].get("dataset") or {}
        header = {"commit": commit[:12], "date": date, "processor": machine.get("processor"),
                  "cpus": machine.get("cpus"), "device": machine.get("device"),
                  "dataset": dataset.get("name"), "images": dataset.get("images"),
                  "instances": dataset.get("instances")}
    titles = ("Per-stage latency over commits", "Accuracy per fade strategy (95 % CI)",
              "Few-shot convergence", "Vector store latency vs size", "ROC of unknown",
              "Open set per dataset: hard vs easy, tune vs validation",
              "Reliability of confidence")
    others = [r for r in rows if not _is_tracking_eval(r) and not _is_tracking_speed(r)]
    other_kinds = sorted({str(r.get("benchmark")) for r in others} - {"eval"})
    tables = []
    for kind in sorted(other_kinds, key=lambda k: (k != "gpu", k)):
        mine = [r for r in others if str(r.get("benchmark")) == kind]
        tables.append({"kind": kind, "shown": min(len(mine), 50), **_generic_table(mine[-50:])})
    page = out / "index.html"
    page.write_text(_template().render(
        run_count=len(runs), row_count=len(rows), latest=header, ignored=ignored,
        regressions=[{"key": r["key"], "metric": r["metric"],
                      "previous": f"{r['previous']:.4g}", "current": f"{r['current']:.4g}",
                      "change": f"{r['change']:+.1%}"} for r in regressions],
        kinds={**kinds, "plot": KINDS_PLOT},
        plots=[{"title": t, "file": n} for t, n in zip(titles, PLOTS)],
        tracking=tracking_section(rows, out),
        results=({"header": TABLE_COLUMNS, "body": [table_cells(r) for r in latest]}
                 if latest else None),
        others=tables) + "\n", encoding="utf-8")
    return page


def _template() -> Any:
    """Return the page template; it escapes every value it is given (autoescape)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("sam_detect.evaluation", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.get_template("dashboard.html")
