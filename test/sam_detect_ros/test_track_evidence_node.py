# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Evidence over time through the node (and its web UI): teaching never costs another track."""

from __future__ import annotations

import socket
from typing import Any

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

from sam_detect_ros.conversions import (  # noqa: E402
    instance_mask_from_msg, mask_to_image_msg, rgb_to_image_msg)
from sam_detect_ros.srv import AddExample, LabelInstance, RemoveLabel  # noqa: E402

# Every frame a key frame: what is measured is the evidence, not the propagation.
PARAMETERS = {"segmenter": "naive", "keyframe_interval": 1}


class Stream:
    """Frames of the still scene through the node; what it says about each object."""

    def __init__(self, harness: Any, scene: Any) -> None:
        self.harness, self.scene, self.index = harness, scene, 0

    def frame(self, grey: tuple[str, ...] = ()) -> dict[str, Any]:
        """Send one frame; return per object its published instance and its frame alone."""
        image = self.scene.frame(grey)
        msg = self.harness.client.send(image, self.index)[0]
        self.index += 1
        masks = [instance_mask_from_msg(inst, image.shape) for inst in msg.instances]
        found = self.scene.which(masks)
        history = self.harness.node.recent_frame(msg.header.stamp)
        embeddings = {inst.id: inst.embedding for inst in history.instances}
        out = {}
        for name, index in found.items():
            published = msg.instances[index]
            alone = self.harness.node.detector.classify(embeddings[published.id][None, :])[0]
            out[name] = (published, alone)
        return out


def teach(harness: Any, scene: Any, name: str) -> None:
    cutout = scene.cutouts[scene.names.index(name)]
    response = harness.call(AddExample, "add_example", label=name,
                            image=rgb_to_image_msg(np.ascontiguousarray(cutout[:, :, :3])),
                            mask=mask_to_image_msg(cutout[:, :, 3] > 0))
    assert response.success, response.message


def check_the_three_behaviours(harness: Any, scene: Any, teach_blue: Any) -> None:
    stream = Stream(harness, scene)
    teach(harness, scene, "red disc")
    for _ in range(6):
        seen = stream.frame()
    (red, _), (blue, _), (ring, _) = (seen[n] for n in scene.names)
    assert (red.label, blue.label, ring.label) == ("red disc", "", "")
    before = red.confidence

    teach_blue(stream, blue)
    # The first frame after the answer: the object just taught is labelled at once, at the
    # confidence of this frame alone; the red disc, seen too badly this frame to be known on
    # its own, keeps its track, its label and most of its confidence.
    seen = stream.frame(grey=("red disc",))
    published, alone = seen["blue box"]
    assert published.track_id == blue.track_id
    assert (published.label, alone.label) == ("blue box", "blue box")
    assert published.confidence == pytest.approx(alone.confidence, abs=1e-6)
    published, alone = seen["red disc"]
    assert alone.label is None
    assert (published.track_id, published.label) == (red.track_id, "red disc")
    assert published.confidence >= 0.8 * before

    # Relabelling (a track taught under another name) and forgetting another label: the same.
    response = harness.call(LabelInstance, "label_instance", label="navy box",
                            track_id=blue.track_id)
    assert response.success, response.message
    seen = stream.frame()
    assert seen["blue box"][0].label == "navy box"
    assert seen["red disc"][0].label == "red disc"
    assert seen["red disc"][0].confidence >= 0.8 * before
    response = harness.call(RemoveLabel, "remove_label", label="blue box")
    assert response.success, response.message
    for _ in range(3):
        seen = stream.frame()
        assert seen["red disc"][0].label == "red disc"
        assert seen["red disc"][0].confidence >= 0.8 * before
    # The yellow ring was never taught and was seen in every frame: it never took a label.
    track = harness.node.detector.video_tracker().tracker.get(ring.track_id)
    assert seen["yellow ring"][0].track_id == ring.track_id and track.hits >= 11
    assert {label for label, _ in track.votes} == {None}


def test_teaching_forgetting_and_relabelling_keep_the_other_tracks(harness_factory: Any,
                                                                   shape_scene: Any) -> None:
    harness = harness_factory(PARAMETERS)

    def by_service(stream: Stream, blue: Any) -> None:
        teach(harness, shape_scene, "blue box")

    check_the_three_behaviours(harness, shape_scene, by_service)


def test_the_same_when_taught_from_the_web_ui(harness_factory: Any, shape_scene: Any) -> None:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi", reason="needs the 'ui' extra (fastapi, uvicorn)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    harness = harness_factory({**PARAMETERS, "web_port": port})

    def by_page(stream: Stream, blue: Any) -> None:
        with httpx.Client(base_url=harness.node._web.url, timeout=30,
                          headers={"X-Requested-With": "sam-detect"}) as http:
            view = http.post("api/freeze").json()
            (clicked,) = [i for i in view["instances"] if i["bbox"] == [
                blue.roi.x_offset, blue.roi.y_offset, blue.roi.x_offset + blue.roi.width,
                blue.roi.y_offset + blue.roi.height]]
            saved = http.post(f"api/images/{view['index']}/save",
                              json={"label": "blue box", "instance": clicked["id"]})
            assert saved.status_code == 200, saved.text

    check_the_three_behaviours(harness, shape_scene, by_page)
