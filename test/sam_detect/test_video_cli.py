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


# -- issue 17: outputs that destroy, disks that fill, videos that break ---------------------------

FAST = ["--track", "--store", "memory", "--embedder", "average", "-q"]


@pytest.mark.parametrize("alias", ["same", "symlink", "hardlink", "dotted"])
def test_an_output_onto_the_input_is_refused_and_the_video_survives(
        video: Path, tmp_path: Path, alias: str, capsys: Any) -> None:
    import shutil

    source = tmp_path / "in.avi"
    shutil.copy(video, source)
    before = source.read_bytes()
    output = {"same": source, "symlink": tmp_path / "link.avi",
              "hardlink": tmp_path / "hard.avi", "dotted": tmp_path / "." / "in.avi"}[alias]
    if alias == "symlink":
        output.symlink_to(source)
    elif alias == "hardlink":
        os.link(source, output)
    assert main([str(source), "--output", str(output), *FAST]) == 2
    err = capsys.readouterr().err
    assert "is the input video" in err and len(err.strip().splitlines()) == 1
    assert source.read_bytes() == before


def noise_video(path: Path, frames: int = 16) -> Path:
    """Write frames of noise: they compress badly (~60 kB a frame as MJPG at 320x240)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write((rng.random((240, 320, 3)) * 255).astype(np.uint8))
    writer.release()
    return path


def test_a_disk_that_fills_while_writing_is_an_error_not_success(
        tmp_path: Path, small_tmpfs: Any, fill_disk: Any, capsys: Any) -> None:
    # OpenCV's writer flushes every 256 kB, so the free space drops after a few frames.
    noisy = noise_video(tmp_path / "noise.avi")
    folder = small_tmpfs("4M")
    fill_disk(folder, leave=(1 << 20) + 320 * 240 * 3 + 150_000)
    output = folder / "out.avi"
    code = main([str(noisy), "--output", str(output), *FAST])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert f"--output {output}: the disk is full" in captured.err
    assert "incomplete" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "overlay written" not in captured.out


def test_a_disk_filled_behind_the_checks_back_is_still_caught(
        tmp_path: Path, small_tmpfs: Any, fill_disk: Any, capsys: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process fills the disk after each check: the finished file's count tells."""
    import sam_detect.video_cli

    monkeypatch.setattr(sam_detect.video_cli, "require_space", lambda *args: None,
                        raising=False)  # before issue 17 there was no check at all
    noisy = noise_video(tmp_path / "noise.avi")
    folder = small_tmpfs("4M")
    fill_disk(folder, leave=300_000)  # the overlay needs ~1 MB
    output = folder / "out.avi"
    code = main([str(noisy), "--output", str(output), *FAST])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert f"--output {output} holds " in captured.err and "is the disk full?" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert "overlay written" not in captured.out


def test_an_overlay_with_frames_missing_is_an_error(tmp_path: Path) -> None:
    from sam_detect.errors import SamDetectError
    from sam_detect.video_cli import check_written

    path = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for _ in range(3):
        writer.write(np.zeros((24, 32, 3), np.uint8))
    writer.release()
    check_written(str(path), 3)
    with pytest.raises(SamDetectError, match="holds 3 of the 12 frame"):
        check_written(str(path), 12)
    path.write_bytes(path.read_bytes()[:200])  # cut off: no index at all
    with pytest.raises(SamDetectError, match="holds 0 of the 3 frame"):
        check_written(str(path), 3)


def test_a_video_damaged_mid_stream_says_so_and_exits_2(video: Path, tmp_path: Path) -> None:
    data = bytearray(video.read_bytes())
    start, end = int(len(data) * 0.2), int(len(data) * 0.8)
    data[start:end] = bytes(end - start)  # the middle frames are zeros
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))
    result = run_cli(str(damaged), "--json", *FAST)
    assert result.returncode == 2, result
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    read = len(lines)
    assert 0 < read < FRAMES  # what could be read was tracked and printed
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [f"sam-detect: error: {damaged} is damaged: frame {read + 1} of {FRAMES} "
                      f"could not be decoded; frames 1-{read} were tracked"]
