# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""3D positions of instances from an aligned depth image and the camera's intrinsics.

Each instance's position is the per-axis median of its mask's valid depth pixels deprojected with
the pinhole model of ``camera_info``'s K (REP 103 optical frame: x right, y down, z forward, in
metres). The median ignores the background pixels a mask's border picks up and the holes of the
depth image. No rclpy inside: messages are read by their fields only.

Example:
    >>> import numpy as np
    >>> depth = np.full((4, 4), 2.0, np.float32)
    >>> mask = np.zeros((4, 4), bool); mask[1:3, 1:3] = True
    >>> k = Intrinsics(fx=2.0, fy=2.0, cx=1.5, cy=1.5, width=4, height=4)
    >>> instance_position(depth, mask, (1, 1, 3, 3), k)
    (0.0, 0.0, 2.0)
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
import threading
import time
from typing import Any, Iterable

import numpy as np

Position = tuple[float, float, float]
#: The smallest focal length (pixels) taken from ``camera_info``. A pinhole camera with f = 1
#: pixel sees 90 degrees off axis one pixel from the centre; real ones have hundreds.
MIN_FOCAL_PX = 1.0


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of the image the depth is aligned to (pixels)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_camera_info(cls, msg: Any) -> Intrinsics | None:
        """Read ``sensor_msgs/CameraInfo``; None when K is unset (all zeros) or degenerate.

        Degenerate: a value that is not finite, or a focal length under
        :data:`MIN_FOCAL_PX` pixels (``fx = 5e-324`` would put every object at infinity).

        Example:
            >>> from types import SimpleNamespace as Msg
            >>> Intrinsics.from_camera_info(Msg(k=[5e-324, 0, 2, 0, 500, 2, 0, 0, 1],
            ...                                 width=4, height=4)) is None
            True
        """
        k = [float(v) for v in msg.k]
        if (len(k) != 9 or not np.isfinite(k).all() or not k[0] >= MIN_FOCAL_PX
                or not k[4] >= MIN_FOCAL_PX):
            return None
        return cls(fx=k[0], fy=k[4], cx=k[2], cy=k[5], width=int(msg.width),
                   height=int(msg.height))


def instance_position(depth_m: np.ndarray, mask: np.ndarray, bbox: Iterable[int],
                      intrinsics: Intrinsics, min_pixels: int = 1) -> Position | None:
    """Return the median 3D position of the mask's valid depth pixels, or None.

    Args:
        depth_m: float32 ``(H, W)`` metres, NaN where unmeasured, aligned to the mask.
        mask: boolean ``(H, W)``.
        bbox: The mask's ``(x0, y0, x1, y1)`` (only that box is read).
        intrinsics: Of the image the depth is aligned to.
        min_pixels: Fewer valid pixels than this: no position.
    """
    x0, y0, x1, y1 = (int(v) for v in bbox)
    depth = depth_m[y0:y1, x0:x1]
    rows, cols = np.nonzero(mask[y0:y1, x0:x1] & np.isfinite(depth) & (depth > 0))
    if rows.size < max(1, min_pixels):
        return None
    z = depth[rows, cols].astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        x = (cols + x0 - intrinsics.cx) * z / intrinsics.fx
        y = (rows + y0 - intrinsics.cy) * z / intrinsics.fy
    position = float(np.median(x)), float(np.median(y)), float(np.median(z))
    # has_position promises a point in space: never an infinite or NaN coordinate.
    return position if all(np.isfinite(position)) else None


def instance_positions(instances: Iterable[Any], depth_m: np.ndarray | None,
                       intrinsics: Intrinsics | None) -> list[Position | None]:
    """Return each instance's position (None where it cannot be measured).

    Every position is None without depth or intrinsics, or when the depth image, the intrinsics
    and the masks disagree on the image size.
    """
    instances = list(instances)
    if depth_m is None or intrinsics is None or not instances:
        return [None] * len(instances)
    size = depth_m.shape[:2]
    if size != (intrinsics.height, intrinsics.width) or any(
            inst.mask is None or inst.mask.shape[:2] != size for inst in instances):
        return [None] * len(instances)
    return [instance_position(depth_m, inst.mask, inst.bbox, intrinsics) for inst in instances]


class StampPairer:
    """Pairs each colour frame with the buffered message nearest in stamp (depth to colour).

    Keeps the last ``size`` messages; :meth:`nearest` returns the one whose stamp is closest
    to the frame's, if it is within ``slop_s``. Colour frames are paired after inference, so a
    depth image that arrives a little after its colour frame is usually there already; with
    ``wait_s`` it also waits that long for a depth image still to come (never when no depth
    image arrived in the last ``live_s`` seconds: the depth stream has stopped).

    Example:
        >>> pairer = StampPairer(slop_s=0.01)
        >>> pairer.add(1_000_000_000, "depth at 1 s")
        >>> pairer.nearest(1_004_000_000), pairer.nearest(1_200_000_000)
        ('depth at 1 s', None)
    """

    def __init__(self, slop_s: float = 0.02, size: int = 10, live_s: float = 1.0) -> None:
        self.slop_ns = int(slop_s * 1e9)
        self.live_s = live_s
        self._items: collections.deque[tuple[int, Any]] = collections.deque(maxlen=size)
        self._last_added = -float("inf")
        self._condition = threading.Condition()

    def add(self, stamp_ns: int, item: Any) -> None:
        """Buffer ``item`` stamped ``stamp_ns`` (nanoseconds)."""
        with self._condition:
            self._items.append((stamp_ns, item))
            self._last_added = time.monotonic()
            self._condition.notify_all()

    def nearest(self, stamp_ns: int, wait_s: float = 0.0) -> Any:
        """Return the buffered item nearest to ``stamp_ns`` within the slop, or None.

        Waits up to ``wait_s`` seconds for one while the stream is live and nothing buffered
        is as new as ``stamp_ns``.
        """
        deadline = time.monotonic() + wait_s
        with self._condition:
            while True:
                found = self._match(stamp_ns)
                if found is not None or not self._items:
                    return found
                newest = max(stamp for stamp, _ in self._items)
                left = deadline - time.monotonic()
                if (newest >= stamp_ns or left <= 0
                        or time.monotonic() - self._last_added > self.live_s):
                    return None
                self._condition.wait(left)

    def _match(self, stamp_ns: int) -> Any:
        if not self._items:
            return None
        distance, item = min(((abs(stamp - stamp_ns), item) for stamp, item in self._items),
                             key=lambda pair: pair[0])
        return item if distance <= self.slop_ns else None


__all__ = ["Intrinsics", "Position", "StampPairer", "instance_position", "instance_positions"]
