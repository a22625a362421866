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


ROUNDS, REQUESTS = 40, 2  # a plain lock keeps all requests first in ~1 round of 3


def test_a_busy_frame_loop_cannot_starve_requests() -> None:
    """A frame loop that takes the lock again at once still lets every waiting request in first.

    Like a camera that always has the next frame ready: the loop releases the lock after a frame
    and asks for it again immediately. In each of several rounds, requests queue up (one by one,
    so their arrival order is known) while a frame holds the lock; all of them must be served, in
    arrival order, before the loop's next frame. A plain lock lets the releasing thread take it
    straight back, so the next frame overtakes them; nothing here depends on timing.
    """
    lock = ComputeLock()
    order: list[str] = []
    queued = [threading.Event() for _ in range(ROUNDS)]

    def frames() -> None:
        for turn in range(ROUNDS + 1):
            with lock:
                order.append(f"frame {turn}")
                if turn < ROUNDS:
                    queued[turn].wait(30)  # hold this frame until the round's requests wait

    def request(name: str) -> None:
        with lock:
            order.append(name)

    loop = threading.Thread(target=frames)
    guests: list[threading.Thread] = []
    loop.start()
    try:
        for turn in range(ROUNDS):
            wait_for(lambda t=turn: f"frame {t}" in order)
            for index in range(REQUESTS):
                guests.append(threading.Thread(target=request, args=(f"request {turn}.{index}",)))
                guests[-1].start()
                wait_for(lambda n=index + 1: lock.waiting() >= n)
            queued[turn].set()
    finally:
        for event in queued:  # whatever failed, let every thread finish
            event.set()
        loop.join(30)
        for thread in guests:
            thread.join(30)
    expected = ["frame 0"]
    for turn in range(ROUNDS):
        expected += [f"request {turn}.{index}" for index in range(REQUESTS)]
        expected.append(f"frame {turn + 1}")
    assert order == expected
    assert not lock.locked() and lock.waiting() == 0


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
