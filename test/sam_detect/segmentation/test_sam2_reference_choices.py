# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""SAM2's two documented departures from Meta's automatic mask generator, and their options.

``masks_per_point`` (1: each point's best of three; 3: all three, as Meta's generator) and
``stability_at`` (``low_res`` decoder logits; ``full``: after upsampling, as Meta's generator).
Hand-made decoder outputs with a known right answer show what each choice changes; the real
(random-weight) network shows the candidate counts.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_detect.errors import SamDetectError
from sam_detect.models.synthetic import save_random_sam2
from sam_detect.segmentation.sam2 import SAM2Segmenter

LOOSE = {"pred_iou_thresh": 0.0, "stability_thresh": 0.0, "min_area": 1, "max_instances": None}

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module", name="sam_dir")
def sam_dir_fixture(tmp_path_factory):
    return save_random_sam2(tmp_path_factory.mktemp("sam2-mini"), size="mini", seed=0)


def rgb(height: int, width: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def square(rows: slice, cols: slice, inside: float = 8.0) -> torch.Tensor:
    logits = torch.full((64, 64), -8.0)
    logits[rows, cols] = inside
    return logits


def nested_output(points: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every point sees a whole object (IoU 0.95), a part inside it (0.9) and junk (0.2)."""
    whole = square(slice(8, 40), slice(8, 40))
    part = square(slice(12, 20), slice(12, 20))
    junk = square(slice(50, 60), slice(0, 5))
    logits = torch.stack([whole, part, junk])[None].repeat(points, 1, 1, 1)
    return logits, torch.tensor([[0.95, 0.9, 0.2]]).repeat(points, 1)


@pytest.mark.parametrize(("masks_per_point", "found"), [(1, ["whole"]), (3, ["whole", "part"])])
def test_all_three_masks_keep_the_nested_part(sam_dir, monkeypatch, masks_per_point, found):
    seg = SAM2Segmenter(sam_dir, device="cpu", points_per_side=2, pred_iou_thresh=0.5,
                        stability_thresh=0.8, min_area=10, max_instances=None,
                        masks_per_point=masks_per_point)
    monkeypatch.setattr(seg, "_decode_all", lambda points, labels, boxes, multimask:
                        nested_output(points.shape[1]))
    segments = seg.segment(rgb(64, 64))
    names = {(8, 8, 40, 40): "whole", (12, 12, 20, 20): "part"}
    assert [names.get(s.bbox, s.bbox) for s in segments] == found


def test_stability_after_upsampling_drops_a_thin_faint_mask(sam_dir, monkeypatch):
    # A 1-cell line at logit 1.5: both thresholds (0 +- 1) take exactly the line at low
    # resolution (stability 1.0); bilinear upsampling ramps it down to -8 within a cell, so at
    # full size the +1 mask is far thinner than the -1 mask (stability ~0.2).
    line = square(slice(30, 31), slice(10, 50), inside=1.5)
    solid = square(slice(2, 12), slice(2, 12))
    output = torch.stack([line, solid]), torch.tensor([0.9, 0.9])
    kept = {}
    for where in ("low_res", "full"):
        seg = SAM2Segmenter(sam_dir, device="cpu", points_per_side=1, pred_iou_thresh=0.5,
                            stability_thresh=0.85, min_area=1, max_instances=None,
                            stability_at=where)
        seg.set_image(rgb(256, 256))
        monkeypatch.setattr(seg, "_decode", lambda *args: output)
        logits, _ = seg.generate_candidates()
        kept[where] = len(logits)
    assert kept == {"low_res": 2, "full": 1}


def test_the_real_network_yields_three_candidates_per_point(sam_dir):
    counts = {}
    for masks_per_point in (1, 3):
        seg = SAM2Segmenter(sam_dir, device="cpu", points_per_side=3, points_per_batch=4,
                            masks_per_point=masks_per_point, **LOOSE)
        seg.set_image(rgb(48, 80))
        logits, scores = seg.generate_candidates()
        counts[masks_per_point] = len(logits)
        assert logits.shape[1:] == (64, 64) and len(scores) == len(logits)
    assert counts == {1: 9, 3: 27}


@pytest.mark.parametrize(("options", "message"), [
    ({"masks_per_point": 2}, "masks_per_point must be 1"),
    ({"stability_at": "half"}, "stability_at must be"),
])
def test_invalid_choices(sam_dir, options, message):
    with pytest.raises(SamDetectError, match=message):
        SAM2Segmenter(sam_dir, device="cpu", **options)
