# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Frames and requests take the models in arrival order: neither starves the other."""

from __future__ import annotations

import threading
import time
from typing import Callable

from sam_detect_ros.compute_lock import ComputeLock


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_a_waiting_request_goes_before_the_next_frame() -> None:
    lock = ComputeLock()
    order: list[str] = []
    frame_running = threading.Event()
    release_frame = threading.Event()

    def first_frame() -> None:
        with lock:
            frame_running.set()
            release_frame.wait(10)
            order.append("frame 1")

    def request() -> None:
        with lock:
            order.append("request")

    def next_frame() -> None:
        with lock:
            order.append("frame 2")

    threads = [threading.Thread(target=first_frame)]
    threads[0].start()
    frame_running.wait(10)
    threads.append(threading.Thread(target=request))
    threads[1].start()
    wait_for(lambda: lock.waiting() == 1)
    threads.append(threading.Thread(target=next_frame))
    threads[2].start()
    wait_for(lambda: lock.waiting() == 2)
    release_frame.set()
    for thread in threads:
        thread.join(10)
    assert order == ["frame 1", "request", "frame 2"]
    assert not lock.locked()


def run_against_a_loop(lock: ComputeLock, holder_period: float, count: int,
                       guest: Callable[[int], None]) -> int:
    """Run ``count`` guests while a loop takes the lock again at once after each turn.

    Returns:
        How many turns the loop had while the guests ran.
    """
    stop = threading.Event()
    turns = 0

    def loop() -> None:
        nonlocal turns
        while not stop.is_set():
            with lock:
                time.sleep(holder_period)
                turns += 1

    looper = threading.Thread(target=loop)
    looper.start()
    try:
        wait_for(lambda: turns > 3)
        before = turns
        guests = [threading.Thread(target=guest, args=(i,)) for i in range(count)]
        for thread in guests:
            thread.start()
        for thread in guests:
            thread.join(20)
        assert not any(thread.is_alive() for thread in guests), "a guest starved"
        return turns - before
    finally:
        stop.set()
        looper.join(10)


def test_a_busy_frame_loop_cannot_starve_requests() -> None:
    lock = ComputeLock()
    served: list[int] = []

    def request(index: int) -> None:
        with lock:
            served.append(index)

    frames = run_against_a_loop(lock, 0.002, 20, request)
    assert sorted(served) == list(range(20))
    # Each request waited at most for the frame running when it arrived.
    assert frames <= 21


def test_waiters_are_served_in_arrival_order() -> None:
    lock = ComputeLock()
    order: list[int] = []
    threads = []

    def waiter(index: int) -> None:
        with lock:
            order.append(index)

    with lock:
        for index in range(5):
            thread = threading.Thread(target=waiter, args=(index,))
            thread.start()
            wait_for(lambda n=index + 1: lock.waiting() == n)
            threads.append(thread)
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3, 4]
