# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The dashboard shows category-level and instance-level figures side by side, with splits."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sam_detect.evaluation.cli import dashboard_main
from sam_detect.evaluation.dashboard import KINDS_PLOT, kinds_table


def _report(kind: str, split: str, shots: tuple[int, ...], accuracy: float) -> dict:
    """Return a `sam-detect evaluate --json` report of one kind and split."""
    def interval(value: float) -> dict:
        return {"mean": value, "low": value - 0.05, "high": value + 0.05, "n": 5}

    return {
        "dataset": {"path": f"/data/{kind}/{split}", "images": 120, "instances": 600,
                    "categories": ["a", "b"], "kind": kind, "split": split},
        "config": {"segmenter": "objectness", "embedder": "efficientnet-lite0",
                   "store": "MemoryVectorStore", "fade": {"kind": "hard_crop", "min_fade": 0.0},
                   "held_out": 4},
        "segmentation": {"recall": 0.57, "mean_iou": 0.78, "precision": 0.6},
        "few_shot": [{"shots": k, "queries": 100, "accuracy": interval(accuracy),
                      "unknown_rejection": interval(0.4), "false_unknown": interval(0.1),
                      "end_to_end": interval(accuracy / 2), "ece": interval(0.08),
                      "unknown_roc": {"false_unknown": [0.0, 1.0],
                                      "unknown_rejection": [0.0, 1.0], "auc": 0.75}}
                     for k in shots],
        "commit": "c" * 40, "date": "2026-12-07T00:00:00+00:00",
    }


def test_both_kinds_side_by_side_with_their_splits(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    for kind, shots, accuracy in (("category", (1, 5), 0.6), ("instance", (1, 3), 0.9)):
        for split in ("validation", "tune"):
            (results / f"eval_{kind}_{split}.json").write_text(
                json.dumps(_report(kind, split, shots, accuracy), indent=2))
    assert dashboard_main([str(results), "--out", str(tmp_path / "site")]) == 0
    text = (tmp_path / "site" / "index.html").read_text()
    assert "Category level and instance level, side by side" in text
    assert (tmp_path / "site" / KINDS_PLOT).stat().st_size > 15000  # a real plot
    assert f"src='{KINDS_PLOT}'" in text
    lines = re.findall(r"<tr><td>(category|instance)</td><td>(tune|validation)</td>"
                       r"<td>[^<]*</td><td>[^<]*</td><td>(\d+)</td>", text)
    assert lines == [("category", "tune", "1"), ("category", "tune", "5"),
                     ("category", "validation", "1"), ("category", "validation", "5"),
                     ("instance", "tune", "1"), ("instance", "tune", "3"),
                     ("instance", "validation", "1"), ("instance", "validation", "3")]
    assert "0.900 [0.850, 0.950]" in text and "0.750" in text  # accuracy, AUROC


def test_rows_without_a_kind_are_category_level() -> None:
    from sam_detect.evaluation.sweep import _as_row

    report = _report("category", "validation", (5,), 0.6)
    del report["dataset"]["kind"]
    row = _as_row(report)
    assert row["dataset"]["kind"] == "category"
    table = kinds_table([row])
    assert [cells[:2] for cells in table["body"]] == [["category", "validation"]]
