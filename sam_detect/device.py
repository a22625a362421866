# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Choose the torch device a model runs on.

``auto`` means the GPU when this torch build can use one, else the CPU; asking for ``cuda`` on a
machine without CUDA is a user error with a one-line fix rather than a torch traceback. Torch is
imported only when a device has to be checked, so the weight-free path never loads it.
"""

from __future__ import annotations

import gc
import importlib.util
import sys

from sam_detect.errors import SamDetectError
from sam_detect.options import DEVICES  # the option table's choices


def free_accelerator_memory() -> None:
    """Return cached GPU memory to the driver (models just dropped); nothing without CUDA."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def cuda_available() -> bool:
    """Return True when torch is installed and sees a CUDA device."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(device: str | None = "auto") -> str:
    """Return the concrete device for ``device``: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Args:
        device: ``"auto"`` (or ``None``), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises:
        SamDetectError: for an unknown name, or CUDA asked for where torch cannot use it.

    Example:
        >>> resolve_device("cpu")
        'cpu'
        >>> resolve_device("auto") in ("cpu", "cuda")
        True
    """
    name = "auto" if device is None else str(device).strip().lower()
    if name == "auto":
        return "cuda" if cuda_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not cuda_available():
            raise SamDetectError(
                f"device '{name}' needs an NVIDIA GPU and a CUDA build of torch; "
                "use --device cpu (or auto)"
            )
        import torch

        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise SamDetectError(
                f"device '{name}' does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s); use --device cuda"
            )
        return name
    raise SamDetectError(f"unknown device '{device}'; choose one of {', '.join(DEVICES)}")
