# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Run a torch network on the CPU through ONNX Runtime: the same outputs in less time.

ONNX Runtime's CPU kernels run the small depthwise convolutions of EfficientNet-Lite0 far faster
than eager PyTorch on this 2-core machine (``bench/bench_default_pipeline.py`` prints the ratio).
The network is exported once per process with ``torch.onnx`` (about a second, in memory: no file
is written) and its outputs match eager PyTorch's to float rounding (max abs difference ~1e-6,
cosine 1.0), so embeddings stored by either runtime mix in one store. Used for the CPU path of the
EfficientNet embedder and the objectness segmenter when the ``efficientnet`` extra's
``onnxruntime`` and ``onnx`` are installed; CUDA stays with PyTorch.

Example:
    >>> import torch
    >>> net = torch.nn.Conv2d(3, 4, 3).eval()
    >>> session = OnnxCpuNetwork.export(net, torch.zeros(1, 3, 8, 8), ["image"], ["features"],
    ...                                 dynamic={"image": [0, 2, 3], "features": [0, 2, 3]})
    >>> session(np.zeros((2, 3, 16, 16), np.float32))[0].shape
    (2, 4, 14, 14)
"""

from __future__ import annotations

import importlib.util
import io
import warnings
from typing import Any, Sequence

import numpy as np

from sam_detect.errors import SamDetectError

RUNTIMES = ("auto", "torch", "onnxruntime")
# Whether ONNX Runtime's worker threads spin-wait for more work after a run (its own default).
# Off: between two runs the pipeline does its numpy and OpenCV work on the same two cores, and
# spinning workers compete with it. Measured on the objectness segmenter
# (15 hard-validation frames, 2 threads, shared machine, the same run): CPU per frame 201 -> 147
# ms, wall 287 -> 216 ms.
ALLOW_SPINNING = False
OPSET = 17


def onnxruntime_installed() -> bool:
    """Return True when ONNX Runtime and the ONNX exporter's ``onnx`` package are importable."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def resolve_runtime(runtime: str, device: str) -> str:
    """Return ``"onnxruntime"`` or ``"torch"`` for a requested runtime on a resolved device.

    ``auto`` is ONNX Runtime on the CPU when it is installed, PyTorch otherwise.

    Raises:
        SamDetectError: for an unknown runtime, or ONNX Runtime asked for on a GPU or where it is
            not installed.
    """
    if runtime not in RUNTIMES:
        raise SamDetectError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    on_cpu = device == "cpu"
    if runtime == "auto":
        return "onnxruntime" if on_cpu and onnxruntime_installed() else "torch"
    if runtime == "onnxruntime":
        if not on_cpu:
            raise SamDetectError(f"runtime onnxruntime runs on the CPU only, not {device}")
        if not onnxruntime_installed():
            raise SamDetectError("runtime onnxruntime needs onnxruntime and onnx: "
                                 "pip install 'sam_detect_ros[efficientnet]'")
    return runtime


class OnnxCpuNetwork:
    """A torch network exported to ONNX and run by an ONNX Runtime CPU session.

    Args:
        model: The serialised ONNX model.
        threads: Intra-op threads (default: as many as torch uses, so ``OMP_NUM_THREADS`` and
            ``torch.set_num_threads`` keep meaning the same).
    """

    def __init__(self, model: bytes, threads: int | None = None) -> None:
        """Open a CPU session on the serialised model."""
        import onnxruntime

        if threads is None:
            import torch

            threads = torch.get_num_threads()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: the exporter's models are well-formed
        options.add_session_config_entry("session.intra_op.allow_spinning",
                                         "1" if ALLOW_SPINNING else "0")
        self._session = onnxruntime.InferenceSession(model, options,
                                                     providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    @classmethod
    def export(cls, module: Any, example: Any, inputs: Sequence[str], outputs: Sequence[str],
               dynamic: dict[str, list[int]]) -> OnnxCpuNetwork:
        """Export an eval-mode ``module`` (traced on ``example``) and open a session on it.

        Args:
            module: The ``torch.nn.Module``; its forward takes one tensor.
            example: An input tensor to trace with.
            inputs: The input's name.
            outputs: The outputs' names, in the order forward returns them.
            dynamic: Per name, the axes whose size may change between calls.
        """
        import torch

        buffer = io.BytesIO()
        axes = {name: {axis: f"{name}_{axis}" for axis in found}
                for name, found in dynamic.items()}
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            # The TorchScript exporter is deprecated in favour of the dynamo one, which needs
            # onnxscript and traces these plain convolutional networks no better.
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (example,), buffer, dynamo=False, opset_version=OPSET,
                              input_names=list(inputs), output_names=list(outputs),
                              dynamic_axes=axes)
        return cls(buffer.getvalue())

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Run the network on float32 arrays (one per input); returns its outputs."""
        feed = {name: np.ascontiguousarray(array, np.float32)
                for name, array in zip(self._inputs, arrays)}
        return self._session.run(None, feed)


__all__ = ["OnnxCpuNetwork", "RUNTIMES", "onnxruntime_installed", "resolve_runtime"]
