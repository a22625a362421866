# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The node's health: the ``/diagnostics`` status, the throttled frame-counter line, warnings.

No node inside: :func:`diagnostic_status` turns counters into a
``diagnostic_msgs/DiagnosticStatus``, :class:`FrameCountLog` says the counters in one line when
they change, and :class:`Throttle` keeps one key's warnings (a broken camera's) from flooding
the log without silencing another's.

Example:
    >>> status = diagnostic_status("/sam_detect", "active", {"received": 3, "processed": 3},
    ...                            {}, 12.5, examples=2)
    >>> status.level == DiagnosticStatus.OK, status.message, status.values[-1].value
    (True, 'running', '2')
    >>> throttle = Throttle(period_s=5.0)
    >>> throttle.ready("front", now=0.0), throttle.ready("front", now=1.0)
    (True, False)
"""

from __future__ import annotations

from typing import Any, Mapping

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

LOG_PERIOD_S = 60.0  # throttle for the frame counter line


def diagnostic_status(name: str, state: str, counts: Mapping[str, int],
                      camera_counts: Mapping[str, Mapping[str, int]], latency_ms: float,
                      examples: int) -> DiagnosticStatus:
    """Return the node's status: its state, frame counters (per camera too) and examples.

    Args:
        name: The node's fully qualified name.
        state: The lifecycle state's label.
        counts: The frame counters of all cameras (``received``, ``processed``...).
        camera_counts: The counters of each camera, when there are several.
        latency_ms: How long the last frame took.
        examples: Stored examples; negative when the store could not be read.
    """
    healthy = examples >= 0 or state == "unconfigured"
    values = [KeyValue(key="state", value=state)]
    values += [KeyValue(key=f"frames_{k}", value=str(v)) for k, v in counts.items()]
    for camera, per_camera in camera_counts.items():
        values += [KeyValue(key=f"{camera}/frames_{k}", value=str(v))
                   for k, v in per_camera.items()]
    values += [KeyValue(key="last_latency_ms", value=f"{latency_ms:.1f}"),
               KeyValue(key="examples", value=str(examples))]
    return DiagnosticStatus(
        level=DiagnosticStatus.OK if healthy else DiagnosticStatus.ERROR,
        name=f"{name}: detection",
        message=(("running" if state == "active" else state) if healthy
                 else "vector store unavailable"),
        values=values)


class FrameCountLog:
    """Logs the frame counters in one throttled line, only when they changed."""

    def __init__(self, logger: Any) -> None:
        self.logger = logger
        self._last: dict[str, int] = {}

    def update(self, counts: dict[str, int], latency_ms: float) -> None:
        """Log ``counts`` if they differ from the last ones logged."""
        if counts == self._last:
            return
        self._last = counts
        self.logger.info(
            f"frames: {counts['received']} received, {counts['processed']} processed, "
            f"{counts['dropped']} dropped (the camera outpaces inference), "
            f"{counts['failed']} failed, {counts['lost']} lost before reaching the node "
            f"(gaps in the stamps); last took {latency_ms:.0f} ms",
            throttle_duration_sec=LOG_PERIOD_S)


class Throttle:
    """At most one event per key every ``period_s`` seconds."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._last: dict[str, float] = {}

    def ready(self, key: str, now: float) -> bool:
        """Return True (and remember ``now``) when ``key`` may speak again at ``now``."""
        if now - self._last.get(key, -self.period_s) >= self.period_s:
            self._last[key] = now
            return True
        return False


__all__ = ["FrameCountLog", "LOG_PERIOD_S", "Throttle", "diagnostic_status"]
