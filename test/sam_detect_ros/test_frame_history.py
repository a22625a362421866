# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of sam_detect_ros.frame_history: recent frames per camera, by stamp."""

from __future__ import annotations

import pytest

from sam_detect.errors import SamDetectError
from sam_detect_ros.frame_history import FrameHistory, RecentFrame


def frame(sec: int, camera: str = "") -> RecentFrame:
    return RecentFrame(sec * 10**9, (), camera)


def test_keeps_the_last_frames_of_each_camera() -> None:
    history = FrameHistory(size=2)
    for sec in (1, 2, 3):
        history.add(frame(sec, "front"))
    history.add(frame(10, "wrist"))
    assert history.get(1 * 10**9) is None
    assert history.get(2 * 10**9).camera == "front" and history.get(10 * 10**9).camera == "wrist"
    assert history.latest().stamp == 10 * 10**9 and history.latest("front").stamp == 3 * 10**9
    assert history.get(10 * 10**9, camera="front") is None


def test_shrinking_keeps_the_latest_frame() -> None:
    history = FrameHistory(size=3)
    for sec in (1, 2, 3):
        history.add(frame(sec))
    history.size = 1
    history.add(frame(4))
    assert [history.get(s * 10**9) is not None for s in (1, 2, 3, 4)] == [False] * 3 + [True]


def test_a_stamp_shared_by_two_cameras_needs_the_camera() -> None:
    history = FrameHistory(size=5)
    history.add(frame(7, "front"))
    history.add(frame(7, "wrist"))
    with pytest.raises(SamDetectError, match="cameras front, wrist all have stamp 7.000000000"):
        history.get(7 * 10**9)
    assert history.get(7 * 10**9, camera="wrist").camera == "wrist"


@pytest.mark.parametrize("camera, expected", [
    ("", "frame 5.000000042"), ("front", "frame 5.000000042 of camera front")])
def test_describe(camera: str, expected: str) -> None:
    assert RecentFrame(5 * 10**9 + 42, (), camera).describe() == expected
