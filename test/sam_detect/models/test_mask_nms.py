# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Mask boxes, stability scores and mask NMS on hand-made masks with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_detect.models.mask_nms import mask_iou_matrix, mask_nms, masks_to_boxes, stability_score


def blank(n: int, size: int = 16) -> torch.Tensor:
    return torch.zeros(n, size, size, dtype=torch.bool)


def test_masks_to_boxes_exclusive_ends_and_empty():
    masks = blank(3)
    masks[0, 2:5, 3:9] = True
    masks[1, 15, 0] = True
    boxes = masks_to_boxes(masks).tolist()
    assert boxes == [[3, 2, 9, 5], [0, 15, 1, 16], [0, 0, 0, 0]]


def test_masks_to_boxes_matches_numpy_reference():
    rng = np.random.default_rng(1)
    masks = torch.from_numpy(rng.random((20, 24, 30)) > 0.97)
    from sam_detect.results import mask_to_bbox

    expected = [list(mask_to_bbox(m)) for m in masks.numpy()]
    assert masks_to_boxes(masks).tolist() == expected


@pytest.mark.parametrize("inner, outer, expected", [
    (4, 8, 0.5),     # 4 pixels above +1, 8 above -1
    (8, 8, 1.0),     # sharp edges: perfectly stable
    (0, 8, 0.0),
])
def test_stability_score_is_iou_of_shifted_thresholds(inner, outer, expected):
    logits = torch.full((1, 4, 4), -5.0).flatten(1)
    logits[0, :outer] = 0.5       # between -1 and +1
    logits[0, :inner] = 3.0       # above +1
    assert stability_score(logits.view(1, 4, 4)).item() == pytest.approx(expected)


def test_stability_score_of_empty_mask_is_zero():
    assert stability_score(torch.full((2, 3, 3), -9.0)).tolist() == [0.0, 0.0]


def test_mask_iou_matrix_known_values():
    masks = blank(3)
    masks[0, :8, :8] = True          # 64 px
    masks[1, :8, 4:12] = True        # 64 px, 32 shared with 0
    masks[2, 12:, 12:] = True        # disjoint box
    iou = mask_iou_matrix(masks)
    assert iou[0, 1].item() == pytest.approx(32 / 96)
    assert iou[1, 0].item() == pytest.approx(32 / 96)
    assert iou[0, 2].item() == 0.0 and iou[2, 1].item() == 0.0
    assert torch.diagonal(iou).tolist() == [1.0, 1.0, 1.0]


def identical_duplicates():
    masks = blank(3)
    masks[0, 2:10, 2:10] = True
    masks[1, 2:10, 2:10] = True
    masks[2, 12:15, 12:15] = True
    return masks, [0.6, 0.9, 0.5], 0.7, None, [1, 2]


def same_box_disjoint_masks():
    # interleaved stripes: both masks have the box (0, 0, 16, 16) and share no pixel, so box
    # NMS would merge them while mask NMS keeps both
    rows = torch.arange(16)[:, None].expand(16, 16)
    masks = torch.stack([rows % 2 == 0, rows % 2 == 1])
    masks[0, 0, 0], masks[1, 0, 0] = False, True
    masks[1, 15, 0], masks[0, 15, 0] = False, True
    assert masks_to_boxes(masks).tolist() == [[0, 0, 16, 16]] * 2
    return masks, [0.9, 0.8], 0.5, None, [0, 1]


def overlapping_masks_with_different_boxes():
    # same blob, each with one stray pixel in an opposite corner: boxes differ, masks agree
    masks = blank(2)
    masks[:, 5:11, 5:11] = True
    masks[0, 0, 0] = True
    masks[1, 15, 15] = True
    return masks, [0.7, 0.8], 0.7, None, [1]


def iou_exactly_at_threshold_is_kept():
    masks = blank(2)
    masks[0, :4, :4] = True         # 16 px
    masks[1, :4, :2] = True         # 8 px inside: IoU 0.5
    return masks, [0.9, 0.8], 0.5, None, [0, 1]


def max_keep_stops_early():
    masks = blank(3)
    masks[0, :3, :3] = True
    masks[1, 5:8, 5:8] = True
    masks[2, 10:13, 10:13] = True
    return masks, [0.1, 0.3, 0.2], 0.5, 2, [1, 2]


@pytest.mark.parametrize("case", [
    identical_duplicates, same_box_disjoint_masks, overlapping_masks_with_different_boxes,
    iou_exactly_at_threshold_is_kept, max_keep_stops_early,
])
def test_mask_nms_known_answers(case):
    masks, scores, threshold, max_keep, expected = case()
    keep = mask_nms(masks, torch.tensor(scores), threshold, max_keep=max_keep)
    assert keep.tolist() == expected


def test_mask_nms_empty_input():
    assert mask_nms(blank(0), torch.zeros(0)).tolist() == []


def test_mask_nms_chain_suppression_is_greedy():
    # A overlaps B, B overlaps C, A does not overlap C: A kept, B dropped, C kept
    masks = blank(3)
    masks[0, :, 0:6] = True
    masks[1, :, 1:7] = True
    masks[2, :, 6:12] = True
    keep = mask_nms(masks, torch.tensor([0.9, 0.8, 0.7]), 0.5)
    assert keep.tolist() == [0, 2]
