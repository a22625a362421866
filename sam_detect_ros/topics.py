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
#: The longest fully qualified topic or service name ROS 2 accepts (rmw's
#: RMW_TOPIC_MAX_NAME_LENGTH, 255 - 8: DDS adds a prefix and a suffix of its own).
MAX_NAME_LENGTH = 247
#: The topics a camera may use, by their CameraTopics property.
TOPIC_KINDS = ("image", "compressed", "depth", "camera_info", "detections", "overlay", "markers")


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


def resolve_name(name: str, namespace: str = "/") -> str:
    """Return a topic name as ROS resolves it in ``namespace`` (absolute names stay).

    Example:
        >>> resolve_name("front/image"), resolve_name("front/image", "/robot")
        ('/front/image', '/robot/front/image')
        >>> resolve_name("/front/image", "/robot")
        '/front/image'
    """
    if name.startswith("/"):
        return name
    return f"{namespace.rstrip('/')}/{name}"


def check_camera_names(cameras: list[str], namespace: str = "/",
                       node: str = "sam_detect") -> None:
    """Refuse cameras that are one camera twice, or whose names ROS cannot carry.

    ``front`` and ``/front`` are the same camera in the root namespace (both read
    ``/front/image``); ``front`` and ``/front`` in ``/robot`` read different topics but would
    share the service ``~/front/label_instance``. Every topic and service name of a camera must
    fit in :data:`MAX_NAME_LENGTH` characters once resolved.

    Raises:
        SamDetectError: naming the parameter, the cameras and the clash or the long name.

    Example:
        >>> check_camera_names(["front", "/front"])
        Traceback (most recent call last):
        ...
        sam_detect.errors.SamDetectError: cameras: 'front' and '/front' are the same camera \
(both read /front/image); list each camera once
    """
    node_prefix = resolve_name(node, namespace)
    by_topic: dict[str, str] = {}
    by_service: dict[str, str] = {}
    for name in cameras:
        topics = CameraTopics(name)
        image = resolve_name(topics.image, namespace)
        service = f"{node_prefix}/{name.strip('/')}/label_instance"
        for seen, key, what in ((by_topic, image, f"both read {image}"),
                                (by_service, service, f"both would answer {service}")):
            if key in seen and seen[key] != name:
                raise SamDetectError(f"cameras: '{seen[key]}' and '{name}' are the same camera "
                                     f"({what}); list each camera once")
            seen[key] = name
        longest = max([resolve_name(getattr(topics, kind), namespace) for kind in TOPIC_KINDS]
                      + [service], key=len)
        if len(longest) > MAX_NAME_LENGTH:
            raise SamDetectError(
                f"cameras: '{_short(name)}' ({len(name)} characters) is too long: "
                f"{_short(longest)} would have {len(longest)} characters, and ROS allows "
                f"{MAX_NAME_LENGTH} in a topic or service name")


def _short(name: str, keep: int = 40) -> str:
    return name if len(name) <= keep else f"{name[:keep - 3]}..."


__all__ = ["CameraTopics", "MAX_NAME_LENGTH", "camera_topics", "check_camera_names",
           "check_input_values", "resolve_name"]
