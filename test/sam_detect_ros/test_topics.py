# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of sam_detect_ros.topics: per-camera topic names and the input parameter checks."""

from __future__ import annotations

import re

import pytest

from sam_detect.errors import SamDetectError
from sam_detect_ros.topics import camera_topics, check_camera_names, check_input_values


def test_no_cameras_keeps_the_single_camera_names() -> None:
    (topics,) = camera_topics([])
    assert (topics.name, topics.image, topics.compressed, topics.detections, topics.overlay,
            topics.markers, topics.depth, topics.camera_info) == (
        "", "image", "image/compressed", "detections", "overlay", "markers", "depth",
        "camera_info")


def test_each_camera_gets_its_namespace() -> None:
    front, wrist = camera_topics(["front", "arm/wrist"])
    assert (front.image, front.detections, front.overlay) == (
        "front/image", "front/detections", "front/overlay")
    assert (wrist.compressed, wrist.depth) == ("arm/wrist/image/compressed", "arm/wrist/depth")


@pytest.mark.parametrize("values, message", [
    ({"image_transport": "theora", "cameras": []}, "image_transport must be one of raw, comp"),
    ({"image_transport": "raw", "cameras": ["front", "front"]}, "each camera once"),
    ({"image_transport": "raw", "cameras": ["1st"]}, "'1st' is not a namespace"),
    ({"image_transport": "raw", "cameras": ["a b"]}, "'a b' is not a namespace"),
    ({"image_transport": "raw", "cameras": [""]}, "'' is not a namespace"),
])
def test_bad_input_values_are_refused(values: dict, message: str) -> None:
    with pytest.raises(SamDetectError, match=message):
        check_input_values(values)


@pytest.mark.parametrize("cameras", [[], ["front"], ["front", "/robot/wrist"]])
def test_good_input_values_pass(cameras: list[str]) -> None:
    check_input_values({"image_transport": "compressed", "cameras": cameras})


@pytest.mark.parametrize("cameras, namespace, message", [
    (["front", "/front"], "/",
     "'front' and '/front' are the same camera (both read /front/image)"),
    (["/robot/front", "front"], "/robot", "are the same camera (both read /robot/front/image)"),
    (["front", "/front"], "/robot",
     "are the same camera (both would answer /robot/sam_detect/front/label_instance)"),
    (["arm/wrist", "/arm/wrist"], "/", "both read /arm/wrist/image"),
    (["a" * 300], "/", "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' (300 characters) is too long"),
    (["c" * 221], "/", "/sam_detect/ccccccccccccccccccccccccc... would have 248 characters"),
    (["c" * 200], "/" + "n" * 40, "ROS allows 247 in a topic or service name"),
])
def test_cameras_that_clash_or_overflow_a_name_are_refused(cameras: list[str], namespace: str,
                                                           message: str) -> None:
    with pytest.raises(SamDetectError, match=re.escape(message)):
        check_camera_names(cameras, namespace, "sam_detect")


@pytest.mark.parametrize("cameras, namespace", [
    (["front", "wrist"], "/"),
    (["front", "rear"], "/robot"),
    (["c" * 220], "/"),                       # the longest that fits: 247 characters
    ([], "/"),
])
def test_distinct_cameras_with_names_ros_carries_pass(cameras: list[str], namespace: str) -> None:
    check_camera_names(cameras, namespace, "sam_detect")
