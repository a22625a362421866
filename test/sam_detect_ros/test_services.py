# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The node's service handlers, run without a node: what they are given is all they use."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import numpy as np
import pytest

pytest.importorskip("rclpy")

from sam_detect.classifier import BACKGROUND_LABEL  # noqa: E402
from sam_detect.detector import SAMDetect  # noqa: E402
from sam_detect.embedding import AverageEmbedder  # noqa: E402
from sam_detect.errors import StoreError  # noqa: E402
from sam_detect.segmentation import NaiveSegmenter  # noqa: E402
from sam_detect_ros.conversions import rgb_to_image_msg  # noqa: E402
from sam_detect_ros.frame_history import FrameHistory, RecentFrame  # noqa: E402
from sam_detect_ros.parameters import render_error  # noqa: E402
from sam_detect_ros.services import NodeServices, ServiceGate  # noqa: E402
from sam_detect_ros.srv import AddExample, LabelInstance  # noqa: E402


class CountingSegmenter(NaiveSegmenter):
    calls: int = 0

    def segment(self, image: np.ndarray) -> Any:
        self.calls += 1
        return super().segment(image)


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, line: str, **_: Any) -> None:
        self.lines.append(line)

    warning = error = info


def frame() -> np.ndarray:
    image = np.full((120, 160, 3), 40, np.uint8)
    image[20:60, 15:55] = (220, 30, 30)
    image[60:100, 100:145] = (30, 30, 220)
    return image


@pytest.fixture
def services() -> NodeServices:
    detector = SAMDetect(segmenter=CountingSegmenter(), embedder=AverageEmbedder())
    gate = ServiceGate()
    gate.open = True
    return NodeServices(detector=lambda: detector, store=lambda: detector.vector_store,
                        state=lambda: "active", cameras=lambda: [""],
                        history=FrameHistory(5), gate=gate, compute_lock=threading.RLock(),
                        logger=Log())


def test_add_example_segments_the_frame_once(services: NodeServices) -> None:
    request = AddExample.Request(label="red block", image=rgb_to_image_msg(frame()))
    response = services.add_example(request, AddExample.Response())
    assert response.success, response.message
    detector = services.detector()
    assert detector.segmenter.calls == 1  # the object and its background: one segmentation
    assert detector.labels() == {"red block": 1}
    assert detector.vector_store.labels()[BACKGROUND_LABEL] >= 1


def test_label_instance_teaches_an_instance_of_a_published_frame(services: NodeServices) -> None:
    detector = services.detector()
    found = detector.detect(frame())
    services.history.add(RecentFrame(7 * 10**9 + 5, tuple(found)))
    request = LabelInstance.Request(label="blue", instance_id=found[1].id)
    request.stamp.sec, request.stamp.nanosec = 7, 5
    response = services.label_instance(request, LabelInstance.Response())
    assert response.success, response.message
    (stored,) = detector.vector_store.list_examples(label="blue")
    assert stored.payload["stamp"] == [7, 5]  # the payload keeps its [sec, nanosec] form


def test_inactive_node_refuses_with_the_reason(services: NodeServices) -> None:
    services.detector = lambda: None
    services.state = lambda: "inactive"
    response = services.add_example(
        AddExample.Request(label="x", image=rgb_to_image_msg(frame())), AddExample.Response())
    assert not response.success and "the node is inactive" in response.message


def test_the_node_names_options_as_its_parameters() -> None:
    error = StoreError("use another {store_path}", options=("store_path",))
    assert render_error(error) == "use another store_path"


def test_label_instance_stores_the_teaching_views_of_the_latest_frame(mirror_views) -> None:
    """The latest frame keeps its pixels: its instance is taught with every view; older: once."""
    from sam_detect.embedding.base import VIEW_KEY

    detector = SAMDetect(segmenter="naive", embedder=mirror_views)
    gate = ServiceGate()
    gate.open = True
    services = NodeServices(detector=lambda: detector, store=lambda: detector.vector_store,
                            state=lambda: "active", cameras=lambda: [""],
                            history=FrameHistory(5), gate=gate,
                            compute_lock=threading.RLock(), logger=Log())
    image = frame()
    for sec in (1, 2):  # as CameraFrames.publish remembers them: pixels and masks with them
        found = detector.detect(image)
        services.history.add(RecentFrame(
            sec * 10**9, tuple(dataclasses.replace(i, mask=None) for i in found), "", image,
            tuple(i.mask for i in found)))
    assert services.history.get(10**9).picture is None  # only the latest keeps its pixels
    for sec, label, views in ((2, "latest", ["original", "mirror"]), (1, "older", [None])):
        request = LabelInstance.Request(label=label, instance_id=found[1].id)
        request.stamp.sec = sec
        response = services.label_instance(request, LabelInstance.Response())
        assert response.success, response.message
        stored = detector.vector_store.list_examples(label=label)
        assert [e.payload.get(VIEW_KEY) for e in stored] == views, label
    assert detector.labels()["latest"] == detector.labels()["older"] == 1
