# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The QA pass's hostile inputs against the node (issue 9): answers, never a dead node."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys
from typing import Any

import numpy as np
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
from sam_detect_ros.srv import (  # noqa: E402
    AddExample,
    LabelInstance,
    ListLabels,
    RemoveLabel,
)

from .conftest import Client, start_node, wait_for  # noqa: E402

BALL, BOX, WEDGE = SCENE
FORGED = "mug\n[INFO] [0.0] [sam_detect]: forged line"


def box_example(label: str = "blue box") -> AddExample.Request:
    """Return an ``~/add_example`` request that teaches the box under ``label``."""
    picture, mask = object_picture(BOX)
    return AddExample.Request(label=label, image=rgb_to_image_msg(picture, encoding="bgr8"),
                              mask=mask_to_image_msg(mask))


def teach_box(harness: Any, label: str = "blue box") -> Any:
    request = box_example(label)
    return harness.call(AddExample, "add_example", label=request.label, image=request.image,
                        mask=request.mask)


@pytest.mark.parametrize(("label", "problem"), [
    (FORGED, "line break"), ("mug\tpen", "a tab"), ("mug\x1b[31m", "an escape character"),
    ("x" * 300, "the limit"),
])
def test_hostile_labels_are_refused_by_every_service(harness: Any, label, problem) -> None:
    harness.client.send(synthetic_frame(0), 0)
    answers = [teach_box(harness, label),
               harness.call(LabelInstance, "label_instance", label=label, instance_id=0),
               harness.call(RemoveLabel, "remove_label", label=label)]
    for answer in answers:
        assert not answer.success and problem in answer.message
        assert answer.message.isprintable()  # the logged refusal forges no line either
    assert harness.call(ListLabels, "list_labels").labels == []


def test_a_1x1_frame_and_example_are_answered(harness: Any) -> None:
    dot = np.full((1, 1, 3), 200, np.uint8)
    detections, _ = harness.client.send(dot, 7)
    assert list(detections.instances) == []
    answer = harness.call(AddExample, "add_example", label="dot",
                          image=rgb_to_image_msg(dot, encoding="rgb8"))
    assert not answer.success and "no object found" in answer.message
    assert harness.node.frame_counts()["failed"] == 0


def test_a_full_disk_refuses_examples_and_keeps_serving(tmp_path: Path, small_tmpfs, fill_disk,
                                                        processes: list) -> None:
    """The node runs in its own process: if a write still crashes it (SIGBUS), this test fails."""
    folder = small_tmpfs("16M")
    log = tmp_path / "node.log"
    node = start_node(log, "embedder:=average", "store:=edge", f"store_path:={folder / 'store'}",
                      "image_qos:=reliable")
    processes.append(node)
    client = Client()

    def answer(service: Any, request: Any) -> Any:
        try:
            return client.call(service, request)
        except RuntimeError:  # no answer: say whether the node died, and how
            pytest.fail(f"no answer; node exit status {node.poll()} (-7: SIGBUS):\n"
                        f"{log.read_text()[-3000:]}")

    try:
        wait_for(client, node, log)
        assert answer(client.demo.add_example, box_example()).success
        filler = fill_disk(folder, leave=600_000)
        for _ in range(3):  # the second one used to kill the node (SIGBUS in the point write)
            refused = answer(client.demo.add_example, box_example())
            assert not refused.success
            assert "disk full" in refused.message and len(refused.message) < 200, refused.message
        listed = answer(client.demo.list_labels, ListLabels.Request())
        assert (list(listed.labels), list(listed.counts)) == (["blue box"], [1])
        detections, _ = client.demo.send(synthetic_frame(5), 5, timeout=60)
        assert instance_at(detections, object_centre(BOX, 5)).label == "blue box"
        filler.unlink()
        taught = answer(client.demo.add_example, box_example())
        assert taught.success and taught.total_examples == 2, taught.message
    finally:
        client.close()
    assert node.poll() is None, log.read_text()[-3000:]


def test_a_node_on_a_full_disk_does_not_start(small_tmpfs) -> None:
    """In its own process: exit status 2 and one line, never a crash of the test session."""
    done = run_node(f"store_path:={small_tmpfs('3M') / 'store'}", "embedder:=average")
    assert done.returncode == 2, f"exit status {done.returncode}:\n{done.stderr[-2000:]}"
    assert "disk full" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


def run_node(*parameters: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "sam_detect_ros.detect_node", "--ros-args"]
    for parameter in parameters:
        command += ["-p", parameter]
    return subprocess.run(command, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_the_node_process_exits_2_with_one_line(tmp_path: Path) -> None:
    from sam_detect.vector_store.edge import EdgeVectorStore

    with EdgeVectorStore(tmp_path / "store") as store:
        store.set_metadata({"name": "average-v1", "dim": 48, "kind": "average"})
        store.add(np.eye(48, dtype=np.float32)[:1], ["cup"])
    # The hint names the parameter and a value it accepts, not the CLI flag.
    other = run_node(f"store_path:={tmp_path / 'store'}", "embedder:=efficientnet")
    assert other.returncode == 2, other.stderr[-2000:]
    assert "sam_detect: embedder must be 'average' for this store" in other.stderr
    assert "--embedder" not in other.stderr
