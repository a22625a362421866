# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""ONNX Runtime for the CPU path: which runtime runs, and that it computes what torch does."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect.errors import SamDetectError
from sam_detect.models import onnx_cpu
from sam_detect.models.onnx_cpu import OnnxCpuNetwork, resolve_runtime

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.mark.parametrize("runtime, device, installed, expected", [
    ("auto", "cpu", True, "onnxruntime"),
    ("auto", "cpu", False, "torch"),
    ("auto", "cuda:0", True, "torch"),
    ("torch", "cpu", True, "torch"),
    ("onnxruntime", "cpu", True, "onnxruntime"),
])
def test_resolve_runtime(monkeypatch, runtime, device, installed, expected):
    monkeypatch.setattr(onnx_cpu, "onnxruntime_installed", lambda: installed)
    assert resolve_runtime(runtime, device) == expected


@pytest.mark.parametrize("runtime, device, installed, message", [
    ("tensorflow", "cpu", True, "runtime must be one of auto, torch, onnxruntime"),
    ("onnxruntime", "cuda:0", True, "CPU only"),
    ("onnxruntime", "cpu", False, r"pip install 'sam_detect_ros\[efficientnet\]'"),
])
def test_resolve_runtime_errors(monkeypatch, runtime, device, installed, message):
    monkeypatch.setattr(onnx_cpu, "onnxruntime_installed", lambda: installed)
    with pytest.raises(SamDetectError, match=message):
        resolve_runtime(runtime, device)


def test_the_extra_installs_onnxruntime():
    """The efficientnet extra brings ONNX Runtime, so the CPU default path is the fast one."""
    assert onnx_cpu.onnxruntime_installed()


class TwoMaps(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.first = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.second = torch.nn.Conv2d(8, 4, 3, groups=4, padding=1)

    def forward(self, image):
        hidden = torch.relu(self.first(image))
        return hidden, self.second(hidden).mean(dim=(2, 3))


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (5, 3, 48, 20)])
def test_exported_network_matches_torch_on_any_batch_and_size(shape):
    torch.manual_seed(0)
    module = TwoMaps().eval()
    network = OnnxCpuNetwork.export(module, torch.zeros(1, 3, 16, 16), ["image"],
                                    ["maps", "pooled"],
                                    {"image": [0, 2, 3], "maps": [0, 2, 3], "pooled": [0]})
    image = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    with torch.no_grad():
        expected = [t.numpy() for t in module(torch.from_numpy(image))]
    found = network(image)
    assert [f.shape for f in found] == [e.shape for e in expected]
    for got, want in zip(found, expected):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_threads_follow_torch(monkeypatch):
    import onnxruntime

    seen = {}
    real = onnxruntime.InferenceSession

    def session(model, options, providers):
        seen["threads"] = options.intra_op_num_threads
        return real(model, options, providers=providers)

    monkeypatch.setattr(onnxruntime, "InferenceSession", session)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    OnnxCpuNetwork.export(TwoMaps().eval(), torch.zeros(1, 3, 16, 16), ["image"],
                          ["maps", "pooled"], {"image": [0]})
    assert seen["threads"] == 3
