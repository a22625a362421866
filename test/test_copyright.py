# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Every source file starts with the project's copyright and SPDX license lines.

The equivalent of ament_copyright (not published on PyPI) for this project's header:
``# Copyright <year> The sam_detect_ros Authors`` then ``# SPDX-License-Identifier: MIT``,
after a shebang line if there is one. Checked: Python files and scripts, shell scripts, CMake
files; the license named must match package.xml's.
"""

from __future__ import annotations

from pathlib import Path
import re
import xml.etree.ElementTree as ElementTree

ROOT = Path(__file__).resolve().parents[1]
COPYRIGHT = re.compile(r"# Copyright (19|20)\d\d(-20\d\d)? The sam_detect_ros Authors$")
LICENSE = "# SPDX-License-Identifier: MIT"


def source_files(repository_files: list[str]) -> list[str]:
    """Return the files that need a header: Python, shell and CMake sources and scripts."""
    return [name for name in repository_files
            if name.endswith((".py", ".sh", ".cmake")) or Path(name).name == "CMakeLists.txt"
            or (ROOT / name).read_bytes()[:2] == b"#!"]


def header_problem(path: Path) -> str | None:
    """Return what is wrong with the file's header, or None."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("#!"):
        lines = lines[1:]
    if not lines or not COPYRIGHT.match(lines[0]):
        return "first line is not '# Copyright <year> The sam_detect_ros Authors'"
    if len(lines) < 2 or lines[1] != LICENSE:
        return f"second line is not '{LICENSE}'"
    return None


def test_every_source_file_has_the_header(repository_files: list[str]) -> None:
    files = source_files(repository_files)
    assert "scripts/bootstrap.sh" in files and "CMakeLists.txt" in files
    problems = [f"{name}: {problem}" for name in files
                if (problem := header_problem(ROOT / name)) is not None]
    assert not problems, "missing copyright/license headers:\n" + "\n".join(problems)


def test_package_license_matches_the_headers() -> None:
    package = ElementTree.parse(ROOT / "package.xml").getroot()
    assert [e.text for e in package.findall("license")] == ["MIT"]
