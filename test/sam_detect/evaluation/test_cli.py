# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""``sam-detect make-benchmark`` and ``sam-detect evaluate`` through the main command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import sam_detect.evaluation.benchmark as mb
from sam_detect.cli import main
from sam_detect.evaluation.cli import format_report


def test_make_benchmark_command(fake_stamps: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(mb.STAMPS_ENV, str(fake_stamps))
    out = tmp_path / "bench"
    assert main(["make-benchmark", str(out), "--images", "3", "--size", "120x90",
                 "--objects-per-image", "1-2", "--min-per-class", "4", "-q"]) == 0
    assert "wrote 3 images" in capsys.readouterr().out
    data = json.loads((out / "annotations.json").read_text())
    assert len(data["images"]) == 3 and data["images"][0]["width"] == 120
    assert [c["name"] for c in data["categories"]] == ["birds", "flowers", "fruit", "vehicles"]


@pytest.mark.parametrize("argv, message", [
    (["make-benchmark", "OUT", "--size", "big"], "--size"),
    (["make-benchmark", "OUT", "--objects-per-image", "4-1"], "--objects-per-image"),
    (["evaluate", "/nonexistent-dataset"], "no COCO annotations"),
    (["evaluate", "DATA", "--shots", "1,x"], "--shots"),
])
def test_user_errors_exit_2(argv: list[str], message: str, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(mb.STAMPS_ENV, str(tmp_path))
    argv = [str(tmp_path / a) if a in ("OUT", "DATA") else a for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_missing_stamps_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(mb.STAMPS_ENV, str(tmp_path / "no-stamps"))
    assert main(["make-benchmark", str(tmp_path / "out")]) == 2
    assert "sudo apt-get install tuxpaint-stamps-default" in capsys.readouterr().err


@pytest.mark.parametrize("store", ["memory", "edge"])
def test_evaluate_command(tiny_benchmark: Path, tmp_path: Path, store: str,
                          capsys: pytest.CaptureFixture[str]) -> None:
    report_path = tmp_path / "report.json"
    assert main(["evaluate", str(tiny_benchmark), "--embedder", "average", "--shots", "1,2",
                 "--seeds", "2", "--held-out", "1", "--latency-images", "1", "--store", store,
                 "--fade", "gaussian", "--sigma", "15", "--json", str(report_path), "-q"]) == 0
    out = capsys.readouterr().out
    assert "segmentation: recall@IoU0.5" in out and "unknown-rejection" in out
    report = json.loads(report_path.read_text())
    assert report["config"]["fade"]["sigma"] == 15
    assert report["config"]["held_out"] == 1
    assert report["commit"] and report["machine"]["cpus"] >= 1
    assert format_report(report).splitlines()[0] == out.splitlines()[0]


def test_evaluate_json_to_stdout(tiny_benchmark: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tiny_benchmark), "--embedder", "average", "--shots", "1",
                 "--seeds", "1", "--metrics", "segmentation", "--json", "-", "-q"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["segmentation"]) >= {"recall", "mean_iou", "precision"}


def test_evaluate_a_hard_benchmark_root_reports_both_splits(
        tiny_benchmark: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    root = tmp_path / "hard"
    for split in ("tune", "validation"):
        shutil.copytree(tiny_benchmark, root / split)
    out = tmp_path / "results" / "report.json"
    assert main(["evaluate", str(root), "--embedder", "average", "--shots", "1", "--seeds", "1",
                 "--held-out", "1", "--metrics", "accuracy", "--json", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert printed.index("== tune split ==") < printed.index("== validation split ==")
    for split in ("tune", "validation"):
        report = json.loads((out.parent / f"report_{split}.json").read_text())
        assert report["dataset"]["path"].endswith(split)
        assert "one_taught_others_unknown" in report["few_shot"][0]
