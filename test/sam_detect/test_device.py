# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""resolve_device: auto, cpu, cuda and the errors a user can cause."""

from __future__ import annotations

import pytest

from sam_detect import device as device_module
from sam_detect.device import resolve_device
from sam_detect.errors import SamDetectError


@pytest.mark.parametrize("asked, cuda, expected", [
    ("auto", False, "cpu"),
    ("auto", True, "cuda"),
    (None, False, "cpu"),
    ("cpu", True, "cpu"),
    (" CPU ", False, "cpu"),
])
def test_resolves(monkeypatch, asked, cuda, expected):
    monkeypatch.setattr(device_module, "cuda_available", lambda: cuda)
    assert resolve_device(asked) == expected


@pytest.mark.parametrize("asked", ["cuda", "cuda:0", "CUDA"])
def test_cuda_without_a_gpu_says_use_cpu(monkeypatch, asked):
    monkeypatch.setattr(device_module, "cuda_available", lambda: False)
    with pytest.raises(SamDetectError, match="use --device cpu"):
        resolve_device(asked)


@pytest.mark.parametrize("asked", ["tpu", "cuda:x", "gpu", ""])
def test_unknown_device_lists_the_choices(asked):
    with pytest.raises(SamDetectError, match="choose one of auto, cpu, cuda"):
        resolve_device(asked)


def test_cuda_index_beyond_the_devices(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(device_module, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(SamDetectError, match="1 CUDA device"):
        resolve_device("cuda:3")
