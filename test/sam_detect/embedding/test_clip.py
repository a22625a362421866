# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""CLIPEmbedder (and SigLIP / DINOv2 through HFImageEmbedder) on random-weight miniatures."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from sam_detect.embedding.base import Embedder
from sam_detect.embedding.clip import (
    CLIP_MEAN, CLIP_STD, DEFAULT_CLIP_MODEL, PIL_BICUBIC, CLIPEmbedder, HFImageEmbedder,
    Preprocess,
    FAMILIES, clip_weights_cached, prepare_crop, read_preprocess, resized_shape,
)
from sam_detect.errors import InvalidImageError, SamDetectError
from sam_detect.models.hub import ModelLoadError, ModelNotFoundError
from sam_detect.models.synthetic import save_random_clip, save_random_sam2


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module", name="clip_dir")
def clip_dir_fixture(tmp_path_factory):
    return save_random_clip(tmp_path_factory.mktemp("models") / "clip-mini", mini=True)


@pytest.fixture(scope="module", name="embedder")
def embedder_fixture(clip_dir):
    return CLIPEmbedder(clip_dir, device="cpu", batch_size=4)


def crops(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = [(40, 70), (90, 20), (32, 32), (5, 300), (200, 150)]
    return [rng.integers(0, 256, (*shapes[i % len(shapes)], 3), dtype=np.uint8) for i in range(n)]


def test_contract(embedder, clip_dir):
    assert isinstance(embedder, Embedder)
    assert embedder.name == f"clip:{clip_dir.resolve()}"
    assert embedder.dim == 16 and embedder.unknown_threshold == pytest.approx(0.75)


@pytest.mark.parametrize("n", [1, 3, 9])
def test_embeddings_are_unit_float32_rows(embedder, n):
    vectors = embedder.embed(crops(n))
    assert vectors.shape == (n, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batch_equals_single(embedder):
    batch = embedder.embed(crops(6))
    single = np.concatenate([embedder.embed([c]) for c in crops(6)])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_different_crops_differ_and_reruns_agree(embedder, clip_dir):
    a, b = embedder.embed(crops(2))
    assert float(a @ b) < 0.9999
    again = CLIPEmbedder(clip_dir, device="cpu").embed(crops(2))
    np.testing.assert_allclose(again, np.stack([a, b]), atol=1e-6)


def test_empty_input(embedder):
    assert embedder.embed([]).shape == (0, 16)


def test_grey_and_rgba_crops_are_accepted(embedder):
    grey = np.full((30, 40), 128, np.uint8)
    rgba = np.dstack([np.stack([grey] * 3, axis=2), np.full((30, 40), 255, np.uint8)])
    vectors = embedder.embed([grey, rgba])
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


def test_empty_crop_names_its_index(embedder):
    with pytest.raises(InvalidImageError, match="crop 1"):
        embedder.embed([crops(1)[0], np.zeros((0, 4, 3), np.uint8)])


def test_pixels_are_normalised_with_clip_mean_and_std(embedder, monkeypatch):
    seen = []
    forward = embedder._forward
    monkeypatch.setattr(embedder, "_forward", lambda px: (seen.append(px), forward(px))[1])
    crop = np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    embedder.embed([crop])
    expected = (crop / 255.0 - np.array(CLIP_MEAN)) / np.array(CLIP_STD)
    np.testing.assert_allclose(seen[0][0].permute(1, 2, 0).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("shape, resized", [
    ((100, 300), (224, 672)), ((300, 100), (672, 224)), ((224, 224), (224, 224)),
    ((50, 51), (224, 228)), ((3, 1000), (224, 74666)), ((7, 5), (313, 224)),
])
def test_prepare_crop_resizes_shortest_side_then_centre_crops(shape, resized):
    spec = Preprocess(224, True, 224, CLIP_MEAN, CLIP_STD, 3)
    assert resized_shape(*shape, spec) == resized
    crop = np.zeros((*shape, 3), np.uint8)
    assert tuple(prepare_crop(crop, spec).shape) == (3, 224, 224)


def test_centre_crop_keeps_the_middle():
    crop = np.zeros((32, 96, 3), np.uint8)
    crop[:, :32] = (255, 0, 0)
    crop[:, 32:64] = (0, 255, 0)
    crop[:, 64:] = (0, 0, 255)
    out = prepare_crop(crop, Preprocess(32, True, 32, CLIP_MEAN, CLIP_STD, 3))
    assert out.permute(1, 2, 0).eq(torch.tensor([0.0, 255.0, 0.0])).all()


def test_square_resize_without_crop():
    spec = Preprocess(16, False, 16, (0.5,) * 3, (0.5,) * 3, 2)
    out = prepare_crop(np.zeros((10, 40, 3), np.uint8), spec)
    assert tuple(out.shape) == (3, 16, 16)


@pytest.mark.parametrize("size", [224, 120, 400])
def test_resize_matches_pil_bicubic_within_one_grey_level(size):
    from PIL import Image

    rng = np.random.default_rng(0)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (300, 260, 3), dtype=np.uint8), (0, 0), 3)
    ours = prepare_crop(smooth, Preprocess(size, False, size, CLIP_MEAN, CLIP_STD, PIL_BICUBIC))
    pil = np.asarray(Image.fromarray(smooth).resize((size, size), Image.BICUBIC), np.float32)
    diff = np.abs(ours.permute(1, 2, 0).numpy() - pil)
    assert diff.max() <= 1.0 and diff.mean() < 0.3


def test_preprocessor_config_overrides_family_defaults(tmp_path):
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({
        "do_center_crop": True, "crop_size": {"height": 336, "width": 336},
        "size": {"shortest_edge": 336}, "image_mean": [0.1, 0.2, 0.3],
        "image_std": [0.4, 0.5, 0.6], "resample": 2,
    }))
    spec = read_preprocess(tmp_path, FAMILIES["clip"], 224)
    assert spec == Preprocess(336, True, 336, (0.1, 0.2, 0.3), (0.4, 0.5, 0.6), 2)
    assert read_preprocess(tmp_path / "none", FAMILIES["dinov2"], 224).resize == 256


def test_vision_only_checkpoint_loads_with_auto_family(tmp_path):
    folder = save_random_clip(tmp_path / "clip-vision", vision_only=True)
    embedder = HFImageEmbedder(folder, device="cpu")
    assert embedder.family == "clip" and embedder.name == f"clip:{folder.resolve()}"
    assert embedder.embed(crops(2)).shape == (2, 16)


def save_siglip(folder):
    from transformers import SiglipVisionConfig, SiglipVisionModel

    torch.manual_seed(0)
    config = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                num_attention_heads=2, image_size=32, patch_size=8)
    SiglipVisionModel(config).save_pretrained(folder)
    return folder


def save_dinov2(folder):
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    config = Dinov2Config(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                          num_attention_heads=2, image_size=32, patch_size=8)
    Dinov2Model(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("save, family, threshold", [
    (save_siglip, "siglip", 0.7), (save_dinov2, "dinov2", 0.5),
])
def test_other_families(tmp_path, save, family, threshold):
    embedder = HFImageEmbedder(save(tmp_path / family), device="cpu")
    assert embedder.family == family and embedder.dim == 32
    assert embedder.unknown_threshold == threshold
    assert embedder.name == f"{family}:{(tmp_path / family).resolve()}"
    vectors = embedder.embed(crops(3))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_sam2_folder_is_not_an_image_embedder(tmp_path):
    folder = save_random_sam2(tmp_path / "sam", size="mini")
    with pytest.raises(ModelLoadError, match="'sam2'"):
        HFImageEmbedder(folder, device="cpu")
    with pytest.raises(ModelLoadError, match="not CLIP"):
        CLIPEmbedder(folder, device="cpu")


def test_weights_cached(clip_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert clip_weights_cached(clip_dir)
    assert not clip_weights_cached(tmp_path / "missing")
    assert not clip_weights_cached(DEFAULT_CLIP_MODEL, cache_dir=tmp_path)


def test_missing_model_offline_names_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError) as info:
        CLIPEmbedder("openai/clip-vit-large-patch14", device="cpu", cache_dir=tmp_path)
    message = str(info.value)
    command = "python -m sam_detect.download_models --clip-model openai/clip-vit-large-patch14"
    assert command in message
    assert "\n" not in message


@pytest.mark.parametrize("options, message", [
    ({"batch_size": 0}, "batch_size"), ({"precision": "fp8"}, "precision"),
    ({"family": "resnet"}, "family"),
])
def test_invalid_options(clip_dir, options, message):
    with pytest.raises(SamDetectError, match=message):
        HFImageEmbedder(clip_dir, device="cpu", **options)


def test_bf16_autocast_on_cpu_still_returns_unit_float32(clip_dir):
    vectors = CLIPEmbedder(clip_dir, device="cpu", precision="bf16").embed(crops(2))
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
