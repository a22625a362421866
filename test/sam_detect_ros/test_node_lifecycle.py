# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of the node's lifecycle: ~/change_state transitions, failures, the store's lock."""

from __future__ import annotations

from pathlib import Path
import re
import subprocess
import sys
from typing import Any

import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from sam_detect.errors import SamDetectError  # noqa: E402
from sam_detect_ros.conversions import mask_to_image_msg, rgb_to_image_msg  # noqa: E402
from sam_detect_ros.demo import (  # noqa: E402
    instance_at,
    object_centre,
    object_picture,
    SCENE,
    synthetic_frame,
)
from sam_detect_ros.detect_node import DetectNode  # noqa: E402
from sam_detect_ros.srv import AddExample, ListLabels  # noqa: E402

BALL, BOX, _ = SCENE


def change(harness: Any, label: str) -> bool:
    """Ask for a transition by label, as ``ros2 lifecycle set /sam_detect <label>`` does."""
    answer = harness.call(ChangeState, "change_state", transition=Transition(label=label))
    return answer.success


def state(harness: Any) -> str:
    return harness.call(GetState, "get_state").current_state.label


def cli_labels(store: Path) -> subprocess.CompletedProcess:
    """Run ``sam-detect labels`` on the store, as a user would while the node runs."""
    return subprocess.run([sys.executable, "-m", "sam_detect", "labels", "--store-path",
                           str(store)], capture_output=True, text=True, timeout=120)


def teach_box(harness: Any) -> Any:
    picture, mask = object_picture(BOX)
    return harness.call(AddExample, "add_example", label="box",
                        image=rgb_to_image_msg(picture), mask=mask_to_image_msg(mask))


def labels(harness: Any) -> list[str]:
    return list(harness.call(ListLabels, "list_labels").labels)


def test_transitions_drive_the_node_and_cleanup_frees_the_store(
        harness_factory: Any, wait_until: Any, tmp_path: Path) -> None:
    store = tmp_path / "store"
    harness = harness_factory({"autostart": False, "store": "edge", "store_path": str(store)},
                              ready=False)
    node = harness.node
    assert state(harness) == "unconfigured" and node.detector is None
    refused = teach_box(harness)
    assert not refused.success and "unconfigured, not active" in refused.message

    assert change(harness, "configure") and state(harness) == "inactive"
    assert labels(harness) == [] and node.detector is None
    locked = cli_labels(store)
    assert locked.returncode == 2, locked  # the node holds the store's lock

    assert change(harness, "activate") and state(harness) == "active"
    harness.client.wait_for_node(timeout=30)
    assert teach_box(harness).success
    detections, _ = harness.client.send(synthetic_frame(0), 0)
    assert instance_at(detections, object_centre(BOX, 0)).label == "box"

    assert change(harness, "deactivate") and state(harness) == "inactive"
    assert node.detector is None
    wait_until(lambda: harness.client.publisher.get_subscription_count() == 0,
               what="the image subscription to go away")
    assert labels(harness) == ["box"]  # the store stays open while inactive

    assert change(harness, "cleanup") and state(harness) == "unconfigured"
    free = cli_labels(store)
    assert free.returncode == 0 and "box" in free.stdout, free

    assert change(harness, "configure") and change(harness, "activate")
    harness.client.wait_for_node(timeout=30)
    detections, _ = harness.client.send(synthetic_frame(1), 1)
    assert instance_at(detections, object_centre(BOX, 1)).label == "box"


@pytest.mark.parametrize("path", [
    ["configure", "activate"],
    ["configure", "activate", "deactivate"],
    ["configure", "activate", "deactivate", "cleanup"],
])
def test_shutdown_from_any_state_loses_nothing(harness_factory: Any, tmp_path: Path,
                                               path: list[str]) -> None:
    store = tmp_path / "store"
    harness = harness_factory({"autostart": False, "store": "edge", "store_path": str(store)},
                              ready=False)
    for label in path:
        assert change(harness, label)
        if label == "activate":
            assert teach_box(harness).success
    assert change(harness, "shutdown") and state(harness) == "finalized"
    after = cli_labels(store)
    assert after.returncode == 0 and "box" in after.stdout, after


def test_a_failed_configure_returns_failure_and_the_node_lives_on(harness_factory: Any,
                                                                  tmp_path: Path) -> None:
    from sam_detect.vector_store import EdgeVectorStore

    store = tmp_path / "store"
    harness = harness_factory({"autostart": False, "store": "edge", "store_path": str(store),
                               "fade": "blurry"}, ready=False)
    assert not change(harness, "configure") and state(harness) == "unconfigured"
    assert "configure failed: fade must be one of" in harness.node.last_error
    # Unconfigured, restart-only parameters may change: configure reads them.
    from rclpy.parameter import Parameter

    harness.node.set_parameters([Parameter("fade", value="hard_crop")])
    other = EdgeVectorStore(store)  # another process's CLI holds the store
    try:
        assert not change(harness, "configure") and state(harness) == "unconfigured"
        assert "configure failed" in harness.node.last_error
    finally:
        other.close()
    assert change(harness, "configure") and change(harness, "activate")
    assert state(harness) == "active" and harness.node.last_error == ""


def test_a_failed_activate_keeps_the_store_open(harness_factory: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from sam_detect.detector import SAMDetect

    init = SAMDetect.__init__

    def broken(self: Any, *args: Any, **kwargs: Any) -> None:
        raise SamDetectError("embedder clip: no weights in the Hugging Face cache")

    harness = harness_factory({"autostart": False, "store": "edge",
                               "store_path": str(tmp_path / "store")}, ready=False)
    assert change(harness, "configure")
    # SAMDetect.from_options never closes a store it is given: the node's stays open.
    monkeypatch.setattr(SAMDetect, "__init__", broken)
    assert not change(harness, "activate") and state(harness) == "inactive"
    assert "activate failed: embedder clip: no weights" in harness.node.last_error
    assert labels(harness) == []  # the store is still open
    monkeypatch.setattr(SAMDetect, "__init__", init)
    assert change(harness, "activate") and teach_box(harness).success
    assert labels(harness) == ["box"]


def test_autostart_failure_raises_and_leaves_the_store_unlocked(tmp_path: Path) -> None:
    import rclpy
    from rclpy.parameter import Parameter
    from sam_detect.vector_store import EdgeVectorStore

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        overrides = [Parameter(k, value=v) for k, v in {
            "embedder": "average", "store_path": str(tmp_path / "store"),
            "segmenter": "sam2", "sam_model": str(tmp_path / "no_such_model")}.items()]
        with pytest.raises(SamDetectError, match="no_such_model"):
            DetectNode(parameter_overrides=overrides, context=context)
    finally:
        rclpy.try_shutdown(context=context)
    EdgeVectorStore(tmp_path / "store").close()  # not locked


def test_deactivate_frees_the_models_and_cached_gpu_memory(
        harness_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import weakref

    import torch

    emptied: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(1))
    harness = harness_factory({"autostart": False, "device": "cpu"}, ready=False)
    assert change(harness, "configure") and change(harness, "activate")
    embedder = weakref.ref(harness.node.detector.embedder)
    assert change(harness, "deactivate") and emptied == [1]
    assert embedder() is None, "the models are still referenced after deactivate"
    assert change(harness, "activate") and harness.node.detector.embedder is not None


def change_by_id(harness: Any, transition_id: int) -> bool:
    """Ask for a transition by id, as launch_ros and nav2's lifecycle manager do."""
    answer = harness.call(ChangeState, "change_state", transition=Transition(id=transition_id))
    return answer.success


@pytest.mark.parametrize("steps, refused, stays", [
    ([], Transition.TRANSITION_ACTIVATE, "unconfigured"),            # activate, unconfigured
    ([Transition.TRANSITION_CONFIGURE], Transition.TRANSITION_CONFIGURE, "inactive"),  # twice
    ([Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE],
     Transition.TRANSITION_CLEANUP, "active"),                      # cleanup while active
    ([], Transition.TRANSITION_DEACTIVATE, "unconfigured"),
    ([], 0, "unconfigured"),                                        # create
    ([], 99, "unconfigured"),                                       # no such transition
    ([Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE],
     Transition.TRANSITION_INACTIVE_SHUTDOWN, "active"),             # the wrong shutdown
])
def test_a_transition_id_the_state_lacks_is_refused_and_the_node_lives_on(
        harness_factory: Any, capfd: Any, steps: list[int], refused: int, stays: str) -> None:
    harness = harness_factory({"autostart": False}, ready=False)
    for step in steps:
        assert change_by_id(harness, step)
    assert not change_by_id(harness, refused)
    assert state(harness) == stays  # still answering get_state
    assert not change_by_id(harness, refused)  # and again
    assert "not available in state" in capfd.readouterr().err
    # Ids the state has still work, to the end of the lifecycle.
    if stays == "unconfigured":
        assert change_by_id(harness, Transition.TRANSITION_CONFIGURE)
    if state(harness) == "inactive":
        assert change_by_id(harness, Transition.TRANSITION_ACTIVATE)
    assert state(harness) == "active" and teach_box(harness).success
    assert change_by_id(harness, Transition.TRANSITION_ACTIVE_SHUTDOWN)
    assert state(harness) == "finalized"


@pytest.mark.parametrize("cameras, message", [
    (["front", "/front"], "'front' and '/front' are the same camera (both read /front/image)"),
    (["a" * 300], "is too long"),
    (["cam" + "x" * 218], "ROS allows 247 in a topic or service name"),  # the service
])
def test_cameras_ros_cannot_serve_are_refused_with_the_reason(
        harness_factory: Any, cameras: list[str], message: str) -> None:
    with pytest.raises(SamDetectError, match=re.escape(message)):
        harness_factory({"cameras": cameras})
    harness = harness_factory({"autostart": False, "cameras": cameras}, ready=False)
    assert not change(harness, "configure") and state(harness) == "unconfigured"
    assert message in harness.node.last_error
