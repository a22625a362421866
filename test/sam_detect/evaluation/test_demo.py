# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The README's core demo, on this folder's fake stamps (the real ones are a Debian package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sam_detect import demo


def test_demo_teaches_detects_and_writes_overlays(fake_stamps: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SAM_DETECT_STAMPS_DIR", str(fake_stamps))
    out = tmp_path / "demo"
    status = demo.main(["--out", str(out), "--images", "3", "--shots", "3", "--embedder",
                        "average", "--min-per-class", "4"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert sorted(p.name for p in (out / "overlays").iterdir()) == [
        "000001.png", "000002.png", "000003.png"]
    summary = printed.strip().splitlines()[-1]
    assert "found by the segmenter" in summary and "labelled right" in summary
    assert (out / "store").is_dir()


def test_demo_without_stamps_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SAM_DETECT_STAMPS_DIR", str(tmp_path / "missing"))
    assert demo.main(["--out", str(tmp_path / "demo")]) == 2
    assert "tuxpaint" in capsys.readouterr().err


def test_demo_never_deletes_a_folder_it_did_not_make(fake_stamps: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SAM_DETECT_STAMPS_DIR", str(fake_stamps))
    precious = tmp_path / "photos"
    precious.mkdir()
    (precious / "holiday.png").write_bytes(b"keep me")
    assert demo.main(["--out", str(precious), "--embedder", "average"]) == 2
    assert "not an earlier demo run" in capsys.readouterr().err
    assert (precious / "holiday.png").read_bytes() == b"keep me"
    assert demo.main(["--out", str(tmp_path / "d"), "--shots", "0"]) == 2


def test_demo_teaches_single_objects_and_says_what_happened_to_the_others(
        fake_stamps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import re

    monkeypatch.setenv("SAM_DETECT_STAMPS_DIR", str(fake_stamps))
    out = tmp_path / "demo"
    assert demo.main(["--out", str(out), "--images", "3", "--shots", "2", "--embedder",
                      "average", "--min-per-class", "4", "--objects", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("4. Teaching 2 single objects, ONE picture each") for line in lines)
    taught = [line for line in lines if re.match(
        r"\s+'this photo\d( \(\w+\))?': in the scenes \d+ time\(s\), found and named \d+$",
        line)]
    assert len(taught) == 2
    fate = next(line for line in lines if "objects nobody taught:" in line)
    total, unknown, labelled, missed = (int(v) for v in re.search(
        r"nobody taught: (\d+) in the scenes: (\d+) left unknown, (\d+) given a taught label"
        r".*, (\d+) not found by the segmenter", fate).groups())
    seen = sum(int(re.search(r"in the scenes (\d+)", line).group(1)) for line in taught)
    assert total == unknown + labelled + missed > 0
    objects = int(re.match(r"(\d+) objects in 3 scenes", lines[-1]).group(1))
    assert total + seen == objects  # every scene object is accounted for, taught or not
    assert "labelled right" in lines[-1]  # the category-level summary stays the last line
    assert (out / "store_objects").is_dir()
