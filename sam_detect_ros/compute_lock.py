# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The node's one lock around the models, taken in arrival order so nobody starves.

Inference, teaching (``add_example``, ``label_instance`` by track), runtime parameter changes and
the web UI share the models, so they take turns. A plain :class:`threading.Lock` is not fair: the
frame worker releases it after a frame and takes it again at once for the next one, so under a
camera that always has a frame waiting a service call could wait for many frames (a CI run saw an
``add_example`` unanswered after 30 s behind 2 s frames). Strict priority for requests would
starve the camera instead while a client teaches in a loop. Here every holder queues in arrival
order: a request waits for the running frame and the requests ahead of it, and the next frame
waits only for the requests that were already waiting.

No rclpy inside.

Example:
    >>> lock = ComputeLock()
    >>> with lock:
    ...     lock.locked()
    True
    >>> lock.locked()
    False
"""

from __future__ import annotations

import itertools
import threading


class ComputeLock:
    """A non-reentrant first-come, first-served lock."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._held = False
        self._tickets = itertools.count()
        self._queue: list[int] = []  # tickets of the threads waiting, in arrival order

    def locked(self) -> bool:
        """Return whether a thread holds the lock."""
        with self._condition:
            return self._held

    def waiting(self) -> int:
        """Return how many threads wait for the lock."""
        with self._condition:
            return len(self._queue)

    def __enter__(self) -> ComputeLock:
        with self._condition:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            try:
                self._condition.wait_for(lambda: not self._held and self._queue[0] == ticket)
            finally:  # also when interrupted: the next in line must not wait for us
                self._queue.remove(ticket)
                self._condition.notify_all()
            self._held = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._condition:
            self._held = False
            self._condition.notify_all()
