# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""flake8 over every Python file of the repository, with ament_flake8's configuration.

As in the ros2/examples packages (``ament_flake8.main.main_with_errors``); the files are listed
by git (tracked and new, minus ignored), so virtualenvs and build folders are left out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_files(repository_files: list[str]) -> list[str]:
    """Return the repository's Python files (``.py`` and python scripts), relative to ROOT."""
    return [name for name in repository_files if name.endswith(".py")
            or (ROOT / name).read_bytes()[:64].startswith(b"#!/usr/bin/env python")]


def test_flake8(repository_files: list[str]) -> None:
    main = pytest.importorskip("ament_flake8.main", reason="pip install ros-jazzy-ament-flake8")
    files = python_files(repository_files)
    assert "sam_detect_ros/detect_node.py" in files
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        # One process: flake8's pool forks this test process, which by now runs DDS, torch and
        # web-server threads; a forked child once crashed in garbage collection and the pool
        # waited forever for its lost result (the suite's timeout). Serial: ~10 s instead of ~6.
        patch.setattr("flake8.checker._try_initialize_processpool", lambda *args: None)
        rc, errors = main.main_with_errors(argv=files)
    assert rc == 0, f"{len(errors)} code style errors / warnings:\n" + "\n".join(errors)
