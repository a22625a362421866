# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Latest frame wins, per camera, and frames of several cameras run through the models together.

Camera callbacks :meth:`FrameWorker.submit` a frame and return at once. Each camera has a
one-frame slot: a frame that arrives while the worker is busy waits there, and a newer frame of the
same camera replaces it (counted as ``dropped``). When the worker is free it takes every waiting
frame, at most one per camera, and hands them to ``process_batch`` as one batch, so two cameras
cost one embedder call per round instead of two.

Frames lost before they reach the node (DDS drops best-effort samples under load; a
``KEEP_LAST`` queue overflows) never reach a callback. :class:`StampGapCounter` estimates them
from gaps in the header stamps (ROS 2 headers have no sequence number): ``lost``; a
:class:`~sam_detect_ros.frame_delivery.DeliveryWatch` per camera notices when a publisher's
frames stop reaching the node altogether (:meth:`FrameWorker.delivery_problem`).

No rclpy inside.

Example:
    >>> batches = []
    >>> worker = FrameWorker(lambda frames: batches.append([f.camera for f in frames]))
    >>> worker.submit("front", "frame 1", 0); worker.submit("wrist", "frame 2", 0)
    >>> worker.start()
    >>> worker.wait_idle(), worker.stop()
    (True, True)
    >>> batches
    [['front', 'wrist']]
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
import statistics
import threading
import time
from typing import Any, Callable

from sam_detect_ros.frame_delivery import DeliveryWatch

COUNTERS = ("received", "processed", "dropped", "failed", "lost")


@dataclass
class Frame:
    """One frame waiting for the models.

    Attributes:
        camera: The camera's name (``""`` for the single-camera input).
        message: The message as it arrived (decoded by the worker, not the callback).
        received: ``time.monotonic()`` when it arrived.
    """

    camera: str
    message: Any
    received: float = field(default_factory=time.monotonic)


class StampGapCounter:
    """Estimates frames missing from a stream from gaps between consecutive header stamps.

    The frame period is the median of recent intervals; an interval of ``n`` periods (rounded,
    ``n >= 2``) means ``n - 1`` frames never arrived. Intervals longer than ``pause_s`` and
    ``pause_periods`` periods are a paused or restarted stream, not losses; stamps that go back
    or repeat, and zero stamps, are ignored.

    Example:
        >>> counter = StampGapCounter()
        >>> [counter.observe(int(t * 1e8)) for t in (0, 1, 2, 3, 4, 7, 8)]
        [0, 0, 0, 0, 0, 2, 0]
    """

    def __init__(self, window: int = 30, min_intervals: int = 3, pause_s: float = 2.0,
                 pause_periods: int = 20) -> None:
        self._intervals: collections.deque[int] = collections.deque(maxlen=window)
        self._min_intervals = min_intervals
        self._pause_ns = int(pause_s * 1e9)
        self._pause_periods = pause_periods
        self._last: int | None = None

    def observe(self, stamp_ns: int) -> int:
        """Record a frame's stamp (nanoseconds); return how many frames are missing before it."""
        if stamp_ns <= 0:
            return 0
        last, self._last = self._last, stamp_ns
        if last is None or stamp_ns <= last:
            if last is not None and stamp_ns < last:
                self._intervals.clear()  # time went back (a bag restarted): start again
            return 0
        interval = stamp_ns - last
        if len(self._intervals) < self._min_intervals:
            self._intervals.append(interval)
            return 0
        period = statistics.median(self._intervals)
        periods = round(interval / period)
        if periods < 2:
            self._intervals.append(interval)
            return 0
        if interval > self._pause_ns and periods > self._pause_periods:
            self._intervals.clear()
            return 0
        return periods - 1


class FrameWorker:
    """A worker thread running batches of the latest frame of each camera.

    Args:
        process_batch: Called on the worker thread with the waiting frames (one per camera, in
            the order the cameras first submitted; with ``max_batch``, the cameras served least
            recently first). It reports each frame's outcome with
            :meth:`count` (``processed`` or ``failed``).
        on_error: Called with an exception ``process_batch`` raised; every frame of that batch
            is counted as failed and the worker carries on.
        max_batch: At most this many frames per batch (0: one per waiting camera).
    """

    def __init__(self, process_batch: Callable[[list[Frame]], Any],
                 on_error: Callable[[BaseException], Any] | None = None,
                 max_batch: int = 0) -> None:
        self._process_batch = process_batch
        self._on_error = on_error
        self.max_batch = max_batch
        self._condition = threading.Condition()
        self._pending: dict[str, Frame] = {}
        self._order: list[str] = []
        self._counts: dict[str, dict[str, int]] = {}
        self._gaps: dict[str, StampGapCounter] = {}
        self._delivery: dict[str, DeliveryWatch] = {}
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- producers -----------------------------------------------------------------------------

    def submit(self, camera: str, message: Any, stamp_ns: int) -> None:
        """Offer a camera's new frame; it replaces that camera's waiting frame, if any."""
        with self._condition:
            counts = self._counts_of(camera)
            counts["received"] += 1
            counts["lost"] += self._gaps[camera].observe(stamp_ns)
            self._watch(camera).arrived(time.monotonic(), stamp_ns)
            if camera in self._pending:
                counts["dropped"] += 1
            self._pending[camera] = Frame(camera, message)
            self._condition.notify_all()

    def count(self, camera: str, counter: str, amount: int = 1) -> None:
        """Add to one of a camera's counters (``processed``, ``failed``...)."""
        with self._condition:
            self._counts_of(camera)[counter] += amount

    def counts(self, camera: str | None = None) -> dict[str, int]:
        """Return the counters of ``camera`` (None: all cameras summed) at one instant."""
        with self._condition:
            cameras = list(self._counts) if camera is None else [camera]
            return {name: sum(self._counts.get(c, {}).get(name, 0) for c in cameras)
                    for name in COUNTERS}

    def delivery_problem(self, camera: str, publishers: int) -> str | None:
        """Return why ``camera``'s frames do not reach the node, or None when they do.

        Args:
            camera: The camera's name.
            publishers: How many publishers its image topic has now.
        """
        with self._condition:
            return self._watch(camera).problem(time.monotonic(), publishers)

    def _watch(self, camera: str) -> DeliveryWatch:
        if camera not in self._delivery:
            self._delivery[camera] = DeliveryWatch()
        return self._delivery[camera]

    # -- the worker ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (again, after :meth:`stop`); delivery is watched afresh."""
        with self._condition:
            if self._thread is not None and self._thread.is_alive():
                return
            self._delivery.clear()  # a pause is no silence of the cameras
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="sam_detect_worker",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the worker after the batch in progress; waiting frames count as dropped.

        Returns:
            False when the batch in progress was still running after ``timeout`` seconds.
        """
        with self._condition:
            self._stopping = True
            for camera in self._pending:
                self._counts_of(camera)["dropped"] += 1
            self._pending.clear()
            self._condition.notify_all()
            thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no frame waits and none is in progress; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
        return True

    def _take(self) -> list[Frame] | None:
        with self._condition:
            while not self._pending and not self._stopping:
                self._condition.wait()
            if self._stopping:
                return None
            cameras = [c for c in self._order if c in self._pending]
            if self.max_batch > 0:
                cameras = cameras[:self.max_batch]
            # Cameras left waiting go first next time, so none starves when max_batch is small.
            self._order = [c for c in self._order if c not in cameras] + cameras
            self._busy = True
            cameras.sort(key=list(self._counts).index)  # a batch lists cameras in a fixed order
            return [self._pending.pop(camera) for camera in cameras]

    def _run(self) -> None:
        while True:
            frames = self._take()
            if frames is None:
                return
            try:
                self._process_batch(frames)
            except Exception as error:  # the worker must outlive any bug
                for frame in frames:
                    self.count(frame.camera, "failed")
                if self._on_error is not None:
                    self._on_error(error)
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()

    def _counts_of(self, camera: str) -> dict[str, int]:
        if camera not in self._counts:
            self._counts[camera] = dict.fromkeys(COUNTERS, 0)
            self._gaps[camera] = StampGapCounter()
            self._order.insert(0, camera)  # never served yet: first in line
        return self._counts[camera]


__all__ = ["COUNTERS", "Frame", "FrameWorker", "StampGapCounter"]
