# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of the node's inputs: compressed frames, two cameras, depth, bursts of requests."""

from __future__ import annotations

import re
import threading
from typing import Any

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sam_detect_ros.conversions import (  # noqa: E402
    mask_to_image_msg,
    rgb_to_compressed_msg,
    rgb_to_image_msg,
)
from sam_detect_ros.demo import (  # noqa: E402
    floor_texture,
    instance_at,
    object_centre,
    object_picture,
    SCENE,
    synthetic_frame,
)
from sam_detect_ros.msg import InstanceArray  # noqa: E402
from sam_detect_ros.srv import AddExample, LabelInstance, ListLabels  # noqa: E402
from sensor_msgs.msg import CameraInfo, CompressedImage, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

BALL, BOX, WEDGE = SCENE
RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


class Topic:
    """Collects the messages of one topic by header stamp (seconds)."""

    def __init__(self, node: Any, msg_type: Any, name: str) -> None:
        self.messages: dict[int, Any] = {}
        self._condition = threading.Condition()
        node.create_subscription(msg_type, name, self._on_message, RELIABLE)

    def _on_message(self, msg: Any) -> None:
        with self._condition:
            stamp = (msg.markers[0].header.stamp if isinstance(msg, MarkerArray)
                     else msg.header.stamp)
            self.messages[stamp.sec] = msg
            self._condition.notify_all()

    def wait(self, sec: int, timeout: float = 30.0) -> Any:
        with self._condition:
            if not self._condition.wait_for(lambda: sec in self.messages, timeout):
                pytest.fail(f"nothing with stamp {sec} within {timeout} s")
            return self.messages[sec]


def header(sec: int, frame_id: str = "camera_optical") -> Header:
    result = Header(frame_id=frame_id)
    result.stamp.sec = sec
    return result


def publisher(harness: Any, msg_type: Any, topic: str, wait_until: Any) -> Any:
    pub = harness.client_node.create_publisher(msg_type, topic, RELIABLE)
    wait_until(lambda: pub.get_subscription_count() > 0, what=f"the node on {topic}")
    return pub


# -- compressed ----------------------------------------------------------------------------------

@pytest.mark.parametrize("image_format", ["jpeg", "png"])
def test_compressed_frames_are_decoded_and_detected(harness_factory: Any, wait_until: Any,
                                                    image_format: str) -> None:
    harness = harness_factory({"image_transport": "compressed"}, ready=False)
    detections = Topic(harness.client_node, InstanceArray, "detections")
    pub = publisher(harness, CompressedImage, "image/compressed", wait_until)
    assert harness.client.publisher.get_subscription_count() == 0  # not on image
    pub.publish(rgb_to_compressed_msg(synthetic_frame(2), image_format, header(7)))
    found = detections.wait(7)
    assert len(found.instances) == 3 and found.header.frame_id == "camera_optical"
    assert instance_at(found, object_centre(BALL, 2)) is not None


def test_undecodable_compressed_frames_are_counted_and_warned_once(
        harness_factory: Any, wait_until: Any, capfd: Any) -> None:
    harness = harness_factory({"image_transport": "compressed"}, ready=False)
    pub = publisher(harness, CompressedImage, "image/compressed", wait_until)
    for sec in range(1, 4):
        pub.publish(CompressedImage(header=header(sec), format="jpeg", data=b"not a jpeg"))
        wait_until(lambda: harness.node.frame_counts()["failed"] == sec, what="a failure")
    detections = Topic(harness.client_node, InstanceArray, "detections")
    wait_until(lambda: harness.node.cameras[0].detections_pub.get_subscription_count() > 0)
    pub.publish(rgb_to_compressed_msg(synthetic_frame(0), "png", header(9)))
    assert len(detections.wait(9).instances) == 3
    warnings = [line for line in capfd.readouterr().err.splitlines()
                if "cannot decode compressed image" in line]
    assert len(warnings) == 1, warnings  # throttled


# -- several cameras -----------------------------------------------------------------------------

class BatchRecorder:
    """Wraps a detector: records each call's image count; the first detect waits for a gate."""

    def __init__(self, detector: Any) -> None:
        self._detector = detector
        self.calls: list[int] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def detect(self, image: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(1)
        self.entered.set()
        assert self.gate.wait(60)
        return self._detector.detect(image, *args, **kwargs)

    def detect_batch(self, images: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(len(images))
        return self._detector.detect_batch(images, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)


def two_cameras(harness_factory: Any, wait_until: Any,
                **parameters: Any) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """Start a node on cameras front and wrist with a batch-recording detector.

    Returns:
        The detector, the harness, and per camera its detections topic and image publisher.
    """
    from sam_detect import SAMDetect
    from sam_detect.embedding import AverageEmbedder

    detector = BatchRecorder(SAMDetect(embedder=AverageEmbedder()))
    # Tracking follows each camera on its own; batches are for detection from scratch.
    harness = harness_factory({"cameras": ["front", "wrist"], "tracking": False, **parameters},
                              detector=detector, ready=False)
    out = {cam: Topic(harness.client_node, InstanceArray, f"{cam}/detections")
           for cam in ("front", "wrist")}
    pubs = {cam: publisher(harness, Image, f"{cam}/image", wait_until)
            for cam in ("front", "wrist")}
    wait_until(lambda: all(c.detections_pub.get_subscription_count() > 0
                           for c in harness.node.cameras), what="the detections subscriptions")
    return detector, harness, out, pubs


def test_two_cameras_share_one_model_in_batches(harness_factory: Any, wait_until: Any) -> None:
    detector, harness, out, pubs = two_cameras(harness_factory, wait_until)
    assert [c.name for c in harness.node.cameras] == ["front", "wrist"]
    pubs["front"].publish(rgb_to_image_msg(synthetic_frame(0), header(1, "front")))
    assert detector.entered.wait(30)  # frame 1 of front is in inference
    pubs["front"].publish(rgb_to_image_msg(synthetic_frame(1), header(2, "front")))
    pubs["front"].publish(rgb_to_image_msg(synthetic_frame(2), header(3, "front")))
    pubs["wrist"].publish(rgb_to_image_msg(synthetic_frame(3), header(3, "wrist")))
    wait_until(lambda: harness.node.frame_counts()["received"] == 4, what="four frames")
    detector.gate.set()
    front, wrist = out["front"].wait(3), out["wrist"].wait(3)
    assert detector.calls == [1, 2]  # front alone, then the latest of each camera together
    assert 1 in out["front"].messages and 2 not in out["front"].messages  # 2: replaced
    assert (front.header.frame_id, wrist.header.frame_id) == ("front", "wrist")
    assert instance_at(wrist, object_centre(BOX, 3)) is not None
    assert harness.node.frame_counts("front") == {
        "received": 3, "processed": 2, "dropped": 1, "failed": 0, "lost": 0}
    assert harness.node.frame_counts("wrist")["processed"] == 1

    # Both cameras have a frame stamped 3: the node-wide service asks which camera is meant.
    box = instance_at(wrist, object_centre(BOX, 3))
    ambiguous = harness.call(LabelInstance, "label_instance", label="box",
                             instance_id=box.id, stamp=wrist.header.stamp)
    assert not ambiguous.success and "cameras front, wrist" in ambiguous.message
    answer = harness.call(LabelInstance, "wrist/label_instance", label="box",
                          instance_id=box.id, stamp=wrist.header.stamp)
    assert answer.success and "of camera wrist" in answer.message, answer.message
    pubs["front"].publish(rgb_to_image_msg(synthetic_frame(4), header(5, "front")))
    assert instance_at(out["front"].wait(5), object_centre(BOX, 4)).label == "box"


# -- depth ---------------------------------------------------------------------------------------

FX = FY = 300.0
CX, CY = 159.5, 119.5
FLOOR_M, OBJECT_M = 1.3, 1.0


def camera_info(sec: int, size: tuple[int, int] = (240, 320)) -> CameraInfo:
    info = CameraInfo(header=header(sec), height=size[0], width=size[1])
    info.k = [FX, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0]
    return info


def depth_of_scene(index: int) -> np.ndarray:
    """Millimetres: the floor at 1.3 m, every object's pixels at 1.0 m, a few holes."""
    objects = np.any(synthetic_frame(index) != floor_texture((240, 320), seed=index), axis=2)
    millimetres = np.where(objects, OBJECT_M * 1000, FLOOR_M * 1000).astype(np.uint16)
    millimetres[::7, ::5] = 0  # no measurement
    return millimetres


def depth_msg(millimetres: np.ndarray, sec: int) -> Image:
    return Image(header=header(sec), height=millimetres.shape[0], width=millimetres.shape[1],
                 encoding="16UC1", step=millimetres.shape[1] * 2,
                 data=millimetres.astype("<u2").tobytes())


def truth(obj: Any, index: int) -> np.ndarray:
    u, v = object_centre(obj, index)
    return np.array([(u - CX) * OBJECT_M / FX, (v - CY) * OBJECT_M / FY, OBJECT_M])


@pytest.fixture
def depth_node(harness_factory: Any, wait_until: Any) -> tuple[Any, dict[str, Any]]:
    harness = harness_factory({"use_depth": True}, ready=True)
    topics = {"detections": Topic(harness.client_node, InstanceArray, "detections"),
              "markers": Topic(harness.client_node, MarkerArray, "markers"),
              "depth": publisher(harness, Image, "depth", wait_until),
              "camera_info": publisher(harness, CameraInfo, "camera_info", wait_until)}
    wait_until(lambda: harness.node.cameras[0].markers_pub.get_subscription_count() > 0)
    return harness, topics


def test_depth_gives_positions_within_2_cm_at_1_m_and_markers(
        depth_node: tuple[Any, dict[str, Any]], wait_until: Any) -> None:
    harness, topics = depth_node
    topics["camera_info"].publish(camera_info(5))
    wait_until(lambda: harness.node.cameras[0].intrinsics is not None, what="camera_info")
    topics["depth"].publish(depth_msg(depth_of_scene(5), 6))
    detections, _ = harness.client.send(synthetic_frame(5), 5)  # stamp 6 s, as the depth
    for obj in (BALL, BOX):
        instance = instance_at(detections, object_centre(obj, 5))
        assert instance.has_position, obj.name
        position = np.array([instance.position.x, instance.position.y, instance.position.z])
        assert np.linalg.norm(position - truth(obj, 5)) < 0.02, (obj.name, position)
    markers = topics["markers"].wait(6).markers
    texts = [m for m in markers if m.ns == "sam_detect/labels"]
    assert len(texts) == 3 and all(m.text == "?" for m in texts)  # unknown: no number
    assert {m.header.frame_id for m in markers} == {"demo_camera"}


@pytest.mark.parametrize("case", ["no camera_info", "depth of another size", "depth all zero",
                                  "depth stamped far away", "unsupported depth encoding"])
def test_positions_are_absent_when_depth_cannot_be_used(
        depth_node: tuple[Any, dict[str, Any]], wait_until: Any, case: str) -> None:
    harness, topics = depth_node
    millimetres, stamp = depth_of_scene(5), 6
    if case != "no camera_info":
        topics["camera_info"].publish(camera_info(5))
        wait_until(lambda: harness.node.cameras[0].intrinsics is not None, what="camera_info")
    if case == "depth of another size":
        millimetres = millimetres[:120, :160]
    elif case == "depth all zero":
        millimetres = np.zeros_like(millimetres)
    elif case == "depth stamped far away":
        stamp = 60
    msg = depth_msg(millimetres, stamp)
    if case == "unsupported depth encoding":
        msg.encoding = "rgb8"
    topics["depth"].publish(msg)
    wait_until(lambda: harness.node.cameras[0].depth.nearest(stamp * 10**9) is not None,
               what="the depth image")
    detections, _ = harness.client.send(synthetic_frame(5), 5)
    assert len(detections.instances) == 3
    assert not any(instance.has_position for instance in detections.instances)
    assert not [m for m in topics["markers"].wait(6).markers if m.ns]  # only DELETEALL


# -- bursts and losses ---------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["list_labels", "add_example"])
def test_thirty_concurrent_requests_are_all_answered(harness: Any, service: str,
                                                     wait_until: Any) -> None:
    picture, mask = object_picture(WEDGE)
    if service == "list_labels":
        srv_type, request = ListLabels, ListLabels.Request()
    else:
        srv_type, request = AddExample, AddExample.Request(
            label="wedge", image=rgb_to_image_msg(picture), mask=mask_to_image_msg(mask))
    # The client's response queue holds the burst too: with the default depth (10) a client
    # whose executor falls behind drops answers the node did send.
    client = harness.client_node.create_client(srv_type, f"/sam_detect/{service}",
                                               qos_profile=RELIABLE)
    wait_until(client.service_is_ready, what=f"service {service}")
    answered = threading.Semaphore(0)
    futures = [client.call_async(request) for _ in range(30)]
    for future in futures:
        future.add_done_callback(lambda _: answered.release())
    for index in range(30):
        assert answered.acquire(timeout=60), f"only {index} of 30 requests were answered"
    if service == "add_example":
        assert all(f.result().success for f in futures)
        assert list(harness.call(ListLabels, "list_labels").counts) == [30]


def test_frames_lost_before_the_node_are_counted_in_diagnostics(harness_factory: Any,
                                                                wait_until: Any) -> None:
    harness = harness_factory({"diagnostics_period": 0.2})
    received: list[Any] = []
    harness.client_node.create_subscription(DiagnosticArray, "/diagnostics", received.append, 10)
    for index in (0, 1, 2, 3, 7):  # stamps 1..4 s, then 8 s: frames 5, 6 and 7 never came
        harness.client.send(synthetic_frame(index), index)
    assert harness.node.frame_counts()["lost"] == 3
    wait_until(lambda: any({kv.key: kv.value for kv in s.values}.get("frames_lost") == "3"
                           for a in received for s in a.status), what="frames_lost in diagnostics")


def test_diagnostics_report_each_camera_and_the_state(harness_factory: Any,
                                                      wait_until: Any) -> None:
    harness = harness_factory({"cameras": ["front", "wrist"], "diagnostics_period": 0.2},
                              ready=False)
    received: list[Any] = []
    harness.client_node.create_subscription(DiagnosticArray, "/diagnostics", received.append, 10)
    detections = Topic(harness.client_node, InstanceArray, "wrist/detections")
    pub = publisher(harness, Image, "wrist/image", wait_until)
    wait_until(lambda: harness.node.cameras[1].detections_pub.get_subscription_count() > 0)
    pub.publish(rgb_to_image_msg(synthetic_frame(0), header(1, "wrist")))
    detections.wait(1)

    def values() -> dict[str, str] | None:
        for array in received:
            for status in array.status:
                found = {kv.key: kv.value for kv in status.values}
                if found.get("wrist/frames_processed") == "1":
                    return found
        return None

    found = wait_until(values, what="per-camera counters in /diagnostics")
    assert found["state"] == "active" and found["frames_processed"] == "1"
    assert found["front/frames_received"] == "0" and found["wrist/frames_lost"] == "0"


def test_max_batch_one_serves_the_cameras_in_turn(harness_factory: Any, wait_until: Any) -> None:
    detector, harness, out, pubs = two_cameras(harness_factory, wait_until, max_batch=1)
    pubs["front"].publish(rgb_to_image_msg(synthetic_frame(0), header(1, "front")))
    assert detector.entered.wait(30)
    pubs["front"].publish(rgb_to_image_msg(synthetic_frame(1), header(2, "front")))
    pubs["wrist"].publish(rgb_to_image_msg(synthetic_frame(2), header(2, "wrist")))
    wait_until(lambda: harness.node.frame_counts()["received"] == 3, what="three frames")
    detector.gate.set()
    out["front"].wait(2)
    out["wrist"].wait(2)
    assert detector.calls == [1, 1, 1]  # one camera at a time, never a batch


# -- hostile frames (issue 17) -------------------------------------------------------------------

def jpeg_declaring(width: int, height: int) -> bytes:
    """Return a JPEG of a few hundred bytes whose header (SOF0) declares ``width`` x ``height``."""
    import cv2

    data = bytearray(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 7] = height.to_bytes(2, "big")
    data[sof + 7:sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize("declared, budget", [
    ((20000, 20000), None),                 # the QA pass's bomb, under the default budget
    ((2000, 2000), 1_000_000),              # a small budget set by the user
])
def test_a_compressed_frame_over_the_pixel_budget_is_refused_from_its_header(
        harness_factory: Any, wait_until: Any, capfd: Any, declared: tuple[int, int],
        budget: int | None) -> None:
    parameters = {"image_transport": "compressed"}
    if budget is not None:
        parameters["max_image_pixels"] = budget
    harness = harness_factory(parameters, ready=False)
    pub = publisher(harness, CompressedImage, "image/compressed", wait_until)
    bomb = jpeg_declaring(*declared)
    assert len(bomb) < 1000
    pub.publish(CompressedImage(header=header(1), format="jpeg", data=bomb))
    wait_until(lambda: harness.node.frame_counts()["failed"] == 1, what="the refusal")
    width, height = declared
    limit = budget or 8192 * 8192
    assert (f"declares {width}x{height}: {width * height} pixels, over the budget of {limit} "
            "(max_image_pixels); not decoded") in capfd.readouterr().err
    detections = Topic(harness.client_node, InstanceArray, "detections")
    wait_until(lambda: harness.node.cameras[0].detections_pub.get_subscription_count() > 0)
    pub.publish(rgb_to_compressed_msg(synthetic_frame(0), "jpeg", header(2)))
    assert len(detections.wait(2).instances) == 3  # the node goes on


def test_a_raw_frame_over_the_pixel_budget_is_refused(harness_factory: Any, wait_until: Any,
                                                      capfd: Any) -> None:
    harness = harness_factory({"max_image_pixels": 320 * 240 - 1})
    harness.client.publisher.publish(rgb_to_image_msg(synthetic_frame(0), header(1)))
    wait_until(lambda: harness.node.frame_counts()["failed"] == 1, what="the refusal")
    assert "image is 320x240: 76800 pixels, over the budget of 76799" in capfd.readouterr().err
    from rclpy.parameter import Parameter

    harness.node.set_parameters([Parameter("max_image_pixels", value=320 * 240)])  # runtime
    detections, _ = harness.client.send(synthetic_frame(0), 2)
    assert len(detections.instances) == 3


def test_camera_info_with_an_absurd_focal_length_gives_no_position(
        depth_node: tuple[Any, dict[str, Any]], wait_until: Any, capfd: Any) -> None:
    harness, topics = depth_node
    topics["camera_info"].publish(camera_info(5))
    wait_until(lambda: harness.node.cameras[0].intrinsics is not None, what="camera_info")
    good = harness.node.cameras[0].intrinsics
    absurd = camera_info(5)
    absurd.k = [5e-324, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0]
    topics["camera_info"].publish(absurd)
    wait_until(lambda: harness.node.cameras[0].intrinsics != good, what="the absurd camera_info")
    topics["depth"].publish(depth_msg(depth_of_scene(5), 6))
    wait_until(lambda: harness.node.cameras[0].depth.nearest(6 * 10**9) is not None)
    detections, _ = harness.client.send(synthetic_frame(5), 5)
    assert len(detections.instances) == 3
    for instance in detections.instances:
        assert not instance.has_position
        assert np.isfinite([instance.position.x, instance.position.y, instance.position.z]).all()
    assert "ignoring camera_info" in capfd.readouterr().err


def test_a_publisher_whose_frames_never_arrive_gets_a_warning_naming_the_profile(
        harness_factory: Any, capfd: Any, wait_until: Any) -> None:
    """A publisher exists on image (the test client's) but its frames never reach the node."""
    harness = harness_factory({})
    assert harness.client.publisher.get_subscription_count() == 1
    capfd.readouterr()

    def warned() -> str:
        return "\n".join(line for line in capfd.readouterr().err.splitlines()
                         if "but no frame arrived in" in line)

    line = wait_until(warned, what="the delivery warning")
    assert re.search(r"/image has 1 publisher but no frame arrived in [5-9] s: large frames "
                     r"between processes are lost without Fast DDS's shared-memory profile",
                     line), line
    assert "FASTRTPS_DEFAULT_PROFILES_FILE" in line and "fastdds_shm.xml" in line
    # Frames arriving again: no more warnings of it.
    harness.client.send(synthetic_frame(0), 0)
    assert harness.node._worker.delivery_problem("", 1) is None
