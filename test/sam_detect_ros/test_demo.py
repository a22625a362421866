# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Test of ``python -m sam_detect_ros.demo`` (what ``make demo`` runs) and its scene."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

from sam_detect.segmentation import NaiveSegmenter  # noqa: E402
from sam_detect_ros.demo import object_centre, object_picture, SCENE, synthetic_frame  # noqa: E402


@pytest.mark.parametrize("index", [0, 7])
def test_the_classical_segmenter_finds_each_scene_object(index: int) -> None:
    segments = NaiveSegmenter().segment(synthetic_frame(index))
    assert len(segments) == len(SCENE)
    for obj in SCENE:
        x, y = object_centre(obj, index)
        assert sum(bool(s.mask[y, x]) for s in segments) == 1, obj.name


def test_object_picture_mask_covers_the_object() -> None:
    image, mask = object_picture(SCENE[1])
    assert image.shape == (160, 160, 3) and mask.shape == (160, 160)
    assert mask[80, 80] and not mask[5, 5]
    assert 0.15 < mask.mean() < 0.25  # a 64 px box in 160 x 160


def test_demo_teaches_and_recognises(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "sam_detect_ros.demo", "--frames", "6", "--out", str(out)],
        capture_output=True, text=True, timeout=240, env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "recognised in 3 of 3 later frames" in result.stdout, result.stdout
    assert "label_instance(#" in result.stdout and "add_example('blue box'" in result.stdout
    assert "ONE frame" in result.stdout and "from ONE separate picture" in result.stdout
    import re

    box = re.search(r"the blue box, taught from one picture, was recognised in (\d+) of 3 later "
                    r"frames", result.stdout)
    wedge = re.search(r"the yellow wedge, which nobody taught, was left unknown in (\d+) of 3 "
                      r"later frames((?:; [^;\n]+ in \d+)*)\n", result.stdout)
    assert box and wedge, result.stdout
    others = [int(n) for n in re.findall(r" in (\d+)", wedge.group(2))]
    assert int(wedge.group(1)) + sum(others) == 3  # every later frame accounted for
    for name in ("overlay_before.png", "overlay.png"):
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import cv2

    overlay = cv2.imread(str(out / "overlay.png"))
    assert overlay.shape == (240, 320, 3) and np.ptp(overlay) > 100
