# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of the sam_detect node in this process: topics, services, parameters, load shedding."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
import threading
import time
from typing import Any
import zlib

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rcl_interfaces.msg import Parameter as ParameterMsg  # noqa: E402
from rcl_interfaces.msg import ParameterType, ParameterValue  # noqa: E402
from rcl_interfaces.srv import SetParameters, SetParametersAtomically  # noqa: E402
from sam_detect.fading import GaussianFade, LinearFade  # noqa: E402
from sam_detect_ros.conversions import (  # noqa: E402
    mask_to_image_msg,
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
from sam_detect_ros.detect_node import PARAMETERS  # noqa: E402
from sam_detect_ros.srv import (  # noqa: E402
    AddExample,
    LabelInstance,
    ListLabels,
    RemoveLabel,
)
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

BALL, BOX, WEDGE = SCENE


def frame_msg(index: int, frame_id: str = "cam") -> Image:
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = 1000 + index, 5
    return rgb_to_image_msg(synthetic_frame(index), header, encoding="rgb8")


def send(harness: Any, index: int) -> Any:
    """Publish synthetic frame ``index`` and return its InstanceArray."""
    return harness.client.send(synthetic_frame(index), index)[0]


def teach_box(harness: Any, label: str = "blue box") -> Any:
    picture, mask = object_picture(BOX)
    return harness.call(AddExample, "add_example", label=label,
                        image=rgb_to_image_msg(picture, encoding="bgr8"),
                        mask=mask_to_image_msg(mask))


# -- topics --------------------------------------------------------------------------------------

def test_detections_carry_the_source_header_and_instances(harness: Any) -> None:
    detections = send(harness, 3)
    assert detections.header.frame_id == "demo_camera"
    assert (detections.header.stamp.sec, detections.header.stamp.nanosec) == (4, 0)
    assert len(detections.instances) == 3
    assert sorted(i.id for i in detections.instances) == [0, 1, 2]
    for obj in SCENE:
        instance = instance_at(detections, object_centre(obj, 3))
        assert instance is not None, obj.name
        assert instance.label == "" and list(instance.neighbour_labels) == []
        mask = np.frombuffer(instance.mask.data, np.uint8)
        assert (instance.mask.width, instance.mask.height) == (instance.roi.width,
                                                               instance.roi.height)
        assert int(np.count_nonzero(mask == 255)) == instance.area > 0


def test_taught_object_is_recognised_in_later_frames(harness: Any) -> None:
    answer = teach_box(harness)
    assert answer.success, answer.message
    assert (answer.examples_added, answer.total_examples) == (1, 1)
    detections = send(harness, 5)
    box = instance_at(detections, object_centre(BOX, 5))
    assert box.label == "blue box" and box.confidence > 0
    # The frame's other objects were stored as known background when the box was taught.
    assert [n for n in box.neighbour_labels if n != "__background__"] == ["blue box"]
    assert instance_at(detections, object_centre(BALL, 5)).label == ""


def test_overlay_only_while_subscribed_or_forced(harness_factory: Any, wait_until: Any) -> None:
    harness = harness_factory()
    calls = []
    visualize = harness.node.detector.visualize
    # The demo client subscribes to the overlay: drop that subscription.
    harness.node.detector.visualize = lambda *a: calls.append(1) or visualize(*a)
    for sub in list(harness.client_node.subscriptions):
        if sub.topic_name == "/overlay":
            harness.client_node.destroy_subscription(sub)
    wait_until(lambda: harness.node.cameras[0].overlay_pub.get_subscription_count() == 0,
               what="overlay subscription to go away")
    send(harness, 0)
    assert calls == []
    forced = harness_factory({"publish_overlay": True})
    forced_calls = []
    visualize2 = forced.node.detector.visualize
    forced.node.detector.visualize = lambda *a: forced_calls.append(1) or visualize2(*a)
    detections, overlay = forced.client.send(synthetic_frame(1), 1, want_overlay=True)
    assert forced_calls == [1]
    assert overlay.encoding == "bgr8" and (overlay.width, overlay.height) == (320, 240)
    assert overlay.header.stamp.sec == detections.header.stamp.sec == 2


def test_bad_frames_are_counted_and_the_node_keeps_running(harness: Any, wait_until: Any) -> None:
    bad = [frame_msg(0) for _ in range(3)]
    bad[0].encoding = "yuv422"
    bad[1].step = 10
    bad[2].height = bad[2].width = 0
    bad[2].data = b""
    for msg in bad:
        harness.client.publisher.publish(msg)
        wait_until(lambda: harness.node.frame_counts()["failed"] == bad.index(msg) + 1,
                   what="the bad frame to be rejected")
    assert len(send(harness, 1).instances) == 3
    counts = harness.node.frame_counts()
    assert (counts["failed"], counts["processed"]) == (3, 1)


# -- services ------------------------------------------------------------------------------------

def test_add_example_without_mask_takes_the_largest_object(harness: Any) -> None:
    picture, _ = object_picture(WEDGE)
    answer = harness.call(AddExample, "add_example", label=" wedge ",
                          image=rgb_to_image_msg(picture))
    assert answer.success, answer.message
    assert "largest" in answer.message and answer.total_examples == 1
    labels = harness.call(ListLabels, "list_labels")
    assert (list(labels.labels), list(labels.counts)) == (["wedge"], [1])


def _bad_add_example_requests() -> list[tuple[str, dict[str, Any], str]]:
    picture, mask = object_picture(BOX)
    image = rgb_to_image_msg(picture)
    yuv = rgb_to_image_msg(picture)
    yuv.encoding = "yuv422"
    return [
        ("empty label", {"label": "", "image": image, "mask": mask_to_image_msg(mask)},
         "label is empty"),
        ("blank label", {"label": "  ", "image": image}, "label is empty"),
        ("mask of another size", {"label": "box", "image": image,
                                  "mask": mask_to_image_msg(mask[:100])}, "same size"),
        ("empty mask", {"label": "box", "image": image,
                        "mask": mask_to_image_msg(np.zeros_like(mask))}, "mask is empty"),
        ("rgb mask", {"label": "box", "image": image, "mask": rgb_to_image_msg(picture)},
         "send a mono8 mask"),
        ("unsupported encoding", {"label": "box", "image": yuv}, "unsupported image encoding"),
        ("no image", {"label": "box"}, "image is empty"),
        ("nothing to segment", {"label": "box",
                                "image": rgb_to_image_msg(floor_texture((120, 160)))},
         "no object found"),
    ]


@pytest.mark.parametrize("case, fields, message", _bad_add_example_requests(),
                         ids=[c[0] for c in _bad_add_example_requests()])
def test_add_example_refuses_bad_requests(harness: Any, case: str, fields: dict,
                                          message: str) -> None:
    answer = harness.call(AddExample, "add_example", **fields)
    assert not answer.success and message in answer.message, answer.message
    assert answer.examples_added == 0
    assert list(harness.call(ListLabels, "list_labels").labels) == []


def test_label_instance_by_stamp_and_latest(harness: Any) -> None:
    first = send(harness, 0)
    send(harness, 1)
    ball = instance_at(first, object_centre(BALL, 0))
    answer = harness.call(LabelInstance, "label_instance", label="ball",
                          instance_id=ball.id, stamp=first.header.stamp)
    assert answer.success, answer.message
    latest = send(harness, 2)
    box = instance_at(latest, object_centre(BOX, 2))
    answer = harness.call(LabelInstance, "label_instance", label="box", instance_id=box.id)
    assert answer.success, answer.message
    # A zero stamp means the latest frame: the answer says which one that was.
    assert f"of frame {latest.header.stamp.sec}.000000000" in answer.message, answer.message
    labels = harness.call(ListLabels, "list_labels")
    assert (list(labels.labels), list(labels.counts)) == (["ball", "box"], [1, 1])
    later = send(harness, 4)
    assert instance_at(later, object_centre(BALL, 4)).label == "ball"
    assert instance_at(later, object_centre(BOX, 4)).label == "box"


def test_label_instance_refuses_bad_requests(harness: Any) -> None:
    answer = harness.call(LabelInstance, "label_instance", label="x", instance_id=0)
    assert not answer.success and "no published frame yet" in answer.message
    detections = send(harness, 0)
    missing = Header().stamp
    missing.sec = 99
    cases = [
        ({"label": "", "instance_id": 0}, "label is empty"),
        ({"label": "x", "instance_id": 7}, "no instance 7 in frame 1.000000000; it has 3"),
        ({"label": "x", "instance_id": 9, "stamp": detections.header.stamp}, "no instance 9"),
        ({"label": "x", "instance_id": 0, "stamp": missing},
         "no published frame with stamp 99.000000000"),
    ]
    for fields, message in cases:
        answer = harness.call(LabelInstance, "label_instance", **fields)
        assert not answer.success and message in answer.message, (fields, answer.message)
    assert list(harness.call(ListLabels, "list_labels").labels) == []


def test_label_instance_forgets_frames_beyond_history(harness_factory: Any) -> None:
    harness = harness_factory({"history_size": 2})
    old = send(harness, 0)
    send(harness, 1)
    send(harness, 2)
    answer = harness.call(LabelInstance, "label_instance", label="x", instance_id=0,
                          stamp=old.header.stamp)
    assert not answer.success and "only the last 2 frames" in answer.message


def test_remove_label(harness: Any) -> None:
    teach_box(harness, "box")
    teach_box(harness, "box")
    teach_box(harness, "other")
    answer = harness.call(RemoveLabel, "remove_label", label="box")
    assert answer.success and answer.removed == 2, answer.message
    labels = harness.call(ListLabels, "list_labels")
    assert (list(labels.labels), list(labels.counts)) == (["other"], [1])
    for label, message in [("box", "no examples labelled 'box'"), ("", "label is empty")]:
        answer = harness.call(RemoveLabel, "remove_label", label=label)
        assert not answer.success and answer.removed == 0 and message in answer.message


def test_answers_count_examples_when_the_embedder_stores_views(
        harness_factory: Any, mirror_views: Any) -> None:
    """An example stored with its teaching-time views is one example in every answer."""
    from sam_detect import SAMDetect
    from sam_detect.vector_store import MemoryVectorStore

    harness = harness_factory(detector=SAMDetect(embedder=mirror_views, segmenter="naive",
                                                 vector_store=MemoryVectorStore()))
    for total in (1, 2):
        answer = teach_box(harness, "box")
        assert (answer.examples_added, answer.total_examples) == (1, total), answer.message
    labels = harness.call(ListLabels, "list_labels")
    assert (list(labels.labels), list(labels.counts)) == (["box"], [2])
    answer = harness.call(RemoveLabel, "remove_label", label="box")
    assert answer.success and answer.removed == 2, answer.message
    assert "removed 2 example(s)" in answer.message


# -- parameters ----------------------------------------------------------------------------------

def set_parameters(harness: Any, **values: Any) -> list[Any]:
    """Set parameters through the node's parameter service, as `ros2 param set` does."""
    kinds = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
             float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}
    fields = {bool: "bool_value", int: "integer_value", float: "double_value",
              str: "string_value"}
    parameters = []
    for name, value in values.items():
        parameter_value = ParameterValue(type=kinds[type(value)])
        setattr(parameter_value, fields[type(value)], value)
        parameters.append(ParameterMsg(name=name, value=parameter_value))
    return list(harness.call(SetParameters, "set_parameters", parameters=parameters).results)


def test_runtime_parameters_apply(harness: Any) -> None:
    node, detector = harness.node, harness.node.detector
    results = set_parameters(harness, fade="gaussian", sigma=12.0, top_k=2,
                             unknown_threshold=0.3, max_instances=1, publish_overlay=True)
    assert [r.successful for r in results] == [True] * 6, [r.reason for r in results]
    assert detector.fade_strategy == GaussianFade(sigma=12.0, min_fade=0.05)
    assert (detector.default_top_k, detector.unknown_threshold) == (2, pytest.approx(0.3))
    assert node.get_parameter("top_k").value == 2
    assert len(send(harness, 0).instances) == 1
    results = set_parameters(harness, fade="linear", max_distance=40.0, unknown_threshold=-1.0)
    assert all(r.successful for r in results)
    assert detector.fade_strategy == LinearFade(max_distance=40.0, min_fade=0.05)
    assert detector.unknown_threshold == pytest.approx(detector.embedder.unknown_threshold)


@pytest.mark.parametrize("name, value, reason", [
    ("sigma", 0.0, "sigma must be a positive"),
    ("fade", "blurry", "fade must be one of"),
    ("top_k", 0, "top_k"),
    ("min_fade", 1.5, "min_fade"),
    ("image_qos", "reliable_ish", "restart the node to change image_qos"),
    ("embedder", "clip", "restart the node to change embedder"),
    ("store_path", "/tmp/elsewhere", "restart the node to change store_path"),
    ("segmenter", "sam2", "restart the node to change segmenter"),
    ("sigma", "wide", "type"),
])
def test_invalid_parameters_are_rejected(harness: Any, name: str, value: Any,
                                         reason: str) -> None:
    before = harness.node.detector.fade_strategy
    current = harness.node.get_parameter(name).value
    (result,) = set_parameters(harness, **{name: value})
    assert not result.successful and reason in result.reason, result.reason
    assert harness.node.get_parameter(name).value == current
    assert harness.node.detector.fade_strategy is before


def test_setting_a_restart_parameter_to_its_value_is_accepted(harness: Any) -> None:
    (result,) = set_parameters(harness, embedder="average")
    assert result.successful


def test_one_bad_value_rejects_the_whole_batch_atomically(harness: Any) -> None:
    answer = harness.call(SetParametersAtomically, "set_parameters_atomically", parameters=[
        ParameterMsg(name="top_k", value=ParameterValue(type=ParameterType.PARAMETER_INTEGER,
                                                        integer_value=3)),
        ParameterMsg(name="sigma", value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE,
                                                        double_value=0.0)),
    ])
    assert not answer.result.successful and "sigma" in answer.result.reason
    assert harness.node.detector.default_top_k == PARAMETERS["top_k"].default


# -- threading -----------------------------------------------------------------------------------

def checksum(image: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(image).tobytes())


class GatedDetector:
    """Wraps a detector; each ``detect`` waits until the test opens the gate.

    Attributes:
        seen: Checksums of the images given to ``detect``, in order.
        inferring: ``detect`` calls in progress.
        overlaps: ``add_examples`` / ``remove_label`` calls made while ``detect`` was running.
    """

    OWN = ("entered", "gate", "seen", "inferring", "overlaps")

    def __init__(self, detector: Any) -> None:
        self._detector = detector
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()
        self.seen: list[int] = []
        self.inferring = 0
        self.overlaps = 0

    def detect(self, image: Any, *args: Any, **kwargs: Any) -> Any:
        return self._gated(self._detector.detect, image, *args, **kwargs)

    def track(self, image: Any, *args: Any, **kwargs: Any) -> Any:
        return self._gated(self._detector.track, image, *args, **kwargs)

    def _gated(self, run: Any, image: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(checksum(image))
        self.entered.release()
        assert self.gate.wait(60), "the test never opened the gate"
        self.inferring += 1  # only the worker thread runs detect / track
        try:
            return run(image, *args, **kwargs)
        finally:
            self.inferring -= 1

    def add_examples(self, *args: Any, **kwargs: Any) -> Any:
        self.overlaps += self.inferring > 0
        return self._detector.add_examples(*args, **kwargs)

    def remove_label(self, *args: Any, **kwargs: Any) -> Any:
        self.overlaps += self.inferring > 0
        return self._detector.remove_label(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name in self.OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._detector, name, value)


@pytest.fixture
def gated(harness_factory: Any) -> tuple[Any, GatedDetector]:
    from sam_detect import SAMDetect
    from sam_detect.embedding import AverageEmbedder

    detector = GatedDetector(SAMDetect(embedder=AverageEmbedder()))
    return harness_factory(detector=detector), detector


def test_latest_frame_wins_under_load(gated: tuple[Any, GatedDetector],
                                      wait_until: Any) -> None:
    harness, detector = gated
    publish = harness.client.publisher.publish
    publish(frame_msg(0))
    assert detector.entered.acquire(timeout=30), "inference did not start"
    for index in range(1, 9):  # a burst while frame 0 is stuck in inference
        publish(frame_msg(index))
    wait_until(lambda: harness.node.frame_counts()["received"] == 9, what="the burst")
    detector.gate.set()
    wait_until(lambda: harness.node.frame_counts()["processed"] == 2, what="two frames processed")
    counts = harness.node.frame_counts()
    assert counts == {"received": 9, "processed": 2, "dropped": 7, "failed": 0, "lost": 0}
    assert harness.node.frames_dropped == 7
    # Inference saw the first frame and then the newest one; the seven between were replaced.
    assert detector.seen == [checksum(synthetic_frame(i)) for i in (0, 8)]
    assert harness.node.recent_frame(frame_msg(8).header.stamp) is not None
    assert harness.node.recent_frame(frame_msg(4).header.stamp) is None
    latest = harness.node.recent_frame()
    assert latest.sec_nanosec == (1008, 5) and len(latest.instances) == 3
    # The history keeps ids, boxes and embeddings, not the full-frame masks.
    assert all(i.mask is None and i.embedding is not None for i in latest.instances)


def test_services_answer_during_inference(gated: tuple[Any, GatedDetector]) -> None:
    harness, detector = gated
    harness.client.publisher.publish(frame_msg(0))
    assert detector.entered.acquire(timeout=30), "inference did not start"
    try:
        labels = harness.call(ListLabels, "list_labels")  # would time out if blocked
        removed = harness.call(RemoveLabel, "remove_label", label="nothing")
        assert list(labels.labels) == [] and not removed.success
        assert harness.node.frame_counts()["processed"] == 0
    finally:
        detector.gate.set()


def test_parameter_changes_wait_for_the_running_inference(
        gated: tuple[Any, GatedDetector]) -> None:
    harness, detector = gated
    before = detector.fade_strategy
    harness.client.publisher.publish(frame_msg(0))
    assert detector.entered.acquire(timeout=30), "inference did not start"
    results: list[Any] = []
    setter = threading.Thread(target=lambda: results.extend(
        set_parameters(harness, fade="gaussian", sigma=12.0)))
    setter.start()
    try:
        time.sleep(0.5)
        assert detector.fade_strategy is before and results == []  # this frame keeps its fade
    finally:
        detector.gate.set()
        setter.join(timeout=30)
    assert [r.successful for r in results] == [True, True]
    assert detector.fade_strategy == GaussianFade(sigma=12.0, min_fade=0.05)


def test_teaching_during_inference_on_an_edge_store(harness_factory: Any, wait_until: Any,
                                                    tmp_path: Path) -> None:
    from sam_detect import SAMDetect
    from sam_detect.embedding import AverageEmbedder
    from sam_detect.vector_store import EdgeVectorStore

    detector = GatedDetector(SAMDetect(embedder=AverageEmbedder(),
                                       vector_store=EdgeVectorStore(tmp_path / "store")))
    detector.gate.set()
    harness = harness_factory(detector=detector)
    stop = threading.Event()

    def publish_frames() -> None:  # keeps the worker busy: a frame is always waiting
        index = 0
        while not stop.is_set():
            harness.client.publisher.publish(frame_msg(index % 8))
            index += 1
            time.sleep(0.002)

    box_picture, box_mask = object_picture(BOX)
    wedge_picture, _ = object_picture(WEDGE)
    box = {"image": rgb_to_image_msg(box_picture), "mask": mask_to_image_msg(box_mask)}
    calls = {
        "boxes": [(AddExample, "add_example", {"label": "box", **box})] * 4
        + [(AddExample, "add_example", {"label": "wedge",
                                        "image": rgb_to_image_msg(wedge_picture)})] * 2,
        # Pointing at the latest frame embeds its teaching views under the models' lock;
        # pointing at an earlier frame by stamp stores its kept embedding without it, so it is
        # the write that lands while a frame is being inferred.
        "pointing": [(LabelInstance, "label_instance", {"label": "ball", "instance_id": 0})] * 3
        + [(LabelInstance, "label_instance", {"label": "ball", "instance_id": 0,
                                              "stamp": "published"})] * 3,
        "temporary": [(AddExample, "add_example", {"label": "temp", **box})] * 2
        + [(LabelInstance, "label_instance", {"label": "temp", "instance_id": 1})] * 2
        + [(RemoveLabel, "remove_label", {"label": "temp"})],
    }
    answers: dict[str, list[Any]] = {name: [] for name in calls}

    def teach(name: str) -> None:
        for srv_type, service, fields in calls[name]:
            if fields.get("stamp") == "published":  # by now, no longer the latest frame
                stamp = Header().stamp
                stamp.sec, stamp.nanosec = harness.node.recent_frame().sec_nanosec
                fields = {**fields, "stamp": stamp}
            answers[name].append(harness.call(srv_type, service, **fields))

    publisher = threading.Thread(target=publish_frames)
    publisher.start()
    try:
        wait_until(lambda: harness.node.recent_frame() is not None, what="a first frame")
        teachers = [threading.Thread(target=teach, args=(name,)) for name in calls]
        for thread in teachers:
            thread.start()
        for thread in teachers:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in teachers), "a service call hung"
    finally:
        stop.set()
        publisher.join(timeout=30)
    for name, replies in answers.items():
        assert len(replies) == len(calls[name]), name
        assert all(r.success for r in replies), [r.message for r in replies]
    assert answers["temporary"][-1].removed == 4
    assert detector.overlaps > 0, "no service wrote to the store during inference"
    assert harness.node.frame_counts()["failed"] == 0

    expected = {"box": 4, "ball": 6, "wedge": 2}
    store = detector.vector_store
    # Teaching also stored the frames' other objects as known background (never a label).
    background = store.labels().pop("__background__", 0)
    assert detector.labels() == expected and store.count() == 12 + background
    # Every stored example, once: a search for all of them finds each id once.
    (hits,) = store.search(np.ones((1, detector.embedder.dim), np.float32), k=100)
    hits = [hit for hit in hits if hit.label != "__background__"]
    assert len(hits) == 12 and len({hit.id for hit in hits}) == 12
    assert Counter((hit.label, hit.payload["source"]) for hit in hits) == {
        ("box", "ros:add_example"): 4, ("wedge", "ros:add_example"): 2,
        ("ball", "ros:label_instance"): 6}


def test_diagnostics_report_frame_counters(harness_factory: Any, wait_until: Any) -> None:
    harness = harness_factory({"diagnostics_period": 0.2})
    received: list[Any] = []
    harness.client_node.create_subscription(DiagnosticArray, "/diagnostics", received.append, 10)
    send(harness, 0)
    status = wait_until(
        lambda: next((s for a in received for s in a.status
                      if {kv.key: kv.value for kv in s.values}.get("frames_processed") == "1"),
                     None), what="diagnostics after one frame")
    values = {kv.key: kv.value for kv in status.values}
    assert values["frames_dropped"] == "0" and values["examples"] == "0"
    assert status.name == "/sam_detect: detection"
