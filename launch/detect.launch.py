# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Launch the sam_detect node on a camera topic.

Example:
    ros2 launch sam_detect_ros detect.launch.py image:=/camera/color/image_raw device:=cuda

Arguments: ``image`` (topic to detect on; with ``image_transport: compressed`` the node reads
``<image>/compressed``), ``depth`` and ``camera_info`` (topics for ``use_depth: true``),
``namespace``, ``params_file`` (default: the package's config/detect.yaml), ``device`` (auto, cpu,
cuda; empty keeps the params file's), ``log_level`` and ``fastdds_profile`` (empty: leave Fast DDS
alone). Lifecycle: the node configures and activates itself (``autostart: true`` in the params
file); with ``autostart: false`` drive it with ``ros2 lifecycle set``.

Unless FASTRTPS_DEFAULT_PROFILES_FILE or FASTDDS_DEFAULT_PROFILES_FILE is already set, both are
pointed at config/fastdds_shm.xml (32 MB shared-memory segment), so full frames from a camera on
the same machine are not lost in UDP fragments.

The helpers above :func:`generate_launch_description` use only the standard library, so tests
can check them without the launch packages.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

PROFILE_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")


def fastdds_environment(environ: Mapping[str, str], profile: str) -> dict[str, str]:
    """Return the variables to set so Fast DDS loads ``profile``.

    Nothing when ``profile`` is empty or the user already chose a profile through either
    variable (Fast DDS 2 reads the FASTRTPS name, Fast DDS 3 the FASTDDS one).
    """
    if not profile or any(environ.get(name) for name in PROFILE_VARIABLES):
        return {}
    return {name: profile for name in PROFILE_VARIABLES}


def node_parameters(params_file: str, device: str) -> list[Any]:
    """Return the node's parameters: the params file, then a device override when given."""
    parameters: list[Any] = [params_file] if params_file else []
    if device:
        parameters.append({"device": device})
    return parameters


def node_remappings(image_topic: str, depth_topic: str = "",
                    camera_info_topic: str = "") -> list[tuple[str, str]]:
    """Return the remappings of the node's inputs to the given topics.

    ``image`` remaps its ``image/compressed`` twin too; an empty topic keeps the node's name.
    """
    remappings = []
    if image_topic and image_topic != "image":
        remappings += [("image", image_topic), ("image/compressed", f"{image_topic}/compressed")]
    for name, topic in (("depth", depth_topic), ("camera_info", camera_info_topic)):
        if topic and topic != name:
            remappings.append((name, topic))
    return remappings


def generate_launch_description() -> Any:
    """Describe the launch: arguments, the Fast DDS profile, and the node."""
    from ament_index_python.packages import get_package_share_directory
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    share = get_package_share_directory("sam_detect_ros")
    arguments = [
        DeclareLaunchArgument("image", default_value="image_raw",
                              description="image topic to detect on (sensor_msgs/Image)"),
        DeclareLaunchArgument("depth", default_value="",
                              description="aligned depth topic (use_depth: true); empty: depth"),
        DeclareLaunchArgument("camera_info", default_value="",
                              description="camera_info topic (use_depth: true); empty: "
                                          "camera_info"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of the node and its topics"),
        DeclareLaunchArgument("params_file",
                              default_value=os.path.join(share, "config", "detect.yaml"),
                              description="YAML file with the node's parameters"),
        DeclareLaunchArgument("device", default_value="",
                              description="auto, cpu or cuda; empty: the params file's"),
        DeclareLaunchArgument("log_level", default_value="info",
                              description="debug, info, warn or error"),
        DeclareLaunchArgument("fastdds_profile",
                              default_value=os.path.join(share, "config", "fastdds_shm.xml"),
                              description="Fast DDS XML profile; empty: leave Fast DDS alone"),
    ]

    def launch_node(context: Any) -> list[Any]:
        def value(name: str) -> str:
            return LaunchConfiguration(name).perform(context)

        environment = fastdds_environment(os.environ, value("fastdds_profile"))
        actions: list[Any] = [SetEnvironmentVariable(name, path)
                              for name, path in environment.items()]
        actions.append(Node(
            package="sam_detect_ros",
            executable="detect_node",
            name="sam_detect",
            namespace=value("namespace"),
            parameters=node_parameters(value("params_file"), value("device")),
            remappings=node_remappings(value("image"), value("depth"), value("camera_info")),
            arguments=["--ros-args", "--log-level", value("log_level")],
            output="screen",
            emulate_tty=True,
        ))
        return actions

    return LaunchDescription([*arguments, OpaqueFunction(function=launch_node)])
