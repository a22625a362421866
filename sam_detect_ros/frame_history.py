# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Recently published frames, so ``~/label_instance`` can teach an instance by its id.

No rclpy inside: stamps are integer nanoseconds
(:func:`sam_detect_ros.conversions.stamp_ns`, the node's one stamp encoding).

Example:
    >>> history = FrameHistory(size=2)
    >>> for sec in (1, 2, 3):
    ...     history.add(RecentFrame(sec * 10**9, ()))
    >>> history.get(10**9) is None, history.get(3 * 10**9).describe_stamp(), history.latest().stamp
    (True, '3.000000000', 3000000000)
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, replace
import threading
from typing import Any

from sam_detect.errors import SamDetectError
from sam_detect.results import Instance

Stamp = int  # nanoseconds


@dataclass(frozen=True)
class RecentFrame:
    """What ``~/label_instance`` needs of a published frame.

    Attributes:
        stamp: The frame's ``header.stamp`` in nanoseconds.
        instances: Its instances without their full-frame masks (``mask`` is None): a 1080p frame
            of 20 masks is ~40 MB, the embeddings a few kB.
        camera: The camera it came from (``""`` for the node's single ``image`` input).
        picture: The RGB frame itself, kept for each camera's latest frame only (None once a
            newer one came): what teaching needs to store an object's teaching-time views.
        masks: The instances' full-frame masks, in order, kept with ``picture``.
    """

    stamp: Stamp
    instances: tuple[Instance, ...]
    camera: str = ""
    picture: Any = None
    masks: tuple[Any, ...] = ()

    def kept_instance(self, instance: Instance) -> Instance | None:
        """Return ``instance`` with its mask when this frame's pixels are kept, else None."""
        if self.picture is None or len(self.masks) != len(self.instances):
            return None
        index = next((k for k, inst in enumerate(self.instances) if inst is instance), None)
        return None if index is None else replace(instance, mask=self.masks[index])

    @property
    def sec_nanosec(self) -> tuple[int, int]:
        """Return the stamp as ``(sec, nanosec)``, as ``builtin_interfaces/Time`` has it."""
        sec, nanosec = divmod(int(self.stamp), 1_000_000_000)
        return sec, nanosec

    def describe_stamp(self) -> str:
        """Return the stamp as ``sec.nanosec``, as ``ros2 topic echo`` shows it."""
        sec, nanosec = self.sec_nanosec
        return f"{sec}.{nanosec:09d}"

    def describe(self) -> str:
        """Return ``frame <stamp>`` or, with several cameras, ``frame <stamp> of camera <c>``."""
        where = f" of camera {self.camera}" if self.camera else ""
        return f"frame {self.describe_stamp()}{where}"


class FrameHistory:
    """The last ``size`` frames of each camera, by stamp; safe to use from several threads.

    The latest frame (of all cameras, and of each) is kept even after ``size`` shrinks below
    what is stored; only each camera's latest frame keeps its pixels and masks
    (:attr:`RecentFrame.picture`): one frame per camera, the one a person usually points at.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._frames: dict[str, collections.OrderedDict[Stamp, RecentFrame]] = {}
        self._latest: dict[str, RecentFrame] = {}
        self._newest: RecentFrame | None = None
        self._lock = threading.Lock()

    def add(self, frame: RecentFrame) -> None:
        """Remember ``frame`` as its camera's latest, forgetting the oldest beyond ``size``."""
        with self._lock:
            frames = self._frames.setdefault(frame.camera, collections.OrderedDict())
            before = self._latest.get(frame.camera)
            if before is not None and before.picture is not None and before.stamp in frames:
                frames[before.stamp] = replace(before, picture=None, masks=())
            frames[frame.stamp] = frame
            frames.move_to_end(frame.stamp)
            while len(frames) > self.size:
                frames.popitem(last=False)
            self._latest[frame.camera] = frame
            self._newest = frame

    def latest(self, camera: str | None = None) -> RecentFrame | None:
        """Return the latest frame of ``camera`` (None: of any camera), or None before any."""
        with self._lock:
            return self._newest if camera is None else self._latest.get(camera)

    def get(self, stamp: Stamp, camera: str | None = None) -> RecentFrame | None:
        """Return the kept frame with ``stamp`` (of ``camera``; None: of whichever camera has it).

        Raises:
            SamDetectError: when several cameras have a frame with that stamp and no camera is
                named (synchronised cameras stamp their frames alike).
        """
        with self._lock:
            cameras = [camera] if camera is not None else list(self._frames)
            found = [self._frames[c][stamp] for c in cameras
                     if c in self._frames and stamp in self._frames[c]]
        if len(found) > 1:
            names = ", ".join(frame.camera for frame in found)
            raise SamDetectError(
                f"frames of cameras {names} all have stamp {found[0].describe_stamp()}; call "
                "the camera's own service (~/<camera>/label_instance) to say which")
        return found[0] if found else None


__all__ = ["FrameHistory", "RecentFrame", "Stamp"]
