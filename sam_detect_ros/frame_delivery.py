# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Noticing camera frames that vanish between processes, and saying why.

Without a shared-memory segment large enough for one frame, Fast DDS sends a camera image from
another process as fragmented UDP, and a best-effort subscriber loses most of them: a 640x480
rgb8 stream reached the node 1-5 times in 9, and neither side said anything. The stamp-gap
counter (:class:`~sam_detect_ros.frame_worker.StampGapCounter`) sees nothing when nothing
arrives, and too little when a few frames do. :class:`DeliveryWatch` looks at a camera from the
other side: a publisher exists on its topic, and

* no frame arrived for ``silence_s`` seconds (frames stopped, or none ever got through), or
* the frames that do arrive are far fewer than their stamps say were sent (the period is the
  shortest interval between consecutive stamps, seen at least twice).

:func:`delivery_warning` words the warning: the cause and the Fast DDS profile that cures it.

No rclpy inside.

Example:
    >>> watch = DeliveryWatch(silence_s=5.0)
    >>> watch.problem(now=0.0, publishers=1) is None      # just started: give it time
    True
    >>> watch.problem(now=6.0, publishers=1)
    'no frame arrived in 6 s'
    >>> for n in (0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20):  # 11 of 21 frames, 10 Hz
    ...     watch.arrived(now=7.0 + n / 10, stamp_ns=(n + 1) * 100_000_000)
    >>> watch.problem(now=9.1, publishers=1)
    'only 11 of the 21 frames sent in the last 2.0 s arrived (52%)'
"""

from __future__ import annotations

import collections
import os

PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
PROFILE_FILE = "config/fastdds_shm.xml"


class DeliveryWatch:
    """Frames of one camera: are they reaching the node, given that someone publishes them?

    Args:
        silence_s: A publisher with no frame arriving for this long is a problem.
        min_share: Arriving frames below this share of the frames sent is a problem.
        window: How many recent frames the share is measured over.
        min_frames: The share is only judged from this many frames on.
    """

    def __init__(self, silence_s: float = 5.0, min_share: float = 0.6, window: int = 60,
                 min_frames: int = 8) -> None:
        self.silence_s = silence_s
        self.min_share = min_share
        self.min_frames = min_frames
        self._stamps: collections.deque[int] = collections.deque(maxlen=window)
        self._last_arrival: float | None = None
        self._since: float | None = None  # when a publisher was first seen without frames

    def arrived(self, now: float, stamp_ns: int) -> None:
        """Record a frame that reached the node (``now``: a monotonic clock, in seconds)."""
        if self._last_arrival is not None and now - self._last_arrival >= self.silence_s:
            self._stamps.clear()  # after a pause, the gap is no loss: judge afresh
        self._last_arrival = now
        if stamp_ns > 0:
            if self._stamps and stamp_ns < self._stamps[-1]:
                self._stamps.clear()  # time went back (a bag restarted): start again
            self._stamps.append(stamp_ns)

    def problem(self, now: float, publishers: int) -> str | None:
        """Return what is wrong with the delivery, in words, or None.

        Args:
            now: The same monotonic clock as :meth:`arrived`.
            publishers: How many publishers the camera's topic has now.
        """
        if publishers <= 0:
            self._since = None  # nobody publishes: silence is expected
            self._stamps.clear()
            return None
        if self._since is None:
            self._since = now
        quiet_since = max(self._since, self._last_arrival or self._since)
        if now - quiet_since >= self.silence_s:
            return f"no frame arrived in {now - quiet_since:.0f} s"
        return self._share_problem()

    def _share_problem(self) -> str | None:
        stamps = list(self._stamps)
        if len(stamps) < self.min_frames:
            return None
        intervals = [b - a for a, b in zip(stamps, stamps[1:]) if b > a]
        if not intervals:
            return None
        period = min(intervals)
        # The shortest interval is the publisher's period only if it recurs (jitter and a
        # duplicated stamp could make one short interval).
        if sum(1 for i in intervals if i < period * 1.5) < 2:
            return None
        sent = round((stamps[-1] - stamps[0]) / period) + 1
        share = len(stamps) / sent
        if share >= self.min_share:
            return None
        span = (stamps[-1] - stamps[0]) / 1e9
        return (f"only {len(stamps)} of the {sent} frames sent in the last {span:.1f} s "
                f"arrived ({share:.0%})")


def delivery_warning(topic: str, publishers: int, problem: str, qos: str = "sensor_data",
                     environ: dict[str, str] | None = None) -> str:
    """Return the warning for ``problem`` on ``topic``: the likely cause and its cure.

    Example:
        >>> print(delivery_warning("/image", 1, "no frame arrived in 5 s", environ={}))
        ... # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
        /image has 1 publisher but no frame arrived in 5 s: large frames between processes
        are lost without Fast DDS's shared-memory profile; this node runs without one. Start
        the node and the camera driver with FASTRTPS_DEFAULT_PROFILES_FILE and
        FASTDDS_DEFAULT_PROFILES_FILE set to config/fastdds_shm.xml (ros2 launch sets them
        for the node) ...
    """
    environ = os.environ if environ is None else environ
    profile = next((environ[name] for name in PROFILE_VARIABLES if environ.get(name)), "")
    here = (f"this node uses {profile}, the publisher's process needs it too" if profile
            else "this node runs without one")
    text = (f"{topic} has {publishers} publisher{'s' if publishers != 1 else ''} but {problem}: "
            "large frames between processes are lost without Fast DDS's shared-memory profile; "
            f"{here}. Start the node and the camera driver with {PROFILE_VARIABLES[0]} and "
            f"{PROFILE_VARIABLES[1]} set to {PROFILE_FILE} (ros2 launch sets them for the node)")
    if qos == "reliable":
        text += "; with image_qos: reliable, a best-effort publisher delivers nothing at all"
    return text + " (docs/ros.md, Large images and Fast DDS)"


__all__ = ["DeliveryWatch", "PROFILE_VARIABLES", "delivery_warning"]
