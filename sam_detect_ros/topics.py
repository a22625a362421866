# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The node's topic names for one camera or several, and checks of the input parameters.

No rclpy inside.

Example:
    >>> [t.image for t in camera_topics([])], [t.detections for t in camera_topics(["front"])]
    (['image'], ['front/detections'])
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Any

from sam_detect.errors import SamDetectError

IMAGE_TRANSPORTS = ("raw", "compressed")
_NAME = re.compile(r"/?[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class CameraTopics:
    """The topics of one camera, relative to the node's namespace.

    Attributes:
        name: The camera's namespace (``""``: the node's own ``image`` input).
    """

    name: str

    def topic(self, base: str) -> str:
        """Return ``base`` in the camera's namespace (``front/base``, or ``base``)."""
        return f"{self.name}/{base}" if self.name else base

    @property
    def image(self) -> str:
        """``sensor_msgs/Image`` input (``image_transport: raw``)."""
        return self.topic("image")

    @property
    def compressed(self) -> str:
        """``sensor_msgs/CompressedImage`` input (``image_transport: compressed``)."""
        return self.topic("image/compressed")

    @property
    def depth(self) -> str:
        """Depth image aligned to the colour image (``use_depth``)."""
        return self.topic("depth")

    @property
    def camera_info(self) -> str:
        """``sensor_msgs/CameraInfo`` of the colour image (``use_depth``)."""
        return self.topic("camera_info")

    @property
    def detections(self) -> str:
        """``sam_detect_ros/InstanceArray`` output."""
        return self.topic("detections")

    @property
    def overlay(self) -> str:
        """``sensor_msgs/Image`` overlay output."""
        return self.topic("overlay")

    @property
    def markers(self) -> str:
        """``visualization_msgs/MarkerArray`` output (``use_depth``)."""
        return self.topic("markers")


def camera_topics(cameras: list[str]) -> list[CameraTopics]:
    """Return the topics of each camera; no cameras: the single-camera names of the past."""
    return [CameraTopics(name) for name in cameras] or [CameraTopics("")]


def check_input_values(values: dict[str, Any]) -> None:
    """Check ``image_transport`` and ``cameras``.

    Raises:
        SamDetectError: naming the parameter and what is wrong with it.
    """
    if values["image_transport"] not in IMAGE_TRANSPORTS:
        raise SamDetectError(f"image_transport must be one of {', '.join(IMAGE_TRANSPORTS)}, "
                             f"got '{values['image_transport']}'")
    cameras = list(values["cameras"])
    for name in cameras:
        if not _NAME.fullmatch(name):
            raise SamDetectError(
                f"cameras: '{name}' is not a namespace (letters, digits and _, parts separated "
                "by /, each starting with a letter)")
    if len(set(cameras)) != len(cameras):
        raise SamDetectError(f"cameras: each camera once, got {cameras}")


__all__ = ["CameraTopics", "IMAGE_TRANSPORTS", "camera_topics", "check_input_values"]
