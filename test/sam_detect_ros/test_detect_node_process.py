# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of the sam_detect node as its own process, as ``ros2 run`` starts it.

``ros2 run`` is not among the PyPI wheels; ``python -m sam_detect_ros.detect_node`` runs the same
``main`` with the same ``--ros-args``.
"""

from __future__ import annotations

from pathlib import Path
import signal
import subprocess
import threading
import time
from typing import Any

import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

from sam_detect_ros.conversions import mask_to_image_msg, rgb_to_image_msg  # noqa: E402
from sam_detect_ros.demo import (  # noqa: E402
    instance_at,
    object_centre,
    object_picture,
    SCENE,
    synthetic_frame,
)
from sam_detect_ros.srv import AddExample, LabelInstance, ListLabels  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from .conftest import Client, START_TIMEOUT, start_node, wait_for  # noqa: E402

BALL, BOX, _ = SCENE


def test_taught_examples_survive_sigkill(tmp_path: Path,
                                         processes: list[subprocess.Popen]) -> None:
    log = tmp_path / "node.log"
    parameters = ("embedder:=average", f"store_path:={tmp_path / 'store'}",
                  "image_qos:=reliable")
    processes.append(start_node(log, *parameters))
    client = Client()
    try:
        wait_for(client, processes[0], log)
        detections, _ = client.demo.send(synthetic_frame(0), 0, timeout=60)
        assert len(detections.instances) == 3
        ball = instance_at(detections, object_centre(BALL, 0))
        answer = client.call(client.demo.label_instance, LabelInstance.Request(
            label="ball", instance_id=ball.id, stamp=detections.header.stamp))
        assert answer.success, answer.message
        picture, mask = object_picture(BOX)
        answer = client.call(client.demo.add_example, AddExample.Request(
            label="box", image=rgb_to_image_msg(picture), mask=mask_to_image_msg(mask)))
        assert answer.success and answer.total_examples == 2, answer.message
    finally:
        client.close()
    processes[0].send_signal(signal.SIGKILL)  # no flush, no close: the store's WAL must do
    assert processes[0].wait(timeout=30) == -signal.SIGKILL

    processes.append(start_node(log, *parameters))
    client = Client()  # a new participant: it never saw the killed node
    try:
        wait_for(client, processes[1], log)
        labels = client.call(client.demo.list_labels, ListLabels.Request())
        assert (list(labels.labels), list(labels.counts)) == (["ball", "box"], [1, 1])
        detections, _ = client.demo.send(synthetic_frame(3), 3, timeout=60)
        assert instance_at(detections, object_centre(BALL, 3)).label == "ball"
        assert instance_at(detections, object_centre(BOX, 3)).label == "box"
    finally:
        client.close()
    processes[1].send_signal(signal.SIGINT)
    assert processes[1].wait(timeout=60) == 0, log.read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_node_stops_cleanly_on_sigint_and_sigterm(
        tmp_path: Path, signum: int, processes: list[subprocess.Popen]) -> None:
    log = tmp_path / "node.log"
    processes.append(start_node(log, "embedder:=average", f"store_path:={tmp_path / 'store'}"))
    client = Client()
    try:
        wait_for(client, processes[0], log)
        client.call(client.demo.list_labels, ListLabels.Request())  # it is spinning
    finally:
        client.close()
    processes[0].send_signal(signum)
    assert processes[0].wait(timeout=60) == 0, log.read_text()
    assert "stopped after 0 frames; store closed" in log.read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_frames_stream_in_stops_cleanly(
        tmp_path: Path, signum: int, processes: list[subprocess.Popen]) -> None:
    """The worker publishing a frame's results must not race ROS shutting down (no segfault)."""
    log = tmp_path / "node.log"
    processes.append(start_node(log, "embedder:=average", "segmenter:=naive",
                                "image_qos:=reliable", f"store_path:={tmp_path / 'store'}"))
    client = Client()
    stop = threading.Event()
    frames = [synthetic_frame(index) for index in range(8)]

    def stream() -> None:
        index = 0
        while not stop.is_set():
            header = Header(frame_id="demo_camera")
            header.stamp.sec = 100 + index
            client.demo.publisher.publish(rgb_to_image_msg(frames[index % 8], header))
            index += 1
            time.sleep(0.01)

    publisher = threading.Thread(target=stream)
    try:
        wait_for(client, processes[0], log)
        client.demo.send(synthetic_frame(0), 0, timeout=60)  # frames reach the models
        publisher.start()
        time.sleep(1.0)
        processes[0].send_signal(signum)  # while frames are decoded, inferred and published
        assert processes[0].wait(timeout=60) == 0, log.read_text()
    finally:
        stop.set()
        if publisher.is_alive():
            publisher.join(timeout=30)
        client.close()
    assert "store closed" in log.read_text()


@pytest.mark.parametrize("parameter, message", [
    ("fade:=blurry", "fade must be one of identity, hard_crop"),
    ("store:=cloud", "store must be one of memory, edge, qdrant, got 'cloud'"),
    ("top_k:=0", "top_k"),
    ("image_qos:=fast", "image_qos must be one of sensor_data, reliable"),
])
def test_invalid_start_parameters_exit_with_a_message(tmp_path: Path, parameter: str,
                                                      message: str) -> None:
    log = tmp_path / "node.log"
    process = start_node(log, "embedder:=average", "store:=memory", parameter)
    assert process.wait(timeout=START_TIMEOUT) == 2
    output = log.read_text()
    assert message in output and "Traceback" not in output, output


def test_without_autostart_a_failed_transition_keeps_the_process(
        tmp_path: Path, processes: list[subprocess.Popen]) -> None:
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    log = tmp_path / "node.log"
    processes.append(start_node(log, "autostart:=false", "embedder:=average", "store:=memory",
                                "fade:=blurry"))
    client = Client()
    try:
        change = client.node.create_client(ChangeState, "/sam_detect/change_state")
        get = client.node.create_client(GetState, "/sam_detect/get_state")

        # A node of an earlier test may still be known for a moment, and a request sent before
        # this node's server matched is lost: retry until this node answers (a failing
        # configure may be asked twice).
        def answer(service: Any, request: Any) -> Any:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    return client.demo.call(service, request, timeout=5.0)
                except RuntimeError:
                    assert time.monotonic() < deadline, log.read_text()

        assert answer(get, GetState.Request()).current_state.label == "unconfigured"
        configure = ChangeState.Request(transition=Transition(label="configure"))
        assert not answer(change, configure).success and processes[0].poll() is None
        assert answer(get, GetState.Request()).current_state.label == "unconfigured"
    finally:
        client.close()
    processes[0].send_signal(signal.SIGINT)
    assert processes[0].wait(timeout=60) == 0, log.read_text()
    assert "configure failed: fade must be one of" in log.read_text()
