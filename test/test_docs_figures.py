# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Figures that README and docs quote from a benchmark run are that run's figures.

Bench scripts append their rows to ``bench/results/*.jsonl`` with a ``"run"`` id
(:func:`sam_detect.evaluation.sweep.append_rows`). A sentence of README.md or docs/*.md that names
a run (``run `ID```), or a table whose header row names one, quotes only that run: every decimal
figure in it (``6.8``, ``113.5``; integers are left alone: sizes, counts, targets) must be one of
the run's values rounded to the digits shown. Quoting two runs' figures as one run's, or keeping
an old figure after a re-measurement, fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A run id as append_rows writes it (UTC time-commit), or as given to rows recorded before run ids
# existed (benchmark-commit that recorded them-number).
RUN = re.compile(r"\brun `(\d{8}T\d{6}Z-\w{7}|[a-z][a-z0-9_]*-[0-9a-f]{7}-\d+)`")
DECIMAL = re.compile(r"(?<![\w.])(\d+\.\d+)(?![\w.]*\d)")
SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z`*\[(])")


def run_values() -> dict[str, list[float]]:
    """Return every numeric value of every row of every run in ``bench/results/*.jsonl``."""
    values: dict[str, list[float]] = {}

    def walk(item: Any, into: list[float]) -> None:
        if isinstance(item, bool):
            return
        if isinstance(item, (int, float)):
            into.append(float(item))
        elif isinstance(item, dict):
            for value in item.values():
                walk(value, into)
        elif isinstance(item, list):
            for value in item:
                walk(value, into)

    for path in sorted((ROOT / "bench" / "results").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if "run" in row:
                walk(row, values.setdefault(str(row["run"]), []))
    return values


def quoting_units(text: str) -> Iterator[tuple[str, list[str]]]:
    """Yield ``(text, runs named)`` per sentence and per row of a table whose header names one."""
    table_runs: list[str] = []
    paragraph: list[str] = []

    def sentences() -> Iterator[tuple[str, list[str]]]:
        for sentence in SENTENCE_END.split(" ".join(paragraph)):
            yield sentence, RUN.findall(sentence)

    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|"):
            if not table_runs and re.match(r"^\|[\s|:-]+\|$", stripped) is None:
                # the header row (the first row of a table) names the table's run, if any
                table_runs = RUN.findall(stripped) or ["-"]
            yield stripped, [r for r in table_runs if r != "-"] + RUN.findall(stripped)
            continue
        table_runs = []
        if stripped and not stripped.startswith(("```", "#", "![")):
            paragraph.append(stripped)
        else:
            yield from sentences()
            paragraph = []


def unquotable(figure: str, values: list[float]) -> bool:
    digits = len(figure.split(".")[1])
    return not any(f"{value:.{digits}f}" == figure for value in values)


def quoted() -> list[tuple[str, str, list[str]]]:
    out = []
    for doc in DOCS:
        for unit, runs in quoting_units(doc.read_text(encoding="utf-8")):
            if runs:
                out.append((doc.relative_to(ROOT).as_posix(), unit, sorted(set(runs))))
    return out


QUOTED = quoted()


def test_docs_name_runs() -> None:
    """The README's speed figures name their run (this test has something to check)."""
    assert any(doc == "README.md" and "FPS" in unit for doc, unit, _ in QUOTED)


@pytest.mark.parametrize(("doc", "unit", "runs"), QUOTED,
                         ids=[f"{doc}:{unit[:40]}" for doc, unit, _ in QUOTED])
def test_quoted_figures_come_from_the_named_run(doc: str, unit: str, runs: list[str]) -> None:
    values = run_values()
    missing = [run for run in runs if run not in values]
    assert not missing, f"{doc} names runs no bench/results/*.jsonl row has: {missing}"
    pooled = [value for run in runs for value in values[run]]
    wrong = [figure for figure in DECIMAL.findall(unit) if unquotable(figure, pooled)]
    assert not wrong, f"{doc}: {wrong} are not figures of run(s) {runs}: {unit}"
