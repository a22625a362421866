# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Device, precision and compilation helpers for the neural backends.

Three opt-in speed-ups, all off by default so that the CPU path stays plain eager PyTorch:

* ``precision="fp16"|"bf16"`` runs the forward passes under ``torch.autocast`` (weights stay
  float32, so switching back costs nothing). bf16 is the safe choice on Ampere and newer GPUs.
* ``compile=True`` wraps the heavy, fixed-shape modules (SAM2 image encoder and mask decoder,
  CLIP vision tower) in ``torch.compile``; the first call pays the compile time.
* ``tensorrt=True`` compiles the same modules with torch-tensorrt's dynamo path
  (``torch_tensorrt.compile(..., ir="dynamo")``) and caches each engine on disk under
  ``$XDG_CACHE_HOME/sam_detect/trt/``, keyed by model, input shape, precision, GPU and library
  versions (:func:`trt_cache_key`), so only the first run on a machine builds it. It needs the
  ``tensorrt`` extra and a CUDA device.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Sequence

from sam_detect.device import resolve_device
from sam_detect.errors import SamDetectError, require_extra

PRECISIONS = ("fp32", "fp16", "bf16")

__all__ = [
    "PRECISIONS", "autocast", "compile_tensorrt", "maybe_compile", "precision_dtype",
    "resolve_device", "trt_cache_dir", "trt_cache_key",
]


def precision_dtype(precision: str) -> Any:
    """Return the torch dtype for ``"fp32"``, ``"fp16"`` or ``"bf16"``.

    Example:
        >>> str(precision_dtype("bf16"))
        'torch.bfloat16'
    """
    import torch

    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if precision not in dtypes:
        choices = ", ".join(PRECISIONS)
        raise SamDetectError(f"unknown precision '{precision}': use one of {choices}")
    return dtypes[precision]


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager:
    """Return the context that runs a forward pass at ``precision`` on ``device``.

    fp32 is a no-op context; fp16/bf16 use ``torch.autocast`` (CPU autocast supports bf16 and
    fp16 too, though it is rarely faster there).
    """
    import torch

    dtype = precision_dtype(precision)
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def maybe_compile(
    function: Callable, enabled: bool, mode: str | None = None, dynamic: bool | None = False
) -> Callable:
    """Return ``torch.compile(function)`` when ``enabled``, else ``function`` unchanged.

    ``dynamic=False`` (default) specialises on the input shapes, right for fixed-size inputs
    (the 1024x1024 SAM2 image, 224x224 CLIP crops); ``None`` lets torch mark a dimension
    dynamic once it changes (decoder prompt counts).
    """
    if not enabled:
        return function
    import torch

    return torch.compile(function, mode=mode, dynamic=dynamic)


def trt_cache_dir() -> Path:
    """Return the folder for cached TensorRT engines: ``$XDG_CACHE_HOME/sam_detect/trt``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sam_detect" / "trt"


def trt_cache_key(
    model_id: str,
    input_shapes: Sequence[Sequence[int]],
    precision: str,
    gpu_name: str,
    torch_version: str,
    trt_version: str,
) -> str:
    """Return the file name of the engine built for exactly these settings.

    A TensorRT engine is only valid for the GPU, input shapes, precision and library versions it
    was built with, so each goes into the key; a readable prefix keeps the cache folder
    browsable.

    Example:
        >>> trt_cache_key("facebook/sam2.1-hiera-tiny", [(1, 3, 1024, 1024)], "bf16",
        ...               "NVIDIA H100", "2.14.0", "2.14.0")[:41]
        'facebook--sam2.1-hiera-tiny-1x3x1024x1024'
    """
    shapes = [[int(d) for d in shape] for shape in input_shapes]
    fields = {
        "model": model_id,
        "shapes": shapes,
        "precision": precision,
        "gpu": gpu_name,
        "torch": torch_version,
        "torch_tensorrt": trt_version,
    }
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", model_id.replace("/", "--")).strip("-")[-80:]
    shape_text = "_".join("x".join(str(d) for d in shape) for shape in shapes)
    return f"{name}-{shape_text}-{precision}-{digest}.ep"


def compile_tensorrt(
    module: Any,
    example_inputs: Sequence[Any],
    *,
    model_id: str,
    precision: str,
    device: str,
) -> Callable:
    """Return a TensorRT-compiled ``module``, loading the engine from the disk cache when built.

    Args:
        module: An ``nn.Module`` whose forward takes tensors and returns tensors.
        example_inputs: Tensors of the exact shapes it will see (engines are static-shape).
        model_id: Identifies the weights (hub id or directory), for the cache key.
        precision: ``"fp32"``, ``"fp16"`` or ``"bf16"``; the engine's enabled precision.
        device: Must be a CUDA device.

    Raises:
        MissingDependencyError: torch-tensorrt is not installed (``pip install '...[tensorrt]'``).
        SamDetectError: ``device`` is not CUDA.
    """
    require_extra("torch_tensorrt", "tensorrt", "{tensorrt}", options=("tensorrt",))
    import torch

    if torch.device(device).type != "cuda":
        raise SamDetectError(f"tensorrt=True needs a CUDA device, got '{device}': use cuda")
    import torch_tensorrt

    key = trt_cache_key(
        model_id,
        [tuple(t.shape) for t in example_inputs],
        precision,
        torch.cuda.get_device_name(torch.device(device)),
        torch.__version__,
        torch_tensorrt.__version__,
    )
    path = trt_cache_dir() / key
    if path.is_file():
        return torch_tensorrt.load(str(path)).module()
    compiled = torch_tensorrt.compile(
        module,
        ir="dynamo",
        arg_inputs=list(example_inputs),
        enabled_precisions={precision_dtype(precision)},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch_tensorrt.save(compiled, str(partial), arg_inputs=list(example_inputs))
    os.replace(partial, path)  # a crash mid-save never leaves a truncated engine under the key
    return compiled
