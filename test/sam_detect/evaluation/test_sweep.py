# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The bench sweep: JSON lines, regression detection and ``sam-detect bench``'s exit status."""

from __future__ import annotations

import json
from pathlib import Path
import re

import pytest

from sam_detect.errors import SamDetectError
from sam_detect.evaluation import sweep
from sam_detect.evaluation.cli import bench_main

MACHINE = {"processor": "x86_64", "cpus": 2, "device": "cpu"}


def row(accuracy5: float = 0.8, e2e5: float = 0.6, total_ms: float = 100.0,
        machine: dict | None = None, fade: str = "gaussian_s10", date: str = "2026-01-01") -> dict:
    """Return a crafted eval row."""
    return {
        "benchmark": "eval", "commit": "abc", "date": date, "machine": machine or MACHINE,
        "dataset": {"name": "bench", "images": 10, "instances": 30}, "segmenter": "naive",
        "embedder": "average", "fade": fade, "store": "memory",
        "few_shot": [
            {"shots": 1, "accuracy": {"mean": 0.5, "low": 0.4, "high": 0.6, "n": 5}},
            {"shots": 5, "accuracy": {"mean": accuracy5, "low": accuracy5 - 0.05,
                                      "high": accuracy5 + 0.05, "n": 5},
             "end_to_end": {"mean": e2e5, "low": None, "high": None, "n": 1}},
        ],
        "latency_ms": {"segment": {"median": total_ms * 0.6}, "total": {"median": total_ms}},
    }


@pytest.mark.parametrize("current, expected", [
    (row(), []),
    (row(accuracy5=0.75), []),                       # -6 %: within the 10 % threshold
    (row(accuracy5=0.70), ["accuracy@5"]),           # -12.5 %
    (row(e2e5=0.5), ["end_to_end@5"]),
    (row(total_ms=115.0), ["latency.segment_ms", "latency.total_ms"]),  # +15 %
    (row(total_ms=109.0), []),
    (row(total_ms=300.0, machine={**MACHINE, "device": "NVIDIA H100"}), []),  # other machine
    (row(fade="identity", accuracy5=0.1), []),       # no previous row of that combination
])
def test_find_regressions(current: dict, expected: list[str]) -> None:
    found = sweep.find_regressions([current], [row(accuracy5=0.5), row()], threshold=0.1)
    assert sorted(r["metric"] for r in found) == sorted(expected)


def test_latency_floor() -> None:
    old, new = row(total_ms=0.2), row(total_ms=0.9)  # +350 % but under 1 ms
    assert sweep.find_regressions([new], [old]) == []


def test_rows_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "results.jsonl"
    first = sweep.append_rows(path, [row(), row(fade="linear")])
    second = sweep.append_rows(path, [row(fade="identity")], run="mine")
    rows = sweep.read_rows([path])
    assert [r["fade"] for r in rows] == ["gaussian_s10", "linear", "identity"]
    # Each call's rows carry one run id; a row's own id is kept.
    assert [r["run"] for r in rows] == [first, first, "mine"] and second == "mine"
    assert re.fullmatch(r"\d{8}T\d{6}Z-\w{7}", first), first  # UTC time, commit
    sweep.append_rows(path, [{**row(), "run": "earlier"}])
    assert sweep.read_rows([path])[-1]["run"] == "earlier"
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\nnot json\n')
    with pytest.raises(SamDetectError, match="not JSON lines"):
        sweep.read_rows([tmp_path / "bad.jsonl"])
    with pytest.raises(SamDetectError, match="not found"):
        sweep.read_rows([tmp_path / "missing.jsonl"])


def test_git_commit_outside_a_repository(tmp_path: Path) -> None:
    assert sweep.git_commit(tmp_path) == "unknown"


def test_table_lists_every_row() -> None:
    table = sweep.format_table([row(), row(fade="identity")]).splitlines()
    assert table[0].split()[:3] == ["embedder", "store", "fade"]
    assert "0.800±0.050" in table[1] and table[2].split()[2] == "identity"


FADES = "identity,hard_crop"


def _bench(dataset: Path, out: Path, *extra: str) -> int:
    return bench_main(["--dataset", str(dataset), "--out", str(out), "--embedders", "average",
                       "--fades", FADES, "--stores", "memory,edge", "--seeds", "2", "--quick",
                       "-q", *extra])


def test_bench_writes_rows_and_flags_regressions(tiny_benchmark: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.jsonl"
    assert _bench(tiny_benchmark, out) == 0
    rows = sweep.read_rows([out])
    assert [(r["fade"], r["store"]) for r in rows] == [
        ("identity", "memory"), ("hard_crop", "memory"), ("hard_crop", "edge")]
    first = rows[0]
    assert first["benchmark"] == "eval" and first["commit"] and first["date"]
    assert first["machine"]["cpus"] >= 1
    assert [e["shots"] for e in first["few_shot"]] == [1, 3, 5, 10]
    assert set(first["latency_ms"]) >= {"segment", "fade", "embed", "search", "total"}
    assert "hard_crop" in capsys.readouterr().out

    # Against the same results: same accuracies (seeded), so no accuracy regression; a crafted
    # previous file with much better accuracy is one.
    better = []
    for r in rows:
        r = json.loads(json.dumps(r))
        for entry in r["few_shot"]:
            if "accuracy" in entry:
                entry["accuracy"]["mean"] = 1.0
        r["machine"] = {"processor": "other"}  # no latency comparison
        better.append(r)
    previous = tmp_path / "previous.jsonl"
    sweep.append_rows(previous, better)
    assert _bench(tiny_benchmark, tmp_path / "second.jsonl", "--previous", str(previous)) == 1
    assert "REGRESSION average/identity/memory accuracy@1" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--fades", "blur"], "unknown fade"),
    (["--stores", "disk"], "unknown store"),
    (["--threshold", "0"], "threshold"),
    (["--previous", "/nonexistent.jsonl"], "not found"),
])
def test_bench_errors(tiny_benchmark: Path, tmp_path: Path, args: list[str], message: str) -> None:
    with pytest.raises(SamDetectError, match=message):
        bench_main(["--dataset", str(tiny_benchmark), "--out", str(tmp_path / "r.jsonl"), *args])


def test_fade_margins_are_paired_by_seed() -> None:
    def with_runs(fade: str, values: list[float]) -> dict:
        r = row(fade=fade)
        r["runs"] = [{"seed": s, "shots": 5, "closed_set_accuracy": v}
                     for s, v in enumerate(values)]
        return r

    rows = [with_runs("gaussian_s10", [0.7, 0.8, 0.6]), with_runs("identity", [0.6, 0.7, 0.5])]
    margins = sweep.fade_margins(rows, metrics=("closed_set_accuracy",))
    assert [(m["fade"], m["against"]) for m in margins] == [("gaussian_s10", "identity")]
    # Seeds differ a lot but the paired difference is always +0.1: a zero-width interval.
    assert margins[0]["margin"]["mean"] == pytest.approx(0.1)
    assert margins[0]["margin"]["high"] - margins[0]["margin"]["low"] == pytest.approx(0.0)
    assert "gaussian_s10 - identity: closed_set_accuracy@5 +0.100" in sweep.format_margins(margins)


def test_read_rows_of_a_results_folder(tmp_path):
    from sam_detect.evaluation.sweep import read_rows

    (tmp_path / "a.jsonl").write_text('{"benchmark": "store", "n": 1}\n', encoding="utf-8")
    (tmp_path / "b.json").write_text('{\n  "benchmark": "open_set_tune",\n  "margin": 0.1\n}\n',
                                     encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    rows = read_rows([tmp_path])
    assert [r["benchmark"] for r in rows] == ["store", "open_set_tune"]
