# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Fixtures shared by the linter tests."""

from __future__ import annotations

from pathlib import Path
import subprocess

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repository_files() -> list[str]:
    """Return the repository's files relative to its root, as git sees them, sorted.

    Tracked and new files, minus ignored ones, so virtualenvs and build folders are left out.
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
        capture_output=True, text=True, check=True).stdout.split()
    return sorted(name for name in set(listed) if (ROOT / name).is_file())
