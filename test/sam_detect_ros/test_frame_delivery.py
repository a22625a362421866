# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of sam_detect_ros.frame_delivery: frames that never reach the node are noticed."""

from __future__ import annotations

import pytest

from sam_detect_ros.frame_delivery import delivery_warning, DeliveryWatch

PERIOD_NS = 200_000_000  # 5 Hz, as the QA pass's stream


def feed(watch: DeliveryWatch, arrived: list[int], start: float = 0.0) -> float:
    """Deliver frames ``arrived`` (frame numbers) of a 5 Hz stream; return the time after."""
    for n in arrived:
        watch.arrived(now=start + n * 0.2, stamp_ns=(n + 1) * PERIOD_NS)
    return start + (max(arrived, default=0) + 1) * 0.2


def test_a_publisher_whose_frames_never_arrive_is_a_problem_after_the_silence() -> None:
    watch = DeliveryWatch(silence_s=5.0)
    assert watch.problem(now=100.0, publishers=1) is None
    assert watch.problem(now=104.0, publishers=1) is None
    assert watch.problem(now=105.0, publishers=1) == "no frame arrived in 5 s"


def test_frames_that_stop_are_a_problem_and_frames_that_resume_are_not() -> None:
    watch = DeliveryWatch(silence_s=5.0)
    watch.problem(now=0.0, publishers=1)
    now = feed(watch, list(range(20)))
    assert watch.problem(now=now, publishers=1) is None
    assert watch.problem(now=now + 6.0, publishers=1) == "no frame arrived in 6 s"
    watch.arrived(now=now + 6.5, stamp_ns=100 * PERIOD_NS)
    assert watch.problem(now=now + 7.0, publishers=1) is None


def test_no_publisher_means_silence_is_expected() -> None:
    watch = DeliveryWatch(silence_s=5.0)
    feed(watch, list(range(10)))
    assert watch.problem(now=60.0, publishers=0) is None
    assert watch.problem(now=61.0, publishers=1) is None  # a new publisher gets its time
    assert watch.problem(now=66.0, publishers=1) == "no frame arrived in 5 s"


@pytest.mark.parametrize("arrived", [
    # The QA pass: a 640x480 stream reached the node 1-5 times in 9, each 9 frames a run.
    [n for n in range(45) if n % 9 in (0, 1, 5)],
    [n for n in range(45) if n % 9 in (0, 1, 3, 5, 6)],
    [n for n in range(40) if n % 3 == 0 or n % 10 == 1],
])
def test_frames_arriving_far_below_the_publishers_rate_are_a_problem(arrived: list[int]) -> None:
    watch = DeliveryWatch()
    now = feed(watch, arrived)
    problem = watch.problem(now=now, publishers=1)
    assert problem is not None and problem.startswith(f"only {len(arrived)} of the ")


@pytest.mark.parametrize("arrived", [
    list(range(40)),                                     # everything
    [n for n in range(40) if n % 10 != 3],               # 90 %: the gap counter's business
    [n for n in range(0, 40, 3)],                        # a steady third: a slower publisher?
    [0, 1, 2],                                           # too few frames to judge
])
def test_steady_or_nearly_complete_streams_are_no_problem(arrived: list[int]) -> None:
    watch = DeliveryWatch()
    now = feed(watch, arrived)
    assert watch.problem(now=now, publishers=1) is None


def test_unstamped_frames_are_judged_by_silence_only() -> None:
    watch = DeliveryWatch(silence_s=5.0)
    for n in range(0, 40, 4):
        watch.arrived(now=n * 0.2, stamp_ns=0)
    assert watch.problem(now=8.0, publishers=1) is None


@pytest.mark.parametrize("environ, qos, says", [
    ({}, "sensor_data", "this node runs without one"),
    ({"FASTRTPS_DEFAULT_PROFILES_FILE": "/opt/shm.xml"}, "sensor_data",
     "this node uses /opt/shm.xml, the publisher's process needs it too"),
    ({}, "reliable", "with image_qos: reliable, a best-effort publisher delivers nothing"),
])
def test_the_warning_names_the_cause_and_the_profile(environ: dict, qos: str, says: str) -> None:
    text = delivery_warning("/front/image", 2, "no frame arrived in 5 s", qos, environ)
    assert text.startswith("/front/image has 2 publishers but no frame arrived in 5 s")
    assert "FASTRTPS_DEFAULT_PROFILES_FILE" in text and "config/fastdds_shm.xml" in text
    assert says in text
