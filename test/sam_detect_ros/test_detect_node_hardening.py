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

from sam_detect.errors import DiskFullError  # noqa: E402
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

BALL, BOX, WEDGE = SCENE
FORGED = "mug\n[INFO] [0.0] [sam_detect]: forged line"


def teach_box(harness: Any, label: str = "blue box") -> Any:
    picture, mask = object_picture(BOX)
    return harness.call(AddExample, "add_example", label=label,
                        image=rgb_to_image_msg(picture, encoding="bgr8"),
                        mask=mask_to_image_msg(mask))


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


def test_a_full_disk_refuses_examples_and_keeps_serving(harness_factory: Any, small_tmpfs,
                                                        fill_disk) -> None:
    folder = small_tmpfs("16M")
    harness = harness_factory({"store": "edge", "store_path": str(folder / "store")})
    assert teach_box(harness).success
    filler = fill_disk(folder, leave=600_000)
    for _ in range(3):  # the second one used to kill the node (SIGBUS in the point write)
        answer = teach_box(harness)
        assert not answer.success
        assert "disk full" in answer.message and len(answer.message) < 200, answer.message
    listed = harness.call(ListLabels, "list_labels")
    assert (list(listed.labels), list(listed.counts)) == (["blue box"], [1])
    detections, _ = harness.client.send(synthetic_frame(5), 5)
    assert instance_at(detections, object_centre(BOX, 5)).label == "blue box"
    filler.unlink()
    answer = teach_box(harness)
    assert answer.success and answer.total_examples == 2, answer.message


def test_a_node_on_a_full_disk_does_not_start(harness_factory: Any, small_tmpfs) -> None:
    folder = small_tmpfs("3M")
    with pytest.raises(DiskFullError, match="disk full"):
        harness_factory({"store": "edge", "store_path": str(folder / "store")})


def run_node(*parameters: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "sam_detect_ros.detect_node", "--ros-args"]
    for parameter in parameters:
        command += ["-p", parameter]
    return subprocess.run(command, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_the_node_process_exits_2_with_one_line(tmp_path: Path, small_tmpfs) -> None:
    from sam_detect.vector_store.edge import EdgeVectorStore

    with EdgeVectorStore(tmp_path / "store") as store:
        store.set_metadata({"name": "average-v1", "dim": 48, "kind": "average"})
        store.add(np.eye(48, dtype=np.float32)[:1], ["cup"])
    # The hint names the parameter and a value it accepts, not the CLI flag.
    other = run_node(f"store_path:={tmp_path / 'store'}", "embedder:=efficientnet")
    assert other.returncode == 2, other.stderr[-2000:]
    assert "sam_detect: embedder must be 'average' for this store" in other.stderr
    assert "--embedder" not in other.stderr
    full = run_node(f"store_path:={small_tmpfs('3M') / 'store'}", "embedder:=average")
    assert full.returncode == 2, full.stderr[-2000:]
    assert "disk full" in full.stderr
