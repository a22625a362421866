# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of sam_detect_ros.frame_worker: latest frame per camera, batches, counters, losses."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sam_detect_ros.frame_worker import FrameWorker, StampGapCounter

MS = 1_000_000  # nanoseconds


class Gated:
    """A process_batch that records each batch and waits for the test to release it."""

    def __init__(self, fail_on: str = "") -> None:
        self.batches: list[list[tuple[str, Any]]] = []
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()
        self.fail_on = fail_on
        self.worker: FrameWorker | None = None

    def __call__(self, frames: list[Any]) -> None:
        self.batches.append([(f.camera, f.message) for f in frames])
        self.entered.release()
        assert self.gate.wait(30)
        if any(f.message == self.fail_on for f in frames):
            raise RuntimeError("model exploded")
        for frame in frames:
            self.worker.count(frame.camera, "processed")


def make(max_batch: int = 0, fail_on: str = "") -> tuple[FrameWorker, Gated, list]:
    process, errors = Gated(fail_on), []
    worker = FrameWorker(process, errors.append, max_batch=max_batch)
    process.worker = worker
    return worker, process, errors


def test_latest_frame_of_each_camera_wins_and_cameras_share_a_batch() -> None:
    worker, process, _ = make()
    worker.start()
    worker.submit("front", "f0", 0)
    assert process.entered.acquire(timeout=30)  # f0 is in inference
    for index in range(1, 5):
        worker.submit("front", f"f{index}", 0)
    worker.submit("wrist", "w0", 0)
    worker.submit("wrist", "w1", 0)
    process.gate.set()
    assert worker.wait_idle() and worker.stop()
    assert process.batches == [[("front", "f0")], [("front", "f4"), ("wrist", "w1")]]
    assert worker.counts("front") == {"received": 5, "processed": 2, "dropped": 3, "failed": 0,
                                      "lost": 0}
    assert worker.counts("wrist")["dropped"] == 1
    assert worker.counts() == {"received": 7, "processed": 3, "dropped": 4, "failed": 0,
                               "lost": 0}


def test_max_batch_takes_turns_so_no_camera_starves() -> None:
    worker, process, _ = make(max_batch=1)
    worker.start()
    worker.submit("a", "a0", 0)
    assert process.entered.acquire(timeout=30)
    worker.submit("b", "b0", 0)
    worker.submit("a", "a1", 0)
    process.gate.set()
    assert worker.wait_idle() and worker.stop()
    assert process.batches == [[("a", "a0")], [("b", "b0")], [("a", "a1")]]


def test_a_failing_batch_counts_its_frames_and_the_worker_carries_on() -> None:
    worker, process, errors = make(fail_on="bad")
    process.gate.set()
    worker.start()
    worker.submit("front", "bad", 0)
    assert worker.wait_idle()
    worker.submit("front", "good", 0)
    assert worker.wait_idle() and worker.stop()
    assert [str(e) for e in errors] == ["model exploded"]
    assert worker.counts("front")["failed"] == 1 and worker.counts("front")["processed"] == 1


def test_stop_drops_waiting_frames_and_start_resumes() -> None:
    worker, process, _ = make()
    worker.start()
    worker.submit("front", "f0", 0)
    assert process.entered.acquire(timeout=30)
    worker.submit("front", "f1", 0)
    stopper = threading.Thread(target=worker.stop)
    stopper.start()
    process.gate.set()
    stopper.join(30)
    assert worker.counts("front")["dropped"] == 1
    worker.start()
    worker.submit("front", "f2", 0)
    assert worker.wait_idle() and worker.stop()
    assert process.batches == [[("front", "f0")], [("front", "f2")]]


@pytest.mark.parametrize("stamps_ms, lost", [
    ([100, 200, 300, 400, 500], 0),  # steady
    ([100, 200, 300, 400, 700, 800], 2),  # two frames missing
    ([100, 200, 300, 400, 500, 1000, 1100, 1400], 6),  # 4 + 2
    ([100, 200, 300, 400, 450, 500], 0),  # jitter, an extra frame: nothing lost
    ([100, 200, 300, 400, 10_000, 10_100], 0),  # a pause is not a loss
    ([100, 200, 300, 400, 100, 200, 300, 400, 500], 0),  # a bag played again
    ([0, 0, 0, 0], 0),  # unstamped frames
    ([100, 200, 300, 400, 400, 700], 2),  # a repeated stamp is ignored
])
def test_stamp_gaps_estimate_frames_lost_before_the_node(stamps_ms: list[int],
                                                         lost: int) -> None:
    counter = StampGapCounter()
    assert sum(counter.observe(stamp * MS) for stamp in stamps_ms) == lost


def test_losses_are_counted_per_camera() -> None:
    worker, process, _ = make()
    process.gate.set()
    for stamp in (100, 200, 300, 400, 800):
        worker.submit("front", "f", stamp * MS)
        worker.submit("wrist", "w", stamp * MS if stamp < 800 else 500 * MS)
    assert (worker.counts("front")["lost"], worker.counts("wrist")["lost"]) == (3, 0)
