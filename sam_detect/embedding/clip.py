# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""CLIP image embeddings (and SigLIP / DINOv2) through transformers, without torchvision.

:class:`CLIPEmbedder` runs the vision tower of a CLIP checkpoint
(``CLIPVisionModelWithProjection``) on faded crops and returns the L2-normalised projected
``image_embeds``. :class:`HFImageEmbedder` is the same machinery for other transformers image
encoders: SigLIP (``SiglipVisionModel``, pooled output) and DINOv2 (``Dinov2Model``, CLS token),
picked from the checkpoint's ``model_type``.

Preprocessing follows each checkpoint's ``preprocessor_config.json`` when present (else the
family's published defaults): resize the shortest side (CLIP: 224, bicubic), centre-crop, scale to
``[0, 1]``, normalise with the model's mean and std. By default all of it runs in torch on the
model's device, in one antialiased float pass; the reference processors resize with PIL, which
runs two passes (horizontal, vertical) and rounds to 8 bits between them. On smooth images the two
agree to one grey level; on high-contrast texture (noise, fine checks, brick) PIL's intermediate
rounding and clipping of the bicubic overshoot leave 0.5-2 % of pixels up to ~20 grey levels apart.
``resize="pil"`` resizes with PIL itself instead (on the CPU, ~1 ms per crop), which is the
reference's resize exactly. transformers' own image processors are not used because their fast
backend imports torchvision, which cannot be imported beside the CPU torch build.

Example:
    >>> emb = CLIPEmbedder(device="cuda", precision="bf16")   # doctest: +SKIP
    >>> emb.embed([crop_a, crop_b]).shape                     # doctest: +SKIP
    (2, 512)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sam_detect.errors import InvalidImageError, SamDetectError, require_extra
from sam_detect.image_io import load_image
from sam_detect.models import accel, hub

DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PIL_BICUBIC, PIL_BILINEAR = 3, 2
#: How crops are resized: "torch" (one float pass on the device) or "pil" (the reference's own).
RESIZE_BACKENDS = ("torch", "pil")


@dataclass(frozen=True)
class Preprocess:
    """How crops become model input.

    Attributes:
        resize: Shortest-side length (``crop`` True) or the square side (``crop`` False).
        crop: Centre-crop a ``crop_size`` square after resizing the shortest side.
        crop_size: Side of the centre crop.
        mean: Per-channel mean of ``[0, 1]`` pixels.
        std: Per-channel std.
        resample: PIL resampling filter (3 bicubic, 2 bilinear).
    """

    resize: int
    crop: bool
    crop_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resample: int

    @property
    def output_size(self) -> int:
        """Side of the square model input."""
        return self.crop_size if self.crop else self.resize


@dataclass(frozen=True)
class Family:
    """A supported encoder family: transformers class, accepted model types, defaults."""

    name: str
    model_types: tuple[str, ...]
    class_name: str
    unknown_threshold: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resample: int
    crop: bool
    resize_ratio: float  # shortest side / crop size when there is no preprocessor_config.json


# Unknown thresholds: cosine similarity of two crops of one object vs. of unrelated objects
# differs per encoder (CLIP image-image similarities of unrelated photos often reach 0.6-0.7).
FAMILIES = {
    "clip": Family(
        "clip", ("clip", "clip_vision_model"), "CLIPVisionModelWithProjection", 0.75,
        CLIP_MEAN, CLIP_STD, PIL_BICUBIC, True, 1.0,
    ),
    "siglip": Family(
        "siglip", ("siglip", "siglip_vision_model"), "SiglipVisionModel", 0.7,
        (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), PIL_BILINEAR, False, 1.0,
    ),
    "dinov2": Family(
        "dinov2", ("dinov2",), "Dinov2Model", 0.5,
        IMAGENET_MEAN, IMAGENET_STD, PIL_BICUBIC, True, 256 / 224,
    ),
}


def clip_download_hint(model_name: str | os.PathLike) -> str:
    """Return the command that downloads ``model_name`` (the default model for a folder)."""
    text = os.fspath(model_name)
    if hub.looks_like_path(text):
        text = DEFAULT_CLIP_MODEL
    return f"python -m sam_detect.download_models --clip-model {text} --skip-sam"


def clip_weights_cached(
    model_name: str | os.PathLike = DEFAULT_CLIP_MODEL,
    cache_dir: str | os.PathLike | None = None,
) -> bool:
    """Return True when ``model_name`` loads without network access (local dir or HF cache).

    The embedder factory's ``auto`` mode uses this to choose CLIP over the offline fallback.

    Example:
        >>> clip_weights_cached("/nonexistent/clip")
        False
    """
    return hub.weights_cached(model_name, cache_dir=cache_dir)


def _size_value(value: Any, default: int) -> int:
    if isinstance(value, dict):
        for key in ("shortest_edge", "height", "width"):
            if key in value:
                return int(value[key])
        return default
    return int(value) if value else default


def read_preprocess(folder: str | os.PathLike, family: Family, image_size: int) -> Preprocess:
    """Return the preprocessing of the checkpoint in ``folder``.

    Reads ``preprocessor_config.json`` when present; otherwise uses the family's defaults at the
    model's ``image_size``.
    """
    crop_size = image_size
    resize = int(round(image_size * family.resize_ratio))
    mean, std, resample, crop = family.mean, family.std, family.resample, family.crop
    path = Path(folder) / "preprocessor_config.json"
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError):
        config = {}
    if isinstance(config, dict) and config:
        crop = bool(config.get("do_center_crop", crop))
        crop_size = _size_value(config.get("crop_size"), crop_size)
        resize = _size_value(config.get("size"), resize)
        mean = tuple(config.get("image_mean", mean))  # type: ignore[assignment]
        std = tuple(config.get("image_std", std))  # type: ignore[assignment]
        resample = int(config.get("resample", resample))
    return Preprocess(resize, crop, crop_size, mean, std, resample)


def resized_shape(height: int, width: int, spec: Preprocess) -> tuple[int, int]:
    """Return ``(h, w)`` after the resize step (shortest side to ``spec.resize`` when cropping).

    Example:
        >>> resized_shape(100, 300, Preprocess(224, True, 224, CLIP_MEAN, CLIP_STD, 3))
        (224, 672)
    """
    if not spec.crop:
        return spec.resize, spec.resize
    if height <= width:
        return spec.resize, int(spec.resize * width / height)
    return int(spec.resize * height / width), spec.resize


def prepare_crop(
    crop: np.ndarray, spec: Preprocess, device: str = "cpu", resize: str = "torch"
) -> torch.Tensor:
    """Resize and centre-crop one RGB ``uint8`` crop on ``device``; return ``(3, S, S)`` float.

    Values stay in ``[0, 255]``, rounded as an 8-bit resize would round them.

    Args:
        crop: RGB ``uint8`` ``(H, W, 3)``.
        spec: The checkpoint's preprocessing.
        device: Where the result (and the torch resize) lives.
        resize: ``"torch"``: one antialiased ``F.interpolate`` pass on ``device`` (saves ~1 ms of
            CPU per crop on a GPU); it matches PIL to one grey level on smooth images, but PIL
            rounds to 8 bits between its horizontal and vertical passes, so on high-contrast
            texture 0.5-2 % of pixels differ by up to ~20 levels. ``"pil"``: PIL's own resize,
            the reference processors' exactly.

    Example:
        >>> spec = Preprocess(224, True, 224, CLIP_MEAN, CLIP_STD, 3)
        >>> tuple(prepare_crop(np.zeros((100, 300, 3), np.uint8), spec).shape)
        (3, 224, 224)
    """
    if resize not in RESIZE_BACKENDS:
        raise SamDetectError(
            f"resize must be one of {', '.join(RESIZE_BACKENDS)}, got {resize!r}")
    height, width = crop.shape[:2]
    new_h, new_w = resized_shape(height, width, spec)
    if resize == "pil" and (new_h, new_w) != (height, width):
        from PIL import Image

        crop = np.array(Image.fromarray(crop).resize((new_w, new_h), resample=spec.resample))
        height, width = new_h, new_w
    pixels = torch.from_numpy(crop).to(device, non_blocking=True).permute(2, 0, 1)[None].float()
    if (new_h, new_w) != (height, width):
        mode = "bicubic" if spec.resample == PIL_BICUBIC else "bilinear"
        pixels = F.interpolate(
            pixels, size=(new_h, new_w), mode=mode, antialias=True, align_corners=False
        )
        pixels = pixels.clamp(0, 255).round()
    if spec.crop:
        size = spec.crop_size
        top, left = max(0, (new_h - size) // 2), max(0, (new_w - size) // 2)
        pixels = pixels[:, :, top:top + size, left:left + size]
        short_h, short_w = size - pixels.shape[2], size - pixels.shape[3]
        if short_h or short_w:  # smaller than the crop: pad with black, as PIL's crop does
            pixels = F.pad(pixels, (0, short_w, 0, short_h))
    return pixels[0]


class _VisionHead(torch.nn.Module):
    """Pixels -> one embedding per image, as a plain tensor (a clean compile/TensorRT target)."""

    def __init__(self, model: Any, family: str) -> None:
        super().__init__()
        self.model = model
        self.family = family

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        output = self.model(pixel_values=pixel_values)
        if self.family == "clip":
            return output.image_embeds
        return output.pooler_output


class HFImageEmbedder:
    """Embeds crops with a transformers image encoder (CLIP, SigLIP or DINOv2).

    Args:
        model_name: Hub id or local directory (``save_pretrained`` of the full model or of its
            vision tower).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        batch_size: Crops per forward pass.
        precision: ``"fp32"``, ``"fp16"`` or ``"bf16"`` (autocast).
        compile: ``torch.compile`` the vision tower.
        tensorrt: Compile the vision tower with torch-tensorrt (``tensorrt`` extra, CUDA); batches
            are padded to ``batch_size`` because engines have static shapes.
        family: ``"auto"`` (from the checkpoint's ``model_type``), ``"clip"``, ``"siglip"`` or
            ``"dinov2"``.
        unknown_threshold: Override the family's default unknown threshold.
        cache_dir: Hugging Face cache folder to use instead of the default.
        resize: ``"torch"`` (default: one float pass on the device) or ``"pil"`` (PIL's
            two-pass 8-bit resize on the CPU, the reference processors' exactly); see
            :func:`prepare_crop`.

    Attributes:
        name: ``"<family>:<model>"``: the hub id, or a local directory's absolute path.
        dim: Embedding length.
        unknown_threshold: Cosine similarity below which a match is "unknown".
    """

    default_family = "auto"

    def __init__(self, model_name: str | os.PathLike = DEFAULT_CLIP_MODEL, device: str = "auto",
                 batch_size: int = 32, precision: str = "fp32", compile: bool = False,
                 tensorrt: bool = False, family: str | None = None,
                 unknown_threshold: float | None = None,
                 cache_dir: str | os.PathLike | None = None, resize: str = "torch") -> None:
        """Load the model (see the class docstring for the arguments)."""
        require_extra("transformers", "models", "{embedder} clip", options=("embedder",))
        if resize not in RESIZE_BACKENDS:
            raise SamDetectError(f"resize must be one of {', '.join(RESIZE_BACKENDS)}, "
                                 f"got {resize!r}")
        self.resize = resize
        if int(batch_size) < 1:
            raise SamDetectError(f"batch_size must be at least 1, got {batch_size}")
        family = (family or self.default_family).lower()
        if family != "auto" and family not in FAMILIES:
            raise SamDetectError(f"unknown embedder family '{family}': use {', '.join(FAMILIES)}")
        self.batch_size = int(batch_size)
        self.precision = precision
        accel.precision_dtype(precision)
        self.device = accel.resolve_device(device)
        self.model_name = os.fspath(model_name)
        self.tensorrt = bool(tensorrt)

        hint = clip_download_hint(self.model_name)
        folder = hub.resolve_model(
            self.model_name, kind="image embedding", hint=hint, cache_dir=cache_dir
        )
        model_type = hub.read_model_type(folder)
        if family == "auto":
            family = next((f.name for f in FAMILIES.values() if model_type in f.model_types), "")
            if not family:
                raise hub.ModelLoadError(
                    f"{folder} holds a '{model_type}' model; supported: CLIP, SigLIP, DINOv2"
                )
        spec = FAMILIES[family]
        import transformers

        model = hub.load_pretrained(
            getattr(transformers, spec.class_name), folder, kind=spec.name.upper(), hint=hint,
            model_types=spec.model_types, dtype=torch.float32,
        )
        self.model = model.to(self.device)
        self.family = family
        config = self.model.config
        if family == "clip":  # the weights, not the sub-config, know the projection size
            self.dim = int(self.model.visual_projection.out_features)
        else:
            self.dim = int(config.hidden_size)
        image_size = int(getattr(config, "image_size", 224) or 224)
        if family == "dinov2":
            image_size = 224  # DINOv2 configs say 518 (the position grid); it is used at 224
        self.preprocess = read_preprocess(folder, spec, image_size)
        self.unknown_threshold = float(
            spec.unknown_threshold if unknown_threshold is None else unknown_threshold
        )
        if hub.looks_like_path(self.model_name):
            # the absolute folder, so that a store filled from it can find the model again
            label = str(Path(self.model_name).expanduser().resolve())
        else:
            label = self.model_name
        self.name = f"{family}:{label}"
        self._mean = torch.tensor(self.preprocess.mean, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.preprocess.std, device=self.device).view(1, 3, 1, 1)
        self._mean, self._std = self._mean * 255.0, self._std * 255.0

        head = _VisionHead(self.model, family).eval()
        if self.tensorrt:
            size = self.preprocess.output_size
            example = torch.zeros(self.batch_size, 3, size, size, device=self.device)
            self._forward = accel.compile_tensorrt(
                head, [example], model_id=self.model_name, precision=precision, device=self.device
            )
        else:
            self._forward = accel.maybe_compile(head, compile, dynamic=None)

    def prepare(self, crops: Sequence[Any]) -> torch.Tensor:
        """Return ``(n, 3, S, S)`` resized, centre-cropped crops on the device (0-255 floats)."""
        prepared = []
        for index, crop in enumerate(crops):
            try:
                array = load_image(crop)
            except InvalidImageError as error:
                raise InvalidImageError(f"crop {index}: {error}") from None
            prepared.append(prepare_crop(array, self.preprocess, self.device, self.resize))
        size = self.preprocess.output_size
        if not prepared:
            return torch.zeros((0, 3, size, size), device=self.device)
        return torch.stack(prepared)

    def embed_prepared(self, batch: torch.Tensor) -> np.ndarray:
        """Embed crops from :meth:`prepare`; return ``(n, dim)`` float32 unit rows."""
        out = np.zeros((len(batch), self.dim), dtype=np.float32)
        for start in range(0, len(batch), self.batch_size):
            pixels = batch[start:start + self.batch_size]
            n = pixels.shape[0]
            pixels = (pixels - self._mean) / self._std
            if self.tensorrt and n < self.batch_size:
                pixels = F.pad(pixels, (0, 0, 0, 0, 0, 0, 0, self.batch_size - n))
            with torch.inference_mode(), accel.autocast(self.device, self.precision):
                vectors = self._forward(pixels)[:n]
            vectors = F.normalize(vectors.float(), dim=1)
            out[start:start + n] = vectors.cpu().numpy()
        return out

    def embed(self, crops: Sequence[Any]) -> np.ndarray:
        """Return an ``(n, dim)`` float32 array of unit vectors for ``n`` RGB ``uint8`` crops."""
        if isinstance(crops, np.ndarray) and crops.ndim == 3:
            crops = [crops]
        return self.embed_prepared(self.prepare(list(crops)))

    def __repr__(self) -> str:
        """Return the embedder's name, size and device."""
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, device={self.device!r})"


class CLIPEmbedder(HFImageEmbedder):
    """CLIP image embeddings: the projected, L2-normalised ``image_embeds`` of the vision tower.

    Args:
        model_name: Hub id (default ``openai/clip-vit-base-patch32``) or local directory.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        batch_size: Crops per forward pass.
        precision: ``"fp32"``, ``"fp16"`` or ``"bf16"``.
        compile: ``torch.compile`` the vision tower.
        tensorrt: Compile the vision tower with torch-tensorrt (see :class:`HFImageEmbedder`).
        unknown_threshold: Override the default unknown threshold (0.75).
        cache_dir: Hugging Face cache folder to use instead of the default.
        resize: ``"torch"`` or ``"pil"`` (the reference's resize exactly; see
            :func:`prepare_crop`).

    Example:
        >>> emb = CLIPEmbedder(device="cpu")   # doctest: +SKIP
        >>> emb.name, emb.dim                  # doctest: +SKIP
        ('clip:openai/clip-vit-base-patch32', 512)
    """

    def __init__(self, model_name: str | os.PathLike = DEFAULT_CLIP_MODEL, device: str = "auto",
                 batch_size: int = 32, precision: str = "fp32", compile: bool = False,
                 tensorrt: bool = False, unknown_threshold: float | None = None,
                 cache_dir: str | os.PathLike | None = None, resize: str = "torch") -> None:
        """Load a CLIP checkpoint (see the class docstring for the arguments)."""
        super().__init__(
            model_name, device=device, batch_size=batch_size, precision=precision,
            compile=compile, tensorrt=tensorrt, family="clip",
            unknown_threshold=unknown_threshold, cache_dir=cache_dir, resize=resize,
        )
