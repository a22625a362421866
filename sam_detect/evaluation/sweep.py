# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Continuous benchmarking: sweep fades, embedders and stores; record, compare, flag regressions.

:func:`run_sweep` evaluates every fade strategy (identity, hard crop, Gaussian at sigma
10/20/30/50, linear, exponential) with every installed embedder on an in-memory store, and the
default fade on each other store (the store changes search latency, not accuracy: both are
exact). All runs share one :class:`~sam_detect.evaluation.evaluator.EvaluationCache`, so
segments are computed once and each crop is embedded once per fade.

Each combination becomes one JSON line (``"benchmark": "eval"``) tagged with the commit, date and
machine, appended to a results file. :func:`find_regressions` compares a run with the latest
earlier row of each combination: an accuracy drop or a latency rise beyond the threshold (relative)
is a regression, and ``sam-detect bench`` then exits with status 1.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from sam_detect.errors import SamDetectError
from sam_detect.evaluation.evaluator import STAGES, EvaluationCache, evaluate

DEFAULT_FADE = "hard_crop"  # the detector's default fade
LATENCY_FLOOR_MS = 1.0  # latency changes smaller than this are timer noise, never regressions
COMPARED_SHOTS = (1, 5)
RUN_KEYS = ("seed", "shots", "accuracy", "closed_set_accuracy", "end_to_end",
            "closed_set_end_to_end", "unknown_rejection", "false_unknown",
            "one_taught_others_unknown", "one_taught_recognised",
            "ece")  # per-seed values kept in a row, for paired comparisons


@dataclass(frozen=True)
class FadeSpec:
    """A named fade configuration of the sweep."""

    name: str
    kind: str
    params: tuple[tuple[str, float], ...] = ()

    def build(self) -> Any:
        """Return a new fade strategy."""
        from sam_detect.fading import create_fade

        return create_fade(self.kind, **dict(self.params))


FADE_SWEEP: tuple[FadeSpec, ...] = (
    FadeSpec("identity", "identity"),
    FadeSpec("hard_crop", "hard_crop"),
    FadeSpec("gaussian_s10", "gaussian", (("sigma", 10.0),)),
    FadeSpec("gaussian_s20", "gaussian", (("sigma", 20.0),)),
    FadeSpec("gaussian_s30", "gaussian", (("sigma", 30.0),)),
    FadeSpec("gaussian_s50", "gaussian", (("sigma", 50.0),)),
    FadeSpec("linear", "linear"),
    FadeSpec("exponential", "exponential"),
)
EMBEDDERS = ("average", "efficientnet")
STORES = ("memory", "edge")


def git_commit(cwd: str | os.PathLike | None = None) -> str:
    """Return ``git rev-parse HEAD`` of the working tree, or ``"unknown"``."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd or Path.cwd(),
                                capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else "unknown"


def machine_info() -> dict[str, Any]:
    """Describe this machine: platform, processor, CPU count, torch and its accelerator."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "device": "cpu",
    }
    try:
        import torch
    except ImportError:
        return info
    info["torch"] = torch.__version__
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
    return info


def machine_key(machine: dict[str, Any] | None) -> tuple[Any, ...]:
    """Return what must match for two latency figures to be comparable."""
    machine = machine or {}
    return (machine.get("processor"), machine.get("cpus"), machine.get("device"))


def build_embedders(requested: Sequence[str] | None = None) -> dict[str, Any]:
    """Return ``{kind: embedder}`` for the sweep's embedders that can be built here.

    Without ``requested``, kinds that are not installed are skipped; a requested kind that cannot
    be built raises its error.
    """
    from sam_detect.embedding import create_embedder

    built = {}
    for kind in requested or EMBEDDERS:
        try:
            built[kind] = create_embedder(kind, device="auto", log=None)
        except SamDetectError:
            if requested:
                raise
    return built


def _open_store(kind: str, folder: Path) -> Any:
    from sam_detect.vector_store import open_store

    return open_store(kind, path=str(folder / kind) if kind == "edge" else None)


def run_sweep(
    dataset: str | os.PathLike,
    fades: Sequence[FadeSpec] = FADE_SWEEP,
    embedders: Sequence[str] | None = None,
    stores: Sequence[str] = STORES,
    shots: Sequence[int] = (1, 3, 5, 10),
    seeds: int = 5,
    max_images: int | None = None,
    latency_images: int = 10,
    segmenter: Any = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate each (embedder, fade, store) combination; return one result row per combination.

    Args:
        dataset: A COCO dataset folder (``sam-detect make-benchmark``).
        fades: The fade configurations; the one named ``hard_crop`` (the detector's default,
            or the first) also runs on the stores other than ``memory``.
        embedders: Embedder kinds (default: every one in ``EMBEDDERS`` that is installed).
        stores: Store kinds; ``memory`` runs every fade, the others the default fade.
        shots: Shot counts; accuracy at 1 and 5 shots is what regressions are checked on.
        seeds: Splits per evaluation.
        max_images: Use only the first images of the dataset.
        latency_images: Images timed through ``detect`` per combination.
        segmenter: The segmenter (default ``NaiveSegmenter()``), shared by all combinations.
        progress: Show progress bars.
        log: Called with one line per finished combination.

    Returns:
        Rows with ``benchmark: "eval"``, ``commit``, ``date``, ``machine``, ``dataset``,
        ``segmenter``, ``embedder``, ``fade``, ``store`` and the evaluation's figures.
    """
    from sam_detect import SAMDetect
    from sam_detect.segmentation import NaiveSegmenter

    segmenter = segmenter or NaiveSegmenter()
    default_fade = next((f for f in fades if f.name == DEFAULT_FADE), fades[0])
    stamp = {"commit": git_commit(), "date": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "machine": machine_info()}
    cache = EvaluationCache()
    rows = []
    with tempfile.TemporaryDirectory(prefix="sam-detect-bench-") as tmp:
        for embedder_kind, embedder in build_embedders(embedders).items():
            combos = [(f, "memory") for f in fades if "memory" in stores]
            combos += [(default_fade, s) for s in stores if s != "memory"]
            for fade_spec, store_kind in combos:
                store = _open_store(store_kind, Path(tmp) / f"{embedder_kind}-{fade_spec.name}")
                try:
                    detector = SAMDetect(segmenter=segmenter, embedder=embedder,
                                         fade_strategy=fade_spec.build(), vector_store=store)
                    report = evaluate(detector, dataset, shots=shots, seeds=seeds,
                                      max_images=max_images, latency_images=latency_images,
                                      cache=cache, progress=progress)
                finally:
                    store.close()
                row = result_row(report, embedder_kind, fade_spec, store_kind, stamp)
                rows.append(row)
                if log:
                    log(format_table([row], header=False))
    return rows


def result_row(
    report: Any,
    embedder_kind: str,
    fade: FadeSpec,
    store_kind: str,
    stamp: dict[str, Any],
) -> dict[str, Any]:
    """Condense an :class:`~sam_detect.evaluation.EvaluationReport` (or its dict) into a row."""
    from sam_detect.evaluation.report import EvaluationReport

    if isinstance(report, dict):
        report = EvaluationReport.from_dict(report)
    dataset, config = report.dataset, report.config
    seg = report.segmentation
    return {
        "benchmark": "eval",
        **stamp,
        "dataset": {"name": Path(dataset["path"]).name, "images": dataset["images"],
                    "instances": dataset["instances"],
                    "label": _dataset_label(dataset["path"]),
                    "split": dataset.get("split") or _split_of(dataset["path"]),
                    "kind": dataset.get("kind") or "category"},
        "segmenter": config["segmenter"],
        "embedder": embedder_kind,
        "embedder_name": config["embedder"],
        "fade": fade.name,
        "fade_params": config["fade"],
        "store": store_kind,
        "held_out": config.get("held_out", 0),
        "decision": config.get("decision"),  # None: the shipped open-set decision
        "few_shot": [{k: v for k, v in r.to_dict().items() if k != "per_class"}
                     for r in report.few_shot],
        "segmentation": ({k: seg[k] for k in ("recall", "mean_iou", "precision")}
                         if seg else None),
        "embedding_quality": report.embedding_quality,
        "latency_ms": report.latency_ms,
        "runs": [{k: r.get(k) for k in RUN_KEYS} for r in report.runs],
        "elapsed_s": report.elapsed_s,
    }


def _dataset_label(path: str) -> str:
    """Return a short name for a dataset: ``hard/validation`` for a split folder, else its name."""
    folder = Path(path)
    return f"{folder.parent.name}/{folder.name}" if _split_of(path) else folder.name


def _split_of(path: str) -> str | None:
    """Return ``tune``/``validation`` for a hard benchmark's split folder, else None."""
    name = Path(path).name
    return name if name in ("tune", "validation") else None


def row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """Return what identifies a combination across runs."""
    dataset = row.get("dataset") or {}
    return (row.get("benchmark"), dataset.get("name"), dataset.get("images"),
            row.get("segmenter"), row.get("embedder"), row.get("fade"), row.get("store"))


def shot_value(row: dict[str, Any], shots: int, metric: str = "accuracy") -> float | None:
    """Return the mean ``metric`` at ``shots`` shots of a row, or ``None``."""
    for entry in row.get("few_shot") or []:
        if entry.get("shots") == shots and isinstance(entry.get(metric), dict):
            return entry[metric].get("mean")
    return None


def read_rows(paths: Iterable[str | os.PathLike]) -> list[dict[str, Any]]:
    """Read JSON-lines result files (blank lines skipped), in order.

    A file holding one JSON object (``sam-detect evaluate --json``) is read as one row; a folder
    (``bench/results``) stands for its ``*.json`` and ``*.jsonl`` files, in name order.

    Raises:
        SamDetectError: when a file is missing or a line is not JSON.
    """
    rows = []
    expanded: list[Path] = []
    for path in paths:
        path = Path(path)
        expanded += (sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl"))
                     if path.is_dir() else [path])
    for path in expanded:
        if not path.is_file():
            raise SamDetectError(f"results file {path} not found")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SamDetectError(f"results file {path} is not JSON text (an image? give the "
                                 "files sam-detect evaluate --json / bench wrote)") from None
        try:
            if text.lstrip().startswith("{") and "\n{" not in text.strip():
                rows.append(_as_row(json.loads(text)))
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise SamDetectError(
                f"{path} is not JSON lines ({error.msg} at line {error.lineno}); "
                "give files written by sam-detect bench") from None
    return rows


def _as_row(data: dict[str, Any]) -> dict[str, Any]:
    """Turn an :func:`evaluate` report (``sam-detect evaluate --json``) into a result row."""
    if "benchmark" in data or "config" not in data:
        return data
    fade = data["config"].get("fade") or {}
    params = tuple((k, float(v)) for k, v in fade.items() if k != "kind" and v is not None)
    stamp = {"commit": data.get("commit", "unknown"), "date": data.get("date"),
             "machine": data.get("machine")}
    store = str(data["config"].get("store", "")).replace("VectorStore", "").lower() or None
    return result_row(data, data["config"].get("embedder"), FadeSpec(
        str(fade.get("kind", "unknown")), str(fade.get("kind", "unknown")), params), store, stamp)


def append_rows(path: str | os.PathLike, rows: Sequence[dict[str, Any]]) -> None:
    """Append rows to a JSON-lines file (created with its folder if needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, sort_keys=True) + "\n")


def find_regressions(
    current: Sequence[dict[str, Any]],
    previous: Sequence[dict[str, Any]],
    threshold: float = 0.1,
) -> list[dict[str, Any]]:
    """Compare each current row with the latest previous row of the same combination.

    A regression is an accuracy (or end-to-end accuracy) at 1 or 5 shots that fell by more than
    ``threshold`` of its previous value, or a stage latency (median) that rose by more than
    ``threshold`` of its previous value and by at least 1 ms. Latencies are compared only between
    rows of the same machine (processor, CPU count, accelerator).

    Returns:
        One dict per regression: ``key`` (fade/embedder/store), ``metric``, ``previous``,
        ``current``, ``change`` (relative).

    Example:
        >>> old = {"benchmark": "eval", "fade": "g", "few_shot": [
        ...     {"shots": 5, "accuracy": {"mean": 0.8}}]}
        >>> new = {"benchmark": "eval", "fade": "g", "few_shot": [
        ...     {"shots": 5, "accuracy": {"mean": 0.6}}]}
        >>> [r["metric"] for r in find_regressions([new], [old])]
        ['accuracy@5']
    """
    latest = {row_key(row): row for row in previous if row.get("benchmark") == "eval"}
    found = []
    for row in current:
        old = latest.get(row_key(row))
        if old is None:
            continue
        label = f"{row.get('embedder')}/{row.get('fade')}/{row.get('store')}"
        for shots in COMPARED_SHOTS:
            for metric in ("accuracy", "end_to_end"):
                before, after = shot_value(old, shots, metric), shot_value(row, shots, metric)
                if before and after is not None and (before - after) / before > threshold:
                    found.append({"key": label, "metric": f"{metric}@{shots}", "previous": before,
                                  "current": after, "change": (after - before) / before})
        if machine_key(old.get("machine")) != machine_key(row.get("machine")):
            continue
        for stage in STAGES:
            before = ((old.get("latency_ms") or {}).get(stage) or {}).get("median")
            after = ((row.get("latency_ms") or {}).get(stage) or {}).get("median")
            if before is None or after is None or before <= 0:
                continue
            if after - before > max(threshold * before, LATENCY_FLOOR_MS):
                found.append({"key": label, "metric": f"latency.{stage}_ms", "previous": before,
                              "current": after, "change": (after - before) / before})
    return found


def fade_margins(
    rows: Sequence[dict[str, Any]],
    against: Sequence[str] = ("identity", "hard_crop"),
    shots: int = 5,
    metrics: Sequence[str] = ("closed_set_accuracy", "closed_set_end_to_end"),
) -> list[dict[str, Any]]:
    """Return each fade's margin over the ``against`` fades, paired by seed, with a 95 % CI.

    Rows of one embedder and store share their seeds (the splits depend on the seed only), so the
    per-seed differences cancel the split-to-split noise.

    Returns:
        ``{"embedder", "store", "fade", "against", "metric", "shots", "margin"}`` dicts, where
        ``margin`` is :func:`~sam_detect.evaluation.metrics.paired_difference` of the two fades.
    """
    from sam_detect.evaluation.metrics import paired_difference

    def per_seed(row: dict[str, Any], metric: str) -> dict[int, float]:
        return {r["seed"]: r[metric] for r in row.get("runs") or []
                if r.get("shots") == shots and r.get(metric) is not None}

    found = []
    by_fade = {(r.get("embedder"), r.get("store"), r.get("fade")): r for r in rows}
    for (embedder, store, fade), row in by_fade.items():
        for other in against:
            base = by_fade.get((embedder, store, other))
            if base is None or other == fade:
                continue
            for metric in metrics:
                mine, theirs = per_seed(row, metric), per_seed(base, metric)
                common = sorted(set(mine) & set(theirs))
                if common:
                    found.append({
                        "embedder": embedder, "store": store, "fade": fade, "against": other,
                        "metric": metric, "shots": shots,
                        "margin": paired_difference([mine[s] for s in common],
                                                    [theirs[s] for s in common]),
                    })
    return found


def format_margins(margins: Sequence[dict[str, Any]]) -> str:
    """Return one line per fade margin: ``mean [low, high]`` of the paired difference."""
    lines = []
    for m in margins:
        margin = m["margin"]
        interval = ("" if margin.get("low") is None
                    else f" [{margin['low']:+.3f}, {margin['high']:+.3f}]")
        lines.append(f"{m['embedder']}/{m['store']} {m['fade']} - {m['against']}: "
                     f"{m['metric']}@{m['shots']} {margin['mean']:+.3f}{interval}")
    return "\n".join(lines)


def _ci_text(entry: Any) -> str:
    if not isinstance(entry, dict) or entry.get("mean") is None:
        return "-"
    if entry.get("low") is None:
        return f"{entry['mean']:.3f}"
    return f"{entry['mean']:.3f}±{(entry['high'] - entry['low']) / 2:.3f}"


def _shot_entry(row: dict[str, Any], shots: int, metric: str) -> Any:
    for entry in row.get("few_shot") or []:
        if entry.get("shots") == shots:
            return entry.get(metric)
    return None


TABLE_COLUMNS = ("embedder", "store", "fade", "acc@1", "acc@5", "closed@5", "e2e@5", "nn",
                 "silh", "seg ms", "fade ms", "embed ms", "search ms", "total ms")


def table_cells(row: dict[str, Any]) -> list[str]:
    """Return a result row's cells in :data:`TABLE_COLUMNS` order."""
    def number(value: Any, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    quality = row.get("embedding_quality") or {}
    latency = row.get("latency_ms") or {}
    return [
        str(row.get("embedder")), str(row.get("store")), str(row.get("fade")),
        _ci_text(_shot_entry(row, 1, "accuracy")),
        _ci_text(_shot_entry(row, 5, "accuracy")),
        _ci_text(_shot_entry(row, 5, "closed_set_accuracy")),
        _ci_text(_shot_entry(row, 5, "end_to_end")),
        number(quality.get("nn_agreement"), 2), number(quality.get("silhouette"), 3),
        *(number((latency.get(s) or {}).get("median"), 1) for s in STAGES),
    ]


def format_table(rows: Sequence[dict[str, Any]], header: bool = True) -> str:
    """Return a fixed-width text table of result rows (accuracies as mean±CI half-width)."""
    widths = (12, 6, 12, 11, 11, 11, 11, 5, 6, 7, 7, 8, 9, 8)
    lines = []
    if header:
        lines.append("  ".join(c.ljust(w) for c, w in zip(TABLE_COLUMNS, widths)).rstrip())
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(table_cells(row), widths)).rstrip())
    return "\n".join(lines)


def format_regressions(regressions: Sequence[dict[str, Any]]) -> str:
    """Return one line per regression."""
    return "\n".join(
        f"REGRESSION {r['key']} {r['metric']}: {r['previous']:.4g} -> {r['current']:.4g} "
        f"({r['change']:+.1%})" for r in regressions
    )
