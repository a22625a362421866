# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The static dashboard: index.html and its plots from crafted result rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sam_detect.evaluation.cli import dashboard_main
from sam_detect.evaluation.dashboard import PLOTS, latest_run, write_dashboard

from .test_sweep import row


def _rows() -> list[dict]:
    rows = []
    for date, total, accuracy in (("2026-01-01", 100.0, 0.8), ("2026-01-02", 130.0, 0.6)):
        for fade in ("identity", "gaussian_s30"):
            r = row(accuracy5=accuracy, total_ms=total, fade=fade, date=date)
            r["commit"] = f"{date[-1]}" * 40
            rows.append(r)
    rows.append({"benchmark": "store", "backend": "edge", "size": 1000, "p50_ms": 0.1})
    rows.append({"benchmark": "store", "backend": "edge", "size": 10000, "p50_ms": 0.4})
    rows.append({"benchmark": "store", "store": "memory", "n": 1000, "median_ms": 0.05})
    rows.append({"benchmark": "gpu", "device": "NVIDIA H100", "stage": "embed", "ms": 3.2})
    return rows


def test_latest_run() -> None:
    latest = latest_run(_rows())
    assert {r["date"] for r in latest} == {"2026-01-02"} and len(latest) == 2


def test_write_dashboard(tmp_path: Path) -> None:
    page = write_dashboard(_rows(), tmp_path / "site")
    text = page.read_text()
    for name in PLOTS:
        plot = page.parent / name
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"src='{name}'" in text
    assert "http" not in text  # nothing fetched from the network
    assert "Regressions against the previous run" in text and "accuracy@5" in text
    assert "NVIDIA H100" in text  # the GPU rows table
    assert text.count("<tr>") >= 1 + 2 + 2  # results header + 2 rows, GPU + store tables


def test_empty_dashboard(tmp_path: Path) -> None:
    page = write_dashboard([], tmp_path)
    assert all((tmp_path / name).stat().st_size > 0 for name in PLOTS)
    assert "Regressions" not in page.read_text()


def test_dashboard_cli_reads_jsonl_and_evaluate_reports(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    report = {  # a `sam-detect evaluate --json` report (pretty-printed, one object)
        "dataset": {"path": "/data/bench", "images": 3, "instances": 9},
        "config": {"segmenter": "naive", "embedder": "average-v1", "store": "MemoryVectorStore",
                   "fade": {"kind": "gaussian", "sigma": 30.0, "min_fade": 0.05}},
        "few_shot": [{"shots": 1, "accuracy": {"mean": 0.4, "low": 0.3, "high": 0.5, "n": 3}}],
        "date": "2026-02-01", "commit": "f" * 40,
    }
    (tmp_path / "report.json").write_text(json.dumps(report, indent=2))
    assert dashboard_main([str(results), str(tmp_path / "report.json"),
                           "--out", str(tmp_path / "site")]) == 0
    assert "dashboard written" in capsys.readouterr().out
    text = (tmp_path / "site" / "index.html").read_text()
    assert "ffffffffffff" in text  # the evaluate report is the latest run


def test_open_set_plots_compare_datasets(tmp_path: Path) -> None:
    """The ROC of unknown and the per-dataset open-set bars are drawn from rows that have them."""
    from sam_detect.evaluation.dashboard import _latest_per_dataset

    rows = []
    for label, rejection in (("hard/validation", 0.3), ("easy_val", 0.55)):
        r = row(fade="hard_crop")
        r["dataset"]["label"] = label
        five = r["few_shot"][1]
        for metric, value in (("unknown_rejection", rejection), ("false_unknown", 0.1),
                              ("one_taught_others_unknown", 0.8),
                              ("one_taught_recognised", 0.85), ("ece", 0.08)):
            five[metric] = {"mean": value, "low": value - 0.02, "high": value + 0.02, "n": 5}
        five["unknown_roc"] = {"false_unknown": [0.0, 0.1, 1.0],
                               "unknown_rejection": [0.0, rejection, 1.0], "auc": 0.7}
        five["reliability"] = [{"low": 0.0, "high": 0.5, "confidence": 0.3, "accuracy": 0.25,
                                "count": 10},
                               {"low": 0.5, "high": 1.0, "confidence": 0.8, "accuracy": 0.7,
                                "count": 20}]
        rows.append(r)
    baseline = json.loads(json.dumps(rows[0]))
    baseline["decision"] = "baseline: fixed threshold"
    rows.append(baseline)
    assert len(_latest_per_dataset(rows)) == 3  # the baseline is its own series
    page = write_dashboard(rows, tmp_path)
    assert "ROC of unknown" in page.read_text()
    for name in ("unknown_roc.png", "open_set_by_dataset.png", "reliability.png"):
        assert (tmp_path / name).stat().st_size > 15000  # a real plot, not the empty notice


def _tracking_files(folder: Path) -> None:
    """Write a small tracking_eval.json and tracking_cpu.jsonl shaped like bench/results'."""
    def run(idf1: float, flips: float, dataset: str) -> dict:
        overall = {"idf1": idf1, "idp": 0.8, "idr": 0.7, "num_switches": 3, "mota": 0.5,
                   "precision": 0.85, "recall": 0.7, "num_frames": 120, "num_unique_objects": 6,
                   "label_flips_per_100_frames": flips, "label_accuracy": 1.0}
        return {"overall": overall, "sequences": {"seq000": dict(overall, tracks=3)},
                "iou_threshold": 0.5, "min_confidence": 0.3, "keyframe_interval": 5,
                "keyframe_share": 0.5, "ms_per_frame": 150.0, "dataset": dataset, "seed": 1,
                "commit": "b" * 40, "date": "2026-12-01T22:12:16+00:00"}

    report = {"note": "validation = seed 1; tune = seed 0",
              "runs": {"end_to_end_conf0.3_kf5": run(0.74, 0.0, "/tmp/val/sequences.json"),
                       "truth_masks_conf0.3_kf5": run(0.92, 0.0, "/tmp/val/sequences.json"),
                       "untracked_frame_index_ids": run(0.57, 8.98, "/tmp/val/sequences.json"),
                       "tune_end_to_end_conf0.3_kf5": run(0.83, 0.0,
                                                          "/tmp/tune/sequences.json")}}
    (folder / "tracking_eval.json").write_text(json.dumps(report, indent=1))
    speed = [{"path": "sam2 hiera-tiny (random) cpu", "untracked_ms": 140576.39,
              "tracked_ms": 25879.21, "ratio": 5.432, "keyframe_share": 0.2,
              "keyframe_interval": 5, "machine": "Linux", "date": "2026-12-01"},
             {"path": "naive + efficientnet-lite0", "untracked_ms": 152.39, "tracked_ms": 68.38,
              "ratio": 2.229, "keyframe_share": 0.525, "keyframe_interval": 5,
              "machine": "Linux", "date": "2026-12-01"}]
    (folder / "tracking_cpu.jsonl").write_text("".join(json.dumps(r) + "\n" for r in speed))


def test_dashboard_tracking_panel(tmp_path: Path) -> None:
    """Tracking results in the folder give the IDF1/flips plot, the speed-up and the GPU note."""
    from sam_detect.evaluation.dashboard import TRACKING_PLOTS, tracking_runs
    from sam_detect.evaluation.sweep import read_rows

    results = tmp_path / "results"
    results.mkdir()
    (results / "bench.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    _tracking_files(results)
    rows = read_rows([results])
    assert sorted((s, c) for s, c, _ in tracking_runs(rows))[-1] == (
        "validation", "untracked_frame_index_ids")
    assert ("tune", "end_to_end_conf0.3_kf5") in {(s, c) for s, c, _ in tracking_runs(rows)}
    assert dashboard_main([str(results), "--out", str(tmp_path / "site")]) == 0
    text = (tmp_path / "site" / "index.html").read_text()
    for name in TRACKING_PLOTS:
        assert (tmp_path / "site" / name).stat().st_size > 15000  # a real plot
        assert f"src='{name}'" in text
    assert "<h2>Tracking</h2>" in text and "IDF1 &ge; 0.90" in text
    assert "truth_masks_conf0.3_kf5" in text and "0.920" in text and "8.980" in text
    assert "5.43\u00d7" in text and "\u2265 3\u00d7: met" in text and "2.23\u00d7" in text
    assert "60 FPS GPU goal" in text and "no GPU was lent" in text
    assert "None benchmark rows" not in text  # tracking rows are not dumped as a generic table
    assert all((tmp_path / "site" / name).exists() for name in PLOTS)


def test_dashboard_without_tracking_results(tmp_path: Path) -> None:
    """Without tracking files the page builds and has no tracking panel."""
    from sam_detect.evaluation.dashboard import TRACKING_PLOTS

    results = tmp_path / "results"
    results.mkdir()
    (results / "bench.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    assert dashboard_main([str(results), "--out", str(tmp_path / "site")]) == 0
    text = (tmp_path / "site" / "index.html").read_text()
    assert "Tracking" not in text and "60 FPS" not in text
    assert not any((tmp_path / "site" / name).exists() for name in TRACKING_PLOTS)
    assert "accuracy@5" in text


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp.mkdir(exist_ok=True) or tmp, "no results in"),
    (lambda tmp: (tmp / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff") and
     tmp / "picture.png", "is not JSON text"),
])
def test_the_dashboard_refuses_what_is_not_a_result(tmp_path: Path, make, message) -> None:
    from sam_detect.errors import SamDetectError

    source = make(tmp_path)
    with pytest.raises(SamDetectError, match=message):
        dashboard_main([str(source), "--out", str(tmp_path / "site")])
