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
from sam_detect.options import option

_NAME = re.compile(r"/?[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*")


def _topic(base: str, doc: str) -> property:
    """Return a property naming the topic ``base`` in the camera's namespace."""
    return property(lambda topics: topics.topic(base), doc=doc)


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

    image = _topic("image", "``sensor_msgs/Image`` input (``image_transport: raw``).")
    compressed = _topic("image/compressed", "``sensor_msgs/CompressedImage`` input "
                        "(``image_transport: compressed``).")
    depth = _topic("depth", "Depth image aligned to the colour image (``use_depth``).")
    camera_info = _topic("camera_info",
                         "``sensor_msgs/CameraInfo`` of the colour image (``use_depth``).")
    detections = _topic("detections", "``sam_detect_ros/InstanceArray`` output.")
    overlay = _topic("overlay", "``sensor_msgs/Image`` overlay output.")
    markers = _topic("markers", "``visualization_msgs/MarkerArray`` output (``use_depth``).")


def camera_topics(cameras: list[str]) -> list[CameraTopics]:
    """Return the topics of each camera; no cameras: the single-camera names of the past."""
    return [CameraTopics(name) for name in cameras] or [CameraTopics("")]


def check_input_values(values: dict[str, Any]) -> None:
    """Check ``image_transport`` and ``cameras``.

    Raises:
        SamDetectError: naming the parameter and what is wrong with it.
    """
    option("image_transport").check(values["image_transport"])  # the option table's choices
    cameras = list(values["cameras"])
    for name in cameras:
        if not _NAME.fullmatch(name):
            raise SamDetectError(
                f"cameras: '{name}' is not a namespace (letters, digits and _, parts separated "
                "by /, each starting with a letter)")
    if len(set(cameras)) != len(cameras):
        raise SamDetectError(f"cameras: each camera once, got {cameras}")


__all__ = ["CameraTopics", "camera_topics", "check_input_values"]
