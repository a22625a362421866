# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""CLIP's resize against the reference processor on textured crops (issue 9).

transformers' PIL-backed ``CLIPImageProcessorPil`` is the reference: PIL resizes in two passes
and rounds to 8 bits between them. ``resize="pil"`` must equal it exactly on any crop;
the default one-pass torch resize agrees on smooth crops and differs, within a stated bound, on
high-contrast texture.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from sam_detect.embedding.clip import (
    CLIP_MEAN, CLIP_STD, CLIPEmbedder, PIL_BICUBIC, prepare_crop, Preprocess)
from sam_detect.errors import SamDetectError
from sam_detect.models.synthetic import save_random_clip

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SPEC = Preprocess(224, True, 224, CLIP_MEAN, CLIP_STD, PIL_BICUBIC)


def texture(kind: str, height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(height * 1000 + width)
    if kind == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "checks":
        return ((np.indices((height, width)).sum(0) // 3) % 2 * 255).astype(np.uint8)[
            ..., None].repeat(3, 2)
    if kind == "brick":
        from skimage import data

        return np.ascontiguousarray(np.stack([data.brick()[:height, :width]] * 3, 2))
    return cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 3)


def reference_pixels(crop: np.ndarray) -> np.ndarray:
    """Return the reference processor's resized, centre-cropped pixels on the 0-255 scale."""
    transformers = pytest.importorskip("transformers")
    processor = transformers.CLIPImageProcessorPil()
    values = processor(images=[crop], return_tensors="np")["pixel_values"][0]
    mean, std = np.array(CLIP_MEAN)[:, None, None], np.array(CLIP_STD)[:, None, None]
    return (values * std + mean) * 255.0


SHAPES = [(300, 260), (97, 410), (500, 180), (60, 60), (224, 301)]


@pytest.mark.parametrize("kind", ["noise", "checks", "brick", "smooth"])
@pytest.mark.parametrize("shape", SHAPES)
def test_pil_resize_is_the_reference_exactly(kind, shape):
    crop = texture(kind, *shape)
    ours = prepare_crop(crop, SPEC, resize="pil").numpy()
    assert np.abs(ours - reference_pixels(crop)).max() < 1e-3


@pytest.mark.parametrize("shape", SHAPES)
def test_torch_resize_matches_on_smooth_crops(shape):
    crop = texture("smooth", *shape)
    diff = np.abs(prepare_crop(crop, SPEC).numpy() - reference_pixels(crop))
    assert diff.max() <= 1.0 + 1e-3


def test_torch_resize_differs_on_texture_within_the_stated_bound():
    # The docstring's figures: 0.5-2 % of pixels of high-contrast noise, up to ~20 levels.
    diffs = [np.abs(prepare_crop(texture("noise", *s), SPEC).numpy()
                    - reference_pixels(texture("noise", *s))) for s in SHAPES]
    worst = max(d.max() for d in diffs)
    share = np.mean([(d > 1.0 + 1e-3).mean() for d in diffs])
    assert 1 < worst <= 30 and share < 0.03


def test_the_embedder_takes_the_resize_choice(tmp_path):
    folder = save_random_clip(tmp_path / "clip", mini=True)
    crops = [texture("noise", 90, 130), texture("checks", 64, 200)]
    embedders = {r: CLIPEmbedder(folder, device="cpu", resize=r) for r in ("torch", "pil")}
    batch = embedders["pil"].prepare(crops)
    size = embedders["pil"].preprocess.output_size
    expected = torch.stack([prepare_crop(c, embedders["pil"].preprocess, resize="pil")
                            for c in crops])
    assert batch.shape == (2, 3, size, size) and torch.equal(batch, expected)
    vectors = {r: e.embed(crops) for r, e in embedders.items()}
    assert ((vectors["torch"] * vectors["pil"]).sum(axis=1) > 0.99).all()
    with pytest.raises(SamDetectError, match="resize must be one of torch, pil"):
        CLIPEmbedder(folder, device="cpu", resize="opencv")
