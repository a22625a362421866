# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Result dataclasses: boxes, dict access, JSON and RLE round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sam_detect.results import (
    Detections, Instance, Neighbour, Segment, decode_rle, encode_rle, mask_to_bbox)


@pytest.mark.parametrize(("cells", "bbox"), [
    ([(0, 0)], (0, 0, 1, 1)),
    ([(2, 3), (4, 1)], (1, 2, 4, 5)),
    ([(9, 11)], (11, 9, 12, 10)),
    ([], (0, 0, 0, 0)),
])
def test_mask_to_bbox(cells, bbox):
    mask = np.zeros((10, 12), bool)
    for row, col in cells:
        mask[row, col] = True
    assert mask_to_bbox(mask) == bbox


def test_rle_round_trip():
    rng = np.random.default_rng(0)
    mask = rng.random((37, 53)) > 0.6
    rle = encode_rle(mask)
    assert rle["size"] == [37, 53] and isinstance(rle["counts"], str)
    np.testing.assert_array_equal(decode_rle(json.loads(json.dumps(rle))), mask)


def test_uncompressed_rle_decodes():
    # COCO "iscrowd" style: counts alternate background/foreground in column-major order.
    mask = decode_rle({"size": [2, 3], "counts": [1, 2, 3]})
    np.testing.assert_array_equal(mask, [[False, True, False], [True, False, False]])


def test_instance_dict_access_and_json():
    mask = np.zeros((8, 8), bool)
    mask[2:5, 3:7] = True
    inst = Instance.from_segment(Segment(mask, 0.9), label="cup", confidence=0.75,
                                 neighbours=[Neighbour("cup", 0.8, 3)], id=2)
    assert inst["label"] == "cup" and inst["mask"] is mask and inst["area"] == 12
    assert "label" in inst and "colour" not in inst
    assert inst.get("confidence") == 0.75 and inst.get("colour", "red") == "red"
    assert inst.bbox == (3, 2, 7, 5)
    with pytest.raises(KeyError):
        inst["colour"]
    data = json.loads(json.dumps(inst.to_dict()))
    assert data["bbox"] == [3, 2, 7, 5] and data["neighbours"][0] == {
        "label": "cup", "score": 0.8, "id": 3}
    np.testing.assert_array_equal(decode_rle(data["mask_rle"]), mask)
    assert "mask_rle" not in inst.to_dict(include_mask=False)


def test_detections_is_a_sequence():
    mask = np.ones((2, 2), bool)
    dets = Detections([Instance(mask, (0, 0, 2, 2), label="a"), Instance(mask, (0, 0, 2, 2))],
                      (2, 2), {"total": 1.23456})
    assert len(dets) == 2 and dets[1].label is None and dets.labels == ["a", None]
    assert [i.label for i in dets] == ["a", None]
    assert dets.to_dict(include_masks=False)["timings_ms"] == {"total": 1.235}
