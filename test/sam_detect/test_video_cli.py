# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of ``sam-detect VIDEO --track``: a video file in, overlay video and JSON lines out."""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

import cv2
import numpy as np
import pytest

from sam_detect.cli import main
from sam_detect.evaluation.sequences import noise_background, render_sequence, shape_cutouts

FRAMES = 24


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write an MJPG .avi: one object passes in front of another, one leaves and returns."""
    path = tmp_path_factory.mktemp("video") / "objects.avi"
    seq = render_sequence(shape_cutouts(40), noise_background((240, 180)), FRAMES,
                          np.random.default_rng(0))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (240, 180))
    for frame in seq.frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "sam_detect", *args], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_the_cli_tracks_a_video_file_into_an_overlay_video_and_json_lines(
        video: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    result = run_cli(str(video), "--track", "--output", str(out), "--json", "--store", "memory",
                     "--embedder", "average", "--keyframe-interval", "4")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["frame"] for line in lines] == list(range(FRAMES))
    assert lines[0]["keyframe"] and not all(line["keyframe"] for line in lines)
    ids = {inst["track_id"] for line in lines for inst in line["instances"]}
    assert 0 not in ids and 3 <= len(ids) <= 5
    assert all("mask_rle" in inst for inst in lines[0]["instances"])
    capture = cv2.VideoCapture(str(out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape == (180, 240, 3)


def test_without_json_it_prints_a_summary_of_the_tracks(video: Path, capsys: Any) -> None:
    assert main([str(video), "--track", "--store", "memory", "--embedder", "average", "-q",
                 "--max-frames", "6"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{video}: 6 frame(s)") and "track 1 " in out


@pytest.mark.parametrize("args, message", [
    (["missing.avi"], "no video file missing.avi"),
    (["a.avi", "b.avi"], "one video file or camera index"),
    (["{video}", "--output", "{tmp}/out.png"], "write a video file"),
    (["{video}", "--output", "{tmp}/typo/out.mp4"], "typo does not exist"),
    (["{tmp}/not_a_video.avi"], "cannot open video"),
])
def test_bad_video_input_is_a_one_line_error(video: Path, tmp_path: Path, args: list,
                                             message: str, capsys: Any) -> None:
    (tmp_path / "not_a_video.avi").write_text("hello")
    args = [a.format(video=video, tmp=tmp_path) for a in args]
    assert main([*args, "--track", "--store", "memory", "--embedder", "average", "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
