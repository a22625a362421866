# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""SAM2Segmenter on a random-weight miniature of the real SAM2 architecture.

Random weights give meaningless masks, so the real network is used to test the contract (shapes,
image-size round trip, determinism, prompts, caching), and a hand-made decoder output with a known
right answer tests the filters, mask NMS and upsampling.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sam_detect.errors import InvalidImageError, MissingDependencyError, SamDetectError
from sam_detect.models.hub import ModelLoadError, ModelNotFoundError
from sam_detect.models.synthetic import save_random_clip, save_random_sam2
from sam_detect.results import Segment, mask_to_bbox
from sam_detect.segmentation.base import PromptableSegmenter, Segmenter
from sam_detect.segmentation.sam2 import SAM2_MODELS, SAM2Segmenter, sam2_model_id

LOOSE = {"pred_iou_thresh": 0.0, "stability_thresh": 0.0, "min_area": 1, "max_instances": None}


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module", name="sam_dir")
def sam_dir_fixture(tmp_path_factory):
    return save_random_sam2(tmp_path_factory.mktemp("sam2-mini"), size="mini", seed=0)


@pytest.fixture(scope="module", name="seg")
def seg_fixture(sam_dir):
    return SAM2Segmenter.from_pretrained(sam_dir, device="cpu", points_per_side=4,
                                         points_per_batch=8, **LOOSE)


def rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_loads_the_real_architecture(seg):
    from transformers import Sam2Model

    assert isinstance(seg.model, Sam2Model)
    assert isinstance(seg, Segmenter) and isinstance(seg, PromptableSegmenter)
    assert seg.name == "sam2" and seg.input_size == 256 and seg.device == "cpu"


@pytest.mark.parametrize("size", [(120, 200), (200, 90), (64, 64)])
def test_segment_returns_full_size_masks_best_first(seg, size):
    segments = seg.segment(rgb(*size))
    assert segments, "loose thresholds keep at least one random mask"
    assert all(isinstance(s, Segment) for s in segments)
    for s in segments:
        assert s.mask.shape == size and s.mask.dtype == bool
        assert s.bbox == mask_to_bbox(s.mask) and s.area >= 1
        assert 0.0 <= s.score <= 1.0
    scores = [s.score for s in segments]
    assert scores == sorted(scores, reverse=True)
    assert len(segments) <= seg.points_per_side ** 2


def test_segment_is_deterministic_across_instances(seg, sam_dir):
    image = rgb(96, 160, seed=3)
    first = seg.segment(image)
    again = SAM2Segmenter(sam_dir, device="cpu", points_per_side=4, **LOOSE).segment(image.copy())
    assert len(first) == len(again)
    for a, b in zip(first, again):
        assert np.array_equal(a.mask, b.mask) and a.score == pytest.approx(b.score, abs=1e-6)


def test_max_instances_and_batching_do_not_change_results(sam_dir):
    image = rgb(80, 120, seed=5)
    one_batch = SAM2Segmenter(sam_dir, device="cpu", points_per_side=4, points_per_batch=16,
                              **LOOSE).segment(image)
    small_batches = SAM2Segmenter(sam_dir, device="cpu", points_per_side=4, points_per_batch=3,
                                  **LOOSE).segment(image)
    assert [s.bbox for s in one_batch] == [s.bbox for s in small_batches]
    capped = SAM2Segmenter(sam_dir, device="cpu", points_per_side=4,
                           **{**LOOSE, "max_instances": 2}).segment(image)
    assert [s.bbox for s in capped] == [s.bbox for s in one_batch[:2]]


@pytest.mark.parametrize("prompts, count", [
    ({"points": [[10, 10], [150, 60], [199, 119]]}, 3),
    ({"points": [[[10, 10], [30, 30]]], "point_labels": [[1, 0]]}, 1),
    ({"boxes": [[0, 0, 100, 60], [50, 20, 200, 120]]}, 2),
    ({"points": [[20, 20]], "boxes": [[0, 0, 60, 60]]}, 1),
])
def test_segment_prompts_one_mask_per_prompt(seg, prompts, count):
    segments = seg.segment_prompts(rgb(120, 200), **prompts)
    assert len(segments) == count
    assert all(s.mask.shape == (120, 200) and 0 <= s.score <= 1 for s in segments)


@pytest.mark.parametrize("prompts, message", [
    ({}, "point and/or box"),
    ({"points": [1, 2, 3]}, "points must be"),
    ({"boxes": [[0, 0, 5]]}, "boxes must be"),
    ({"points": [[np.nan, 1]]}, "NaN"),
    ({"points": [[1, 1], [2, 2]], "boxes": [[0, 0, 5, 5]]}, "one box per prompt"),
])
def test_bad_prompts_are_clear_errors(seg, prompts, message):
    with pytest.raises(SamDetectError, match=message):
        seg.segment_prompts(rgb(40, 40), **prompts)


def test_prompts_are_scaled_to_the_model_input(seg, monkeypatch):
    seen = {}

    def fake_decode(points, labels, boxes, multimask):
        seen.update(points=points, labels=labels, boxes=boxes, multimask=multimask)
        n = (points if points is not None else boxes).shape[1]
        return torch.zeros(n, 64, 64), torch.full((n,), 0.5)

    monkeypatch.setattr(seg, "_decode", fake_decode)
    seg.segment_prompts(rgb(100, 200), points=[[200, 100], [50, 25]])
    assert seen["points"][0, :, 0].tolist() == [[256.0, 256.0], [64.0, 64.0]]
    assert seen["labels"].tolist() == [[[1], [1]]] and seen["multimask"] is True
    seg.segment_prompts(rgb(100, 200), boxes=[[0, 0, 200, 100]])
    assert seen["boxes"].tolist() == [[[0.0, 0.0, 256.0, 256.0]]] and seen["multimask"] is False


def test_image_embedding_is_cached_per_image(seg, monkeypatch):
    calls = []
    encoder = seg._encoder

    def counting(pixels):
        calls.append(pixels.shape)
        return encoder(pixels)

    monkeypatch.setattr(seg, "_encoder", counting)
    seg.reset_image()
    image = rgb(50, 70)
    seg.segment_prompts(image, points=[[5, 5]])
    seg.segment_prompts(image.copy(), points=[[9, 9]])
    assert len(calls) == 1
    seg.segment_prompts(rgb(50, 70, seed=9), points=[[5, 5]])
    assert calls == [(1, 3, 256, 256)] * 2


def test_predict_before_set_image_is_an_error(sam_dir):
    fresh = SAM2Segmenter(sam_dir, device="cpu")
    with pytest.raises(SamDetectError, match="set_image"):
        fresh.predict(points=[[1, 1]])


def square(rows: slice, cols: slice, inside: float = 8.0) -> torch.Tensor:
    logits = torch.full((64, 64), -8.0)
    logits[rows, cols] = inside
    return logits


def known_candidates():
    """Nine grid prompts' decoder output; the right answer is [B, A]."""
    a = square(slice(4, 20), slice(4, 20))
    a_dup = a.clone()
    a_dup[20, 4] = 8.0                                   # IoU 256/257 with A: a duplicate
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    b = torch.where((yy - 44) ** 2 + (xx - 44) ** 2 <= 100, 8.0, -8.0)
    low_score = square(slice(30, 40), slice(0, 10))
    unstable = square(slice(50, 60), slice(50, 60), inside=0.5)   # stability 0
    tiny = square(slice(0, 1), slice(63, 64))            # 8 pixels at full size < min_area
    empty = torch.full((64, 64), -8.0)
    logits = torch.stack([a, a_dup, b, low_score, unstable, tiny, empty, empty, empty])
    scores = torch.tensor([0.9, 0.8, 0.95, 0.3, 0.9, 0.9, 0.9, 0.9, 0.9])
    return logits, scores


def test_filters_nms_and_upsampling_on_known_masks(sam_dir, monkeypatch):
    seg = SAM2Segmenter(sam_dir, device="cpu", points_per_side=3, points_per_batch=4,
                        pred_iou_thresh=0.5, stability_thresh=0.8, min_area=50,
                        max_instances=None)
    logits, scores = known_candidates()
    calls = []

    def fake_decode(points, labels, boxes, multimask):
        start = sum(calls)
        calls.append(points.shape[1])
        assert boxes is None and multimask and labels.eq(1).all()
        return logits[start:start + points.shape[1]], scores[start:start + points.shape[1]]

    monkeypatch.setattr(seg, "_decode", fake_decode)
    segments = seg.segment(rgb(128, 256))
    assert calls == [4, 4, 1]
    assert [round(s.score, 2) for s in segments] == [0.95, 0.9]
    disc, box = segments
    # low-res (64x64) -> 128x256: rows scale by 2, columns by 4
    assert box.bbox == (16, 8, 80, 40)
    inside = int(box.mask[8:40, 16:80].sum())
    assert inside == int(box.mask.sum()) and inside >= 64 * 32 - 4  # bilinear rounds corners
    x0, y0, x1, y1 = disc.bbox
    assert abs((x0 + x1) / 2 - 44.5 * 4) <= 4 and abs((y0 + y1) / 2 - 44.5 * 2) <= 2


def test_seeded_boxes_replace_the_grid_once(sam_dir, monkeypatch):
    seg = SAM2Segmenter(sam_dir, device="cpu", points_per_side=2, **LOOSE)
    seen = []

    def fake_decode(points, labels, boxes, multimask):
        seen.append((None if boxes is None else boxes.tolist(), multimask))
        n = (points if points is not None else boxes).shape[1]
        return torch.full((n, 64, 64), 8.0), torch.full((n,), 0.9)

    monkeypatch.setattr(seg, "_decode", fake_decode)
    mask = np.zeros((64, 128), bool)
    mask[0:32, 64:128] = True
    seg.seed_from_previous([mask, Segment(mask=np.zeros((64, 128), bool))])  # empty one ignored
    seg.segment(rgb(64, 128))
    assert seen[-1] == ([[[128.0, 0.0, 256.0, 128.0]]], False)
    seg.segment(rgb(64, 128))
    assert seen[-1][0] is None and seen[-1][1] is True


def test_bf16_autocast_runs_on_cpu(sam_dir):
    seg = SAM2Segmenter(sam_dir, device="cpu", points_per_side=2, precision="bf16", **LOOSE)
    segments = seg.segment(rgb(60, 90))
    assert all(s.mask.shape == (60, 90) for s in segments)


@pytest.mark.parametrize("options, message", [
    ({"points_per_side": 0}, "at least 1"),
    ({"pred_iou_thresh": 1.5}, "between 0 and 1"),
    ({"max_instances": 0}, "max_instances"),
    ({"precision": "int8"}, "precision"),
])
def test_invalid_options(sam_dir, options, message):
    with pytest.raises(SamDetectError, match=message):
        SAM2Segmenter(sam_dir, device="cpu", **options)


def test_invalid_image(seg):
    with pytest.raises(InvalidImageError):
        seg.segment(np.zeros((0, 5, 3), np.uint8))


def test_missing_model_names_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as info:
        SAM2Segmenter("small", device="cpu", cache_dir=tmp_path)
    assert "python -m sam_detect.download_models --sam-model small" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_clip_folder_is_not_a_sam2_model(tmp_path):
    folder = save_random_clip(tmp_path / "clip")
    with pytest.raises(ModelLoadError, match="'clip' model, not SAM2"):
        SAM2Segmenter(folder, device="cpu")


def test_tensorrt_needs_its_extra(sam_dir):
    pytest.importorskip("transformers")
    try:
        import torch_tensorrt  # noqa: F401
        pytest.skip("torch_tensorrt is installed")
    except ImportError:
        pass
    with pytest.raises(MissingDependencyError, match=r"\[tensorrt\]"):
        SAM2Segmenter(sam_dir, device="cpu", tensorrt=True)


@pytest.mark.parametrize("size, hub_id", [
    ("tiny", "facebook/sam2.1-hiera-tiny"), ("small", "facebook/sam2.1-hiera-small"),
    ("base", "facebook/sam2.1-hiera-base-plus"), ("large", "facebook/sam2.1-hiera-large"),
    ("org/custom-sam2", "org/custom-sam2"),
])
def test_model_sizes_map_to_hub_ids(size, hub_id):
    assert sam2_model_id(size) == hub_id
    assert set(SAM2_MODELS) >= {"tiny", "small", "base", "large"}


def test_a_built_model_can_be_passed_in():
    from sam_detect.models.synthetic import random_sam2

    seg = SAM2Segmenter(model=random_sam2("mini"), device="cpu", points_per_side=2, **LOOSE)
    assert seg.segment(rgb(30, 40))[0].mask.shape == (30, 40)
