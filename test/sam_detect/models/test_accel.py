# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Device, precision and TensorRT cache-key helpers (TensorRT itself cannot be installed here)."""

from __future__ import annotations

import importlib.util
import re

import pytest
import torch

from sam_detect.errors import MissingDependencyError, SamDetectError
from sam_detect.models import accel

KEY_ARGS = {
    "model_id": "facebook/sam2.1-hiera-tiny",
    "input_shapes": [(1, 3, 1024, 1024)],
    "precision": "bf16",
    "gpu_name": "NVIDIA H100 80GB HBM3",
    "torch_version": "2.14.0+cu130",
    "trt_version": "2.14.0",
}


def test_trt_cache_key_is_stable_and_file_name_safe():
    key = accel.trt_cache_key(**KEY_ARGS)
    assert key == accel.trt_cache_key(**KEY_ARGS)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", key)
    assert key.startswith("facebook--sam2.1-hiera-tiny-1x3x1024x1024-bf16-")
    assert key.endswith(".ep")


@pytest.mark.parametrize("field, value", [
    ("model_id", "facebook/sam2.1-hiera-small"),
    ("input_shapes", [(2, 3, 1024, 1024)]),
    ("precision", "fp16"),
    ("gpu_name", "NVIDIA H200"),
    ("torch_version", "2.14.1+cu130"),
    ("trt_version", "2.14.1"),
])
def test_trt_cache_key_changes_with_every_field(field, value):
    assert accel.trt_cache_key(**{**KEY_ARGS, field: value}) != accel.trt_cache_key(**KEY_ARGS)


def test_trt_cache_key_of_local_directory_is_safe():
    key = accel.trt_cache_key(**{**KEY_ARGS, "model_id": "/home/me/models/my sam2/"})
    assert "/" not in key and " " not in key


def test_trt_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert accel.trt_cache_dir() == tmp_path / "sam_detect" / "trt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert accel.trt_cache_dir() == tmp_path / "home" / ".cache" / "sam_detect" / "trt"


@pytest.mark.skipif(importlib.util.find_spec("torch_tensorrt") is not None,
                    reason="torch_tensorrt is installed")
def test_tensorrt_without_the_extra_names_the_extra():
    with pytest.raises(MissingDependencyError, match=r"\[tensorrt\]"):
        accel.compile_tensorrt(torch.nn.Identity(), [torch.zeros(1)], model_id="m",
                               precision="fp16", device="cpu")


@pytest.mark.parametrize("precision, dtype", [
    ("fp32", torch.float32), ("fp16", torch.float16), ("bf16", torch.bfloat16),
])
def test_precision_dtype(precision, dtype):
    assert accel.precision_dtype(precision) == dtype


def test_unknown_precision_is_a_clear_error():
    with pytest.raises(SamDetectError, match="fp32, fp16, bf16"):
        accel.precision_dtype("int8")


def test_autocast_bf16_on_cpu_lowers_matmul_precision():
    a = torch.ones(2, 2)
    with accel.autocast("cpu", "bf16"):
        assert (a @ a).dtype == torch.bfloat16
    with accel.autocast("cpu", "fp32"):
        assert (a @ a).dtype == torch.float32


def test_resolve_device_auto_and_cpu():
    assert accel.resolve_device("cpu") == "cpu"
    assert accel.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_resolve_device_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(SamDetectError):
        accel.resolve_device("cuda")


def test_maybe_compile_disabled_returns_the_same_object():
    module = torch.nn.Identity()
    assert accel.maybe_compile(module, False) is module
