# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""``sam-detect photos/`` in a real terminal: the progress bar and the results never share a line.

The command runs on a pseudo-terminal (both stdout and stderr on it, as in a person's shell), and
the bytes it wrote are replayed on a small screen model (carriage return, newline, cursor up),
so the test sees the lines a person would read.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import cv2
import pytest

LAYOUT = [("red_disc", (60, 60), 28), ("blue_square", (200, 70), 26),
          ("yellow_ring", (80, 170), 30)]


def screen(data: str) -> list[str]:
    """Replay terminal output; return the screen's lines (trailing blanks stripped)."""
    lines: list[list[str]] = [[]]
    row = col = 0
    for token in re.findall(r"\x1b\[[0-9;]*[A-Za-z]|.", data, flags=re.S):
        if token == "\r":
            col = 0
        elif token == "\n":
            row += 1
            col = 0  # the pty turns \n into \r\n
            if row == len(lines):
                lines.append([])
        elif token.startswith("\x1b["):
            if token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
            # other sequences (colours, clear to end of line) change no text position here
        else:
            line = lines[row]
            line.extend(" " * (col - len(line) + 1))
            line[col] = token
            col += 1
    return ["".join(line).rstrip() for line in lines]


def run_on_terminal(args: list[str]) -> list[str]:
    """Run ``sam-detect ARGS`` with stdout and stderr on one pseudo-terminal; return its screen."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "160"}
    process = subprocess.Popen([sys.executable, "-m", "sam_detect", *args], stdout=slave,
                               stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=180) == 0, b"".join(chunks).decode(errors="replace")
    return screen(b"".join(chunks).decode(errors="replace"))


@pytest.fixture
def photos(tmp_path, make_scene):
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(4):
        image, _ = make_scene(LAYOUT, seed=seed)
        cv2.imwrite(str(folder / f"p{seed}.png"), image[:, :, ::-1])
    return folder


FLAGS = ["--segmenter", "naive", "--embedder", "average", "--store", "memory"]


def test_results_and_the_progress_bar_never_share_a_line(photos):
    lines = run_on_terminal([str(photos), *FLAGS])
    results = [line for line in lines if "object(s) in" in line]
    assert len(results) == 4, lines
    for line in results:
        assert line.startswith(str(photos)), line  # nothing of the bar before it
        assert "image/s" not in line and "%|" not in line, line  # nor after it
    assert any(re.search(r"100%\|.*\| 4/4", line) for line in lines), lines  # the bar is there


def test_json_lines_stay_whole_under_the_bar(photos):
    import json

    lines = run_on_terminal([str(photos), "--json", *FLAGS])
    parsed = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(parsed) == 4 and all("instances" in p for p in parsed)


def test_quiet_turns_the_bar_off(photos):
    lines = run_on_terminal([str(photos), "--quiet", *FLAGS])
    assert not any("%|" in line for line in lines), lines
    assert sum("object(s) in" in line for line in lines) == 4
