# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of launch/detect.launch.py without the launch packages (they are not on PyPI).

The file compiles, and its helpers (Fast DDS profile, parameters, remapping) do what the launch
promises; generate_launch_description itself needs a ROS install.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import py_compile
from types import ModuleType

import pytest

LAUNCH_FILE = Path(__file__).resolve().parents[2] / "launch" / "detect.launch.py"
PROFILE = "/opt/ros/share/sam_detect_ros/config/fastdds_shm.xml"


@pytest.fixture(scope="module")
def launch() -> ModuleType:
    spec = importlib.util.spec_from_file_location("detect_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launch_file_compiles(tmp_path: Path) -> None:
    py_compile.compile(str(LAUNCH_FILE), cfile=str(tmp_path / "launch.pyc"), doraise=True)


@pytest.mark.parametrize("environ, profile, expected", [
    ({}, PROFILE, {"FASTRTPS_DEFAULT_PROFILES_FILE": PROFILE,
                   "FASTDDS_DEFAULT_PROFILES_FILE": PROFILE}),
    ({"FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"}, PROFILE, {}),
    ({"FASTDDS_DEFAULT_PROFILES_FILE": "/mine.xml"}, PROFILE, {}),
    ({"FASTRTPS_DEFAULT_PROFILES_FILE": ""}, PROFILE,
     {"FASTRTPS_DEFAULT_PROFILES_FILE": PROFILE, "FASTDDS_DEFAULT_PROFILES_FILE": PROFILE}),
    ({}, "", {}),
])
def test_fastdds_profile_is_set_unless_chosen(launch: ModuleType, environ: dict, profile: str,
                                              expected: dict) -> None:
    assert launch.fastdds_environment(environ, profile) == expected


@pytest.mark.parametrize("params_file, device, expected", [
    ("/p/detect.yaml", "", ["/p/detect.yaml"]),
    ("/p/detect.yaml", "cuda", ["/p/detect.yaml", {"device": "cuda"}]),
    ("", "cpu", [{"device": "cpu"}]),
])
def test_node_parameters(launch: ModuleType, params_file: str, device: str,
                         expected: list) -> None:
    assert launch.node_parameters(params_file, device) == expected


@pytest.mark.parametrize("topic, expected", [
    ("/camera/color/image_raw", [("image", "/camera/color/image_raw"),
                                 ("image/compressed", "/camera/color/image_raw/compressed")]),
    ("image_raw", [("image", "image_raw"), ("image/compressed", "image_raw/compressed")]),
    ("image", []),
    ("", []),
])
def test_image_remapping(launch: ModuleType, topic: str, expected: list) -> None:
    assert launch.node_remappings(topic) == expected


@pytest.mark.parametrize("depth, camera_info, expected", [
    ("/cam/aligned_depth_to_color/image_raw", "/cam/color/camera_info",
     [("depth", "/cam/aligned_depth_to_color/image_raw"),
      ("camera_info", "/cam/color/camera_info")]),
    ("", "info", [("camera_info", "info")]),
    ("depth", "", []),
])
def test_depth_remapping(launch: ModuleType, depth: str, camera_info: str,
                         expected: list) -> None:
    assert launch.node_remappings("image", depth, camera_info) == expected
