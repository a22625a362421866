# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The node tracks: one track_id per object through occlusion and exits, labels that hold."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

from rcl_interfaces.msg import Parameter as ParameterMsg  # noqa: E402
from rcl_interfaces.msg import ParameterType, ParameterValue  # noqa: E402
from rcl_interfaces.srv import SetParameters  # noqa: E402
from sam_detect.evaluation.sequences import (  # noqa: E402
    noise_background, render_sequence, shape_cutouts)
from sam_detect_ros.conversions import (  # noqa: E402
    instance_mask_from_msg, mask_to_image_msg, rgb_to_image_msg)
from sam_detect_ros.srv import AddExample, LabelInstance, ListLabels  # noqa: E402

NAMES = ["red disc", "blue box", "yellow ring"]
SIZE = (320, 240)


def teach_objects(harness: Any) -> None:
    for cutout, name in zip(shape_cutouts(48), NAMES):
        response = harness.call(AddExample, "add_example", label=name,
                                image=rgb_to_image_msg(cutout[:, :, :3], encoding="bgr8"),
                                mask=mask_to_image_msg(cutout[:, :, 3] > 0))
        assert response.success, response.message


def stream(harness: Any, seq: Any, first_index: int = 0) -> tuple[dict, dict, list]:
    """Send every frame; return per object its track ids and labels, and the messages."""
    ids: dict[int, list[int]] = defaultdict(list)
    labels: dict[int, list[str]] = defaultdict(list)
    messages = []
    for index, (frame, truth) in enumerate(zip(seq.frames, seq.truth), start=first_index):
        msg = harness.client.send(frame, index)[0]
        messages.append(msg)
        masks = [instance_mask_from_msg(inst, frame.shape) for inst in msg.instances]
        for obj, (mask, ignore) in truth.items():
            if ignore or not masks:
                continue
            ious = [np.count_nonzero(mask & m) / np.count_nonzero(mask | m) for m in masks]
            best = int(np.argmax(ious))
            if ious[best] >= 0.5:
                ids[obj].append(msg.instances[best].track_id)
                labels[obj].append(msg.instances[best].label)
    return ids, labels, messages


def set_parameter(harness: Any, name: str, value: Any) -> Any:
    kind, field = ((ParameterType.PARAMETER_BOOL, "bool_value") if isinstance(value, bool)
                   else (ParameterType.PARAMETER_INTEGER, "integer_value"))
    parameter_value = ParameterValue(type=kind)
    setattr(parameter_value, field, value)
    return harness.call(SetParameters, "set_parameters", parameters=[
        ParameterMsg(name=name, value=parameter_value)]).results[0]


def test_a_moving_occluded_and_returning_object_keeps_one_track_id_and_label(
        harness_factory: Any) -> None:
    # The classical segmenter on these flat synthetic shapes (see docs/tracking.md).
    harness = harness_factory({"keyframe_interval": 3, "segmenter": "naive"})
    teach_objects(harness)
    seq = render_sequence(shape_cutouts(48), noise_background(SIZE, 0), 45,
                          np.random.default_rng(0))
    ids, labels, messages = stream(harness, seq)
    for obj, name in enumerate(NAMES, start=1):
        assert len(ids[obj]) >= 25, f"object {obj} found in only {len(ids[obj])} frames"
        assert len(set(ids[obj])) == 1, f"object {obj} had track ids {sorted(set(ids[obj]))}"
        assert set(labels[obj]) == {name}
    # object 2 was mostly hidden behind object 1 and object 3 left the view: both came back
    visible = [np.count_nonzero(truth[2][0]) for truth in seq.truth if 2 in truth]
    assert min(visible) < 0.5 * max(visible)
    assert sum(3 not in truth for truth in seq.truth) >= 5
    assert all(inst.track_id > 0 for msg in messages for inst in msg.instances)

    # Labelling a tracked instance stores it and names its track from the next frame on.
    last = messages[-1]
    target = next(inst for inst in last.instances if inst.track_id == ids[2][-1])
    before = sum(harness.call(ListLabels, "list_labels").counts)
    response = harness.call(LabelInstance, "label_instance", label="crate",
                            instance_id=target.id, stamp=last.header.stamp)
    assert response.success, response.message
    assert response.message.startswith(f"stored instance {target.id} of frame")
    assert response.message.endswith(f"; track {target.track_id} carries it")
    after = harness.call(ListLabels, "list_labels")
    assert dict(zip(after.labels, after.counts))["crate"] == 1
    assert sum(after.counts) == before + 1
    # ... and the track carries the new label from the next frame on
    msg = harness.client.send(seq.frames[-1], len(seq.frames))[0]
    assert [i.label for i in msg.instances if i.track_id == target.track_id] == ["crate"]


def test_a_request_that_names_a_track_teaches_it(harness_factory: Any) -> None:
    """A track_id in LabelInstance names a track: its whole history is stored."""
    harness = harness_factory()
    seq = render_sequence(shape_cutouts(48), noise_background(SIZE, 0), 2,
                          np.random.default_rng(0))
    msg = harness.client.send(seq.frames[0], 0)[0]
    track_id = msg.instances[0].track_id

    def ask(track: int) -> Any:
        return harness.call(LabelInstance, "label_instance", label="thing", track_id=track)

    answer = ask(track_id)
    assert answer.success, answer.message
    assert answer.message.endswith(f"of track {track_id} as 'thing'")
    labels = harness.call(ListLabels, "list_labels")
    assert dict(zip(labels.labels, labels.counts))["thing"] >= 1  # the views the track kept
    refused = ask(999)
    assert not refused.success and refused.message.startswith("no track 999; tracks kept: [")


def test_tracking_and_keyframe_interval_change_at_run_time(harness_factory: Any) -> None:
    harness = harness_factory()
    seq = render_sequence(shape_cutouts(48), noise_background(SIZE, 0), 4,
                          np.random.default_rng(0))
    first = harness.client.send(seq.frames[0], 0)[0]
    assert first.instances and all(i.track_id > 0 for i in first.instances)
    assert set_parameter(harness, "keyframe_interval", 2).successful
    assert harness.node.detector.keyframe_interval == 2
    refused = set_parameter(harness, "keyframe_interval", 0)
    assert not refused.successful and "keyframe_interval" in refused.reason
    assert set_parameter(harness, "tracking", False).successful
    untracked = harness.client.send(seq.frames[1], 1)[0]
    assert untracked.instances and all(i.track_id == 0 for i in untracked.instances)
    assert harness.node.detector.tracks() == []  # switching off forgets the tracks
    # an untracked instance is labelled on its own, as before
    response = harness.call(LabelInstance, "label_instance", label="thing",
                            instance_id=untracked.instances[0].id,
                            stamp=untracked.header.stamp)
    assert response.success and "stored instance" in response.message
