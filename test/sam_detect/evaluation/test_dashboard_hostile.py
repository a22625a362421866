# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The dashboard on hostile and careless results files: markup stays text, bad types are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sam_detect.evaluation.cli import dashboard_main
from sam_detect.evaluation.dashboard import clean_rows, PLOTS, write_dashboard

from .test_sweep import row

CHROMIUM = Path("/usr/bin/chromium")
PAYLOADS = ('<img src=x onerror="window.__xss=1">', "<script>window.__xss=2</script>",
            "' onmouseover='window.__xss=3' x='", '"><svg onload="window.__xss=4">')


def _hostile_results(folder: Path) -> Path:
    """Write a results folder whose every string field carries markup; return the folder."""
    img, script, quote, svg = PAYLOADS
    eval_row = row(fade="hard_crop")
    eval_row.update(commit=script, date=quote, embedder=svg, store=img, segmenter=img)
    eval_row["machine"] = {"cpus": img, "processor": script, "device": svg}
    eval_row["dataset"] = {"name": img, "images": img, "instances": script, "label": quote,
                           "split": svg, "kind": img}
    eval_row["few_shot"][1]["unknown_roc"] = {"false_unknown": [0.0, 1.0],
                                              "unknown_rejection": [0.0, 1.0], "auc": 0.5}
    rows = [eval_row,
            {"benchmark": "gpu", "device": img, "stage": script, "ms": 3.2},
            {"benchmark": img, "note": svg},
            {"benchmark": "store", "store": quote, "size": 1000, "p50_ms": 0.1},
            {"path": svg, "untracked_ms": 100.0, "tracked_ms": 50.0, "keyframe_interval": 5,
             "date": img}]
    folder.mkdir()
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    overall = {"idf1": 0.9, "label_flips_per_100_frames": 0.0}
    (folder / "tracking_eval.json").write_text(json.dumps(
        {"note": img, "runs": {script: {"overall": overall, "dataset": quote}}}))
    return folder


@pytest.fixture
def hostile_page(tmp_path: Path) -> Path:
    """Return the dashboard written from the hostile results folder."""
    results = _hostile_results(tmp_path / "results")
    assert dashboard_main([str(results), "--out", str(tmp_path / "site")]) == 0
    return tmp_path / "site" / "index.html"


def test_every_string_from_a_results_file_is_escaped(hostile_page: Path) -> None:
    text = hostile_page.read_text()
    for payload in ("<img src=x", "<script>window", "<svg onload", "onmouseover='window"):
        assert payload not in text
    assert "&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;" in text  # shown, as text
    assert "&lt;script&gt;window.__xss=2&lt;/script&gt;" in text
    # The page's own markup is still markup: the plots are images, tables are tables.
    assert "<img src='accuracy_by_fade.png'" in text and "<table>" in text


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_no_script_runs_when_the_page_is_opened_in_chromium(hostile_page: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(hostile_page.as_uri())
            page.wait_for_load_state("load")
            page.mouse.move(10, 10)
            for cell in page.query_selector_all("td")[:200]:
                cell.hover()  # the onmouseover payload, if it had become an attribute
            assert page.evaluate("window.__xss") is None
            assert page.evaluate("document.querySelectorAll('script, svg').length") == 0
            body = page.inner_text("body")
            assert PAYLOADS[0] in body and PAYLOADS[1] in body  # the user sees the text
        finally:
            browser.close()


@pytest.mark.parametrize("field, value, named", [
    ("latency_ms", "fast", "latency_ms (str)"),
    ("few_shot", "lots", "few_shot (str)"),
    ("machine", ["x"], "machine (list)"),
    ("dataset", 3, "dataset (int)"),
    ("embedding_quality", {"nn_agreement": "high"}, "embedding_quality.nn_agreement (str)"),
])
def test_wrongly_typed_fields_are_left_out_and_named(tmp_path: Path, field: str, value: object,
                                                     named: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bad = row(fade="hard_crop", date="2026-01-03")
    bad[field] = value
    results = tmp_path / "r.jsonl"
    results.write_text("".join(json.dumps(r) + "\n" for r in (row(), bad)))
    assert dashboard_main([str(results), "--out", str(tmp_path / "site")]) == 0
    assert named in capsys.readouterr().err
    text = (tmp_path / "site" / "index.html").read_text()
    assert f"row 2 {named}" in text
    assert all((tmp_path / "site" / name).stat().st_size > 0 for name in PLOTS)


@pytest.mark.parametrize("entry, named", [
    ({"shots": "5", "accuracy": {"mean": 0.5}}, "few_shot entry (dict)"),
    ({"shots": 5, "accuracy": {"mean": "0.5"}}, "few_shot.accuracy (dict)"),
    ({"shots": 5, "accuracy": {"mean": 0.5}, "reliability": "good"}, "few_shot.reliability"),
    ({"shots": 5, "accuracy": {"mean": 0.5}, "unknown_roc": {"false_unknown": "x"}},
     "few_shot.unknown_roc (dict)"),
    ("five", "few_shot entry (str)"),
])
def test_wrongly_typed_shot_entries(tmp_path: Path, entry: object, named: str) -> None:
    bad = row(fade="hard_crop", date="2026-01-03")
    bad["few_shot"].append(entry)
    page = write_dashboard([row(fade="hard_crop"), bad], tmp_path)
    assert named in page.read_text()


def test_a_jsonl_of_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sam_detect.errors import SamDetectError

    results = tmp_path / "lists.jsonl"
    results.write_text("[1, 2]\n[3]\n")
    with pytest.raises(SamDetectError, match="no results in"):
        dashboard_main([str(results), "--out", str(tmp_path / "site")])
    results.write_text("[1, 2]\n" + json.dumps(row()) + "\n")
    assert dashboard_main([str(results), "--out", str(tmp_path / "site")]) == 0
    assert "row 1 (list, not a result)" in capsys.readouterr().err


def test_clean_rows_keeps_what_is_right() -> None:
    good = row()
    kept, ignored = clean_rows([good])
    assert kept == [good] and ignored == []
