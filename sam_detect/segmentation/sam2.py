# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""SAM2 segmentation: segment-everything and point/box prompts, on transformers' ``Sam2Model``.

Why transformers rather than Meta's ``sam2`` package: it is maintained alongside the library we
already use for CLIP, loads SAM2.1 checkpoints straight from the Hugging Face hub or a local
folder (``facebook/sam2.1-hiera-tiny``, ...), needs no torchvision (which cannot be imported
beside the CPU torch build) and no CUDA extension build step. Its ``Sam2Processor`` does import
torchvision, so the few lines of pre- and post-processing live here: resize to the model's square
input (1024 for the released checkpoints; SAM2 does not keep the aspect ratio), ImageNet
normalisation, and bilinear upsampling of the low-resolution mask logits to the input size.

Segment-everything (:meth:`SAM2Segmenter.segment`) encodes the image once, sends a
``points_per_side`` x ``points_per_side`` grid of single-point prompts through the prompt
decoder in batches of ``points_per_batch``, keeps each point's best mask of three by predicted
IoU (``masks_per_point=3`` keeps all three, as Meta's generator), drops masks with low predicted
IoU or stability (scored on the low-res logits; ``stability_at="full"`` after upsampling, as
Meta's generator), removes duplicates with mask NMS
(:mod:`sam_detect.models.mask_nms`) at the decoder's resolution, and only then upsamples the
survivors to full frame. The flat ``set_image`` / ``predict`` API answers prompts on a cached
image embedding, as ``sam2.SAM2ImagePredictor`` does.

Speed (``bench/bench_gpu.py``, NVIDIA H200, hiera-tiny, 1080p frame, 16x16 grid): eager fp32
100 ms per segment call, ``precision="bf16"`` 65 ms, ``precision="bf16", compile=True`` 24 ms
(encoder 6, decoder 14, NMS + upsampling 3); an 8x8 grid brings the compiled call to 14 ms. The
decoder's cost grows with the number of prompts (each prompt re-runs the two-way transformer and
upsampling on a copy of the image embedding), so the grid size is the main speed knob; the batch
size barely matters once it is 64 or more.

Example:
    >>> seg = SAM2Segmenter("tiny", device="cuda", precision="bf16")  # doctest: +SKIP
    >>> segments = seg.segment(image)                                 # doctest: +SKIP
    >>> seg.segment_prompts(image, points=[[320, 240]])[0].score      # doctest: +SKIP
    0.93
"""

from __future__ import annotations

import math
import os
import re
import zlib
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sam_detect.errors import SamDetectError, require_extra
from sam_detect.image_io import load_image
from sam_detect.models import accel, hub
from sam_detect.models.mask_nms import mask_nms, masks_to_boxes, stability_score
from sam_detect.results import Segment

SAM2_MODELS = {
    "tiny": "facebook/sam2.1-hiera-tiny",
    "small": "facebook/sam2.1-hiera-small",
    "base": "facebook/sam2.1-hiera-base-plus",
    "base-plus": "facebook/sam2.1-hiera-base-plus",
    "large": "facebook/sam2.1-hiera-large",
}
DEFAULT_SAM_MODEL = "base"
SAM2_MODEL_TYPES = ("sam2",)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
UPSAMPLE_CHUNK = 16  # masks upsampled to full frame at once: bounds memory at 4K input


# The SAM2 repository's checkpoint names: sam2_hiera_large, sam2.1_hiera_b+, sam2.1-hiera-tiny.
_SAM2_REPO_NAME = re.compile(
    r"^sam2(?:\.1)?[_-]hiera[_-](tiny|t|small|s|base[_-]?plus|b\+|large|l)$")
_SAM2_REPO_SIZES = {"t": "tiny", "s": "small", "b+": "base-plus", "l": "large"}


def sam2_model_id(model: str | os.PathLike) -> str:
    """Return the hub id of a size name (``tiny``, ``small``, ``base``, ``large``), else ``model``.

    The SAM2 repository's names (``sam2_hiera_large``, ``sam2.1_hiera_b+``) are sizes too.

    Example:
        >>> sam2_model_id("base"), sam2_model_id("./my-sam2")
        ('facebook/sam2.1-hiera-base-plus', './my-sam2')
        >>> sam2_model_id("sam2_hiera_large")
        'facebook/sam2.1-hiera-large'
    """
    text = os.fspath(model)
    name = text.strip().lower()
    repo_name = _SAM2_REPO_NAME.match(name)
    if repo_name:
        size = repo_name.group(1).replace("_", "-")
        name = _SAM2_REPO_SIZES.get(size, "base-plus" if size == "baseplus" else size)
    return SAM2_MODELS.get(name, text)


def sam2_download_hint(model: str | os.PathLike) -> str:
    """Return the command that downloads ``model`` (size or hub id; the default for a folder)."""
    text = os.fspath(model)
    if hub.looks_like_path(text):
        text = DEFAULT_SAM_MODEL
    return f"python -m sam_detect.download_models --sam-model {text} --skip-clip"


def _check_fraction(name: str, value: float) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise SamDetectError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


class _ImageEncoder(torch.nn.Module):
    """Pixels -> the three feature maps the mask decoder needs, as plain tensors.

    Wrapping ``Sam2Model.get_image_features`` in a tensor-in/tensors-out module makes it a clean
    target for ``torch.compile`` and torch-tensorrt.
    """

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        sizes = model.config.vision_config.backbone_feature_sizes
        self.feature_sizes = [tuple(size) for size in sizes]

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        batch = pixel_values.shape[0]
        output = self.model.get_image_features(pixel_values, return_dict=True)
        features = list(output.fpn_hidden_states)
        features[-1] = features[-1] + self.model.no_memory_embedding
        return tuple(
            feat.permute(1, 2, 0).reshape(batch, -1, *size)
            for feat, size in zip(features, self.feature_sizes)
        )


class SAM2Segmenter:
    """Segment Anything 2 (SAM2.1) as a :class:`~sam_detect.segmentation.PromptableSegmenter`.

    Args:
        model_size: ``"tiny"``, ``"small"``, ``"base"`` (hiera-base-plus) or ``"large"``, a hub
            id, or a local directory saved with ``save_pretrained``.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        points_per_side: Grid size for segment-everything (``n * n`` point prompts). 16 finds
            objects down to ~1/16 of the frame; 32 finds smaller ones at 4x the decoder cost.
        points_per_batch: Prompts per decoder call. Bounds memory; on a GPU one batch of the
            whole grid is only ~10% faster than batches of 64.
        pred_iou_thresh: Drop masks whose predicted IoU is below this.
        stability_thresh: Drop masks whose stability score (IoU of the mask at logit
            thresholds +-1) is below this.
        min_area: Drop masks smaller than this many pixels (at input resolution).
        max_instances: Return at most this many masks (None: all).
        nms_iou_thresh: Two masks overlapping more than this are duplicates; the lower-scoring
            one goes.
        precision: ``"fp32"``, ``"fp16"`` or ``"bf16"`` (autocast; use bf16 on a GPU).
        compile: ``torch.compile`` the image encoder and mask decoder (first call is slow).
        tensorrt: Compile the image encoder with torch-tensorrt (``tensorrt`` extra, CUDA);
            engines are cached on disk.
        mask_threshold: Logit above which a pixel is in the mask.
        cache_dir: Hugging Face cache folder to use instead of the default.
        model: Alias of ``model_size``; also accepts a built ``transformers.Sam2Model``.
        masks_per_point: Segment-everything candidates per grid point: 1 keeps the point's best
            mask of three by predicted IoU (default: a third of the candidates to filter and
            NMS); 3 keeps all three (part, subpart, whole), as Meta's
            ``SAM2AutomaticMaskGenerator`` does, which finds nested objects (a cup's handle
            and the cup) that best-of-3 drops whenever the whole wins.
        stability_at: Where the stability score is computed: ``"low_res"`` on the decoder's
            256x256 logits (default, cheap), or ``"full"`` on the logits upsampled to the frame,
            as Meta's generator does (one upsampling per candidate that passes
            ``pred_iou_thresh``).

    Example:
        >>> seg = SAM2Segmenter("tiny", device="cpu", points_per_side=8)  # doctest: +SKIP
        >>> [s.bbox for s in seg.segment(image)][:2]                      # doctest: +SKIP
        [(12, 40, 210, 300), (400, 20, 640, 200)]
    """

    name = "sam2"

    def __init__(self, model_size: str | os.PathLike = DEFAULT_SAM_MODEL, device: str = "auto",
                 points_per_side: int = 16, points_per_batch: int = 64,
                 pred_iou_thresh: float = 0.7, stability_thresh: float = 0.85, min_area: int = 100,
                 max_instances: int | None = 32, nms_iou_thresh: float = 0.7,
                 precision: str = "fp32", compile: bool = False, tensorrt: bool = False,
                 mask_threshold: float = 0.0, cache_dir: str | os.PathLike | None = None,
                 model: Any = None, masks_per_point: int = 1,
                 stability_at: str = "low_res") -> None:
        """Load the model (see the class docstring for the arguments)."""
        require_extra("transformers", "models", "{segmenter} sam2", options=("segmenter",))
        if int(points_per_side) < 1 or int(points_per_batch) < 1:
            raise SamDetectError("points_per_side and points_per_batch must be at least 1")
        if max_instances is not None and int(max_instances) < 1:
            raise SamDetectError(f"max_instances must be at least 1 or None, got {max_instances}")
        self.points_per_side = int(points_per_side)
        self.points_per_batch = int(points_per_batch)
        self.pred_iou_thresh = _check_fraction("pred_iou_thresh", pred_iou_thresh)
        self.stability_thresh = _check_fraction("stability_thresh", stability_thresh)
        self.nms_iou_thresh = _check_fraction("nms_iou_thresh", nms_iou_thresh)
        self.min_area = max(0, int(min_area))
        self.max_instances = None if max_instances is None else int(max_instances)
        self.mask_threshold = float(mask_threshold)
        if masks_per_point not in (1, 3):
            raise SamDetectError(f"masks_per_point must be 1 (each point's best mask) or 3 (all "
                                 f"of them, as Meta's generator), got {masks_per_point!r}")
        if stability_at not in ("low_res", "full"):
            raise SamDetectError(f"stability_at must be 'low_res' or 'full', got {stability_at!r}")
        self.masks_per_point = int(masks_per_point)
        self.stability_at = stability_at
        self.precision = precision
        accel.precision_dtype(precision)  # validate early
        self.device = accel.resolve_device(device)

        source = model if model is not None else model_size
        if isinstance(source, torch.nn.Module):
            sam = source
            self.model_id = str(getattr(sam.config, "_name_or_path", "") or "sam2-custom")
        else:
            from transformers import Sam2Model

            self.model_id = sam2_model_id(source)
            hint = sam2_download_hint(os.fspath(source))
            folder = hub.resolve_model(self.model_id, kind="SAM2", hint=hint, cache_dir=cache_dir)
            sam = hub.load_pretrained(
                Sam2Model, folder, kind="SAM2", hint=hint, model_types=SAM2_MODEL_TYPES,
                dtype=torch.float32,
            )
        self.model = sam.eval().to(self.device)
        self.input_size = int(self.model.config.prompt_encoder_config.image_size)
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1) * 255.0
        self._mean, self._std = mean, std
        with torch.inference_mode():
            self._image_pe = self.model.get_image_wide_positional_embeddings()

        encoder = _ImageEncoder(self.model).eval()
        if tensorrt:
            example = torch.zeros(1, 3, self.input_size, self.input_size, device=self.device)
            self._encoder = accel.compile_tensorrt(
                encoder, [example], model_id=self.model_id, precision=precision, device=self.device
            )
        else:
            self._encoder = accel.maybe_compile(encoder, compile)
        self._decoder = accel.maybe_compile(self.model.mask_decoder, compile, dynamic=None)

        self._features: tuple[torch.Tensor, ...] | None = None
        self._image_size: tuple[int, int] | None = None
        self._fingerprint: tuple[Any, ...] | None = None
        self._seed_boxes: np.ndarray | None = None
        self._grid_cache: dict[int, torch.Tensor] = {}

    @classmethod
    def from_pretrained(cls, model_id_or_dir: str | os.PathLike, **kwargs: Any) -> SAM2Segmenter:
        """Build a segmenter from a hub id, a size name or a local ``save_pretrained`` folder."""
        return cls(model_size=model_id_or_dir, **kwargs)

    # -- image embedding -------------------------------------------------------------------

    def _preprocess(self, image: np.ndarray) -> torch.Tensor:
        pixels = torch.from_numpy(image).to(self.device, non_blocking=True)
        pixels = pixels.permute(2, 0, 1).unsqueeze(0).float()
        size = (self.input_size, self.input_size)
        pixels = F.interpolate(
            pixels, size=size, mode="bilinear", align_corners=False, antialias=True
        )
        return (pixels - self._mean) / self._std

    def set_image(self, image: Any) -> None:
        """Encode ``image`` (RGB ``uint8`` array, PIL image or path) for :meth:`predict` calls.

        The embedding is cached: calling again with identical pixels costs a checksum, not an
        encoder pass.
        """
        image = load_image(image)
        fingerprint = (image.shape, zlib.crc32(memoryview(image).cast("B")))
        if fingerprint == self._fingerprint and self._features is not None:
            return
        with torch.inference_mode(), accel.autocast(self.device, self.precision):
            features = self._encoder(self._preprocess(image))
        self._features = tuple(features)
        self._image_size = (int(image.shape[0]), int(image.shape[1]))
        self._fingerprint = fingerprint

    def reset_image(self) -> None:
        """Forget the cached image embedding."""
        self._features = self._image_size = self._fingerprint = None

    # -- prompt decoding -------------------------------------------------------------------

    def _decode(self, points: torch.Tensor | None, labels: torch.Tensor | None,
                boxes: torch.Tensor | None, multimask: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Run one decoder batch; return the best mask's low-res logits (P, h, w) and IoU (P,)."""
        logits, iou = self._decode_all(points, labels, boxes, multimask)
        best = iou.argmax(dim=1)
        rows = torch.arange(logits.shape[0], device=logits.device)
        return logits[rows, best], iou[rows, best]

    def _decode_all(self, points: torch.Tensor | None, labels: torch.Tensor | None,
                    boxes: torch.Tensor | None,
                    multimask: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Run one decoder batch; return every mask's logits (P, M, h, w) and IoUs (P, M)."""
        assert self._features is not None
        sparse, dense = self.model.prompt_encoder(
            input_points=points, input_labels=labels, input_boxes=boxes, input_masks=None
        )
        logits, iou, _, _ = self._decoder(
            image_embeddings=self._features[-1],
            image_positional_embeddings=self._image_pe,
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask,
            high_resolution_features=list(self._features[:-1]),
        )
        return logits[0].float(), iou[0].float()  # (P, M, h, w), (P, M)

    def _to_model_xy(self, xy: np.ndarray) -> torch.Tensor:
        assert self._image_size is not None
        height, width = self._image_size
        scale = np.array([self.input_size / width, self.input_size / height], dtype=np.float32)
        return torch.from_numpy(np.asarray(xy, dtype=np.float32) * scale).to(self.device)

    def predict(
        self,
        points: Any = None,
        point_labels: Any = None,
        boxes: Any = None,
        multimask_output: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return one mask per prompt on the image given to :meth:`set_image`.

        Args:
            points: ``(N, 2)`` xy pixels (one point per prompt) or ``(N, K, 2)`` (K points each).
            point_labels: ``(N,)`` or ``(N, K)``; 1 = on the object, 0 = background. Default 1.
            boxes: ``(N, 4)`` ``(x0, y0, x1, y1)`` pixels; with ``points``, prompt ``i`` is
                ``points[i]`` plus ``boxes[i]``.
            multimask_output: Let the decoder propose three masks per prompt and keep the one
                with the best predicted IoU. Default: only for single-point prompts, which are
                ambiguous (part or whole?).

        Returns:
            Boolean masks ``(N, H, W)`` at the image's size and predicted IoUs ``(N,)``.
        """
        if self._features is None or self._image_size is None:
            raise SamDetectError("no image set: call set_image(image) before predict()")
        pts, labels, box_xy = self._prompt_tensors(points, point_labels, boxes)
        if multimask_output is None:
            multimask_output = box_xy is None and pts is not None and pts.shape[2] == 1
        n = (pts if pts is not None else box_xy).shape[1]
        all_logits, all_scores = [], []
        with torch.inference_mode(), accel.autocast(self.device, self.precision):
            for start in range(0, n, self.points_per_batch):
                stop = start + self.points_per_batch
                logits, scores = self._decode(
                    None if pts is None else pts[:, start:stop],
                    None if labels is None else labels[:, start:stop],
                    None if box_xy is None else box_xy[:, start:stop],
                    multimask_output,
                )
                all_logits.append(logits)
                all_scores.append(scores)
            logits = torch.cat(all_logits)
            masks = self._upsample_to_host(logits, self._image_size)
        return masks, torch.cat(all_scores).clamp(0, 1).cpu().numpy()

    def _prompt_tensors(
        self, points: Any, point_labels: Any, boxes: Any
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        pts = labels = box_xy = None
        if points is not None:
            arr = np.asarray(points, dtype=np.float32)
            if arr.ndim == 2 and arr.shape[-1] == 2:
                arr = arr[:, None, :]
            if arr.ndim != 3 or arr.shape[-1] != 2 or arr.shape[0] == 0:
                raise SamDetectError(
                    f"points must be (N, 2) or (N, K, 2) xy pixels, got {arr.shape}"
                )
            if not np.isfinite(arr).all():
                raise SamDetectError("points contain NaN or infinite values")
            if point_labels is None:
                lab = np.ones(arr.shape[:2], dtype=np.int64)
            else:
                lab = np.asarray(point_labels, dtype=np.int64).reshape(arr.shape[:2])
            pts = self._to_model_xy(arr)[None]
            labels = torch.from_numpy(lab).to(self.device)[None]
        if boxes is not None:
            arr = np.asarray(boxes, dtype=np.float32)
            if arr.ndim == 1 and arr.shape[0] == 4:
                arr = arr[None]
            if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] == 0:
                raise SamDetectError(
                    f"boxes must be (N, 4) x0, y0, x1, y1 pixels, got {arr.shape}"
                )
            if not np.isfinite(arr).all():
                raise SamDetectError("boxes contain NaN or infinite values")
            box_xy = self._to_model_xy(arr.reshape(-1, 2, 2)).reshape(1, -1, 4)
        if pts is None and box_xy is None:
            raise SamDetectError("give point and/or box prompts")
        if pts is not None and box_xy is not None and pts.shape[1] != box_xy.shape[1]:
            raise SamDetectError(
                f"{pts.shape[1]} point prompts but {box_xy.shape[1]} boxes: "
                "give one box per prompt"
            )
        return pts, labels, box_xy

    def _upsample(self, logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Return boolean masks (N, H, W) on the model's device from low-res logits (N, h, w).

        Bilinear, as SAM2's own post-processing; SAM2 squashes the image to a square without
        padding, so the low-res grid maps straight onto the full frame.
        """
        full = F.interpolate(
            logits[:, None].float(), size=size, mode="bilinear", align_corners=False
        )
        return full[:, 0] > self.mask_threshold

    def _upsample_to_host(self, logits: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        out = np.zeros((logits.shape[0], *size), dtype=bool)
        for start in range(0, logits.shape[0], UPSAMPLE_CHUNK):
            chunk = logits[start:start + UPSAMPLE_CHUNK]
            out[start:start + UPSAMPLE_CHUNK] = self._upsample(chunk, size).cpu().numpy()
        return out

    # -- segment everything ----------------------------------------------------------------

    def _grid(self) -> torch.Tensor:
        """Return the (1, n*n, 1, 2) point grid in model-input pixels (cell centres)."""
        n = self.points_per_side
        if n not in self._grid_cache:
            centres = (torch.arange(n, dtype=torch.float32) + 0.5) * (self.input_size / n)
            ys, xs = torch.meshgrid(centres, centres, indexing="ij")
            grid = torch.stack([xs.flatten(), ys.flatten()], dim=1)
            self._grid_cache[n] = grid.view(1, -1, 1, 2).to(self.device)
        return self._grid_cache[n]

    def generate_candidates(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode the grid (or the seeded boxes) on the set image; return filtered candidates.

        Returns:
            Low-resolution mask logits ``(N, h, w)`` and predicted IoUs ``(N,)`` of the masks
            that pass ``pred_iou_thresh`` and ``stability_thresh``, on the model's device.
        """
        if self._features is None:
            raise SamDetectError("no image set: call set_image(image) first")
        seeds, self._seed_boxes = self._seed_boxes, None
        if seeds is not None and len(seeds):
            prompts = self._to_model_xy(seeds.reshape(-1, 2, 2)).reshape(1, -1, 4)
            multimask = False
        else:
            prompts, multimask = self._grid(), True
        n = prompts.shape[1]
        kept_logits, kept_scores = [], []
        with torch.inference_mode(), accel.autocast(self.device, self.precision):
            for start in range(0, n, self.points_per_batch):
                chunk = prompts[:, start:start + self.points_per_batch]
                if multimask and self.masks_per_point == 3:
                    # Meta's generator: every one of a point's masks (part, subpart, whole) is a
                    # candidate, so nested objects survive when the whole scores best.
                    labels = torch.ones(chunk.shape[:3], dtype=torch.int64, device=self.device)
                    logits, scores = self._decode_all(chunk, labels, None, True)
                    logits, scores = logits.flatten(0, 1), scores.flatten()
                elif multimask:
                    labels = torch.ones(chunk.shape[:3], dtype=torch.int64, device=self.device)
                    logits, scores = self._decode(chunk, labels, None, True)
                else:
                    logits, scores = self._decode(None, None, chunk, False)
                keep = scores >= self.pred_iou_thresh
                if self.stability_thresh > 0:
                    stable = torch.zeros_like(scores)
                    stable[keep] = self._stability(logits[keep])
                    keep &= stable >= self.stability_thresh
                kept_logits.append(logits[keep])
                kept_scores.append(scores[keep])
        return torch.cat(kept_logits), torch.cat(kept_scores)

    def _stability(self, logits: torch.Tensor) -> torch.Tensor:
        """Return the stability score of each low-res mask (N,), where ``stability_at`` says.

        ``"low_res"`` scores the decoder's 256x256 logits (cheap); ``"full"`` scores them after
        bilinear upsampling to the frame, as Meta's automatic mask generator does. Upsampling
        smooths the logits between grid cells, so the two differ on thin or ragged masks.
        """
        if self.stability_at == "low_res" or self._image_size is None:
            return stability_score(logits, self.mask_threshold)
        scores = [
            stability_score(
                F.interpolate(chunk[:, None].float(), size=self._image_size, mode="bilinear",
                              align_corners=False)[:, 0],
                self.mask_threshold)
            for chunk in logits.split(UPSAMPLE_CHUNK)
        ]
        return torch.cat(scores) if scores else logits.new_zeros(0)

    def select(self, logits: torch.Tensor, scores: torch.Tensor) -> list[Segment]:
        """Turn candidates into final segments: NMS, area filter, full-frame masks, best first."""
        assert self._image_size is not None
        height, width = self._image_size
        masks = logits > self.mask_threshold
        low_h, low_w = masks.shape[-2:]
        # area at input resolution, estimated at low resolution; the exact area is checked below
        approx_area = masks.flatten(1).sum(dim=1).float() * (height * width) / (low_h * low_w)
        plausible = approx_area >= 0.5 * self.min_area
        plausible &= approx_area > 0
        logits, scores, masks = logits[plausible], scores[plausible], masks[plausible]
        keep = mask_nms(masks, scores, self.nms_iou_thresh)
        segments: list[Segment] = []
        limit = self.max_instances if self.max_instances is not None else math.inf
        chunk = int(min(max(limit, 1), UPSAMPLE_CHUNK))  # usually one pass for all survivors
        for start in range(0, keep.numel(), chunk):
            if len(segments) >= limit:
                break
            idx = keep[start:start + chunk]
            full = self._upsample(logits[idx], (height, width))
            # areas and boxes on the device: only the surviving masks cross to the host
            large = full.flatten(1).sum(dim=1) >= max(1, self.min_area)
            full, idx = full[large], idx[large]
            if idx.numel() == 0:
                continue
            boxes = masks_to_boxes(full).cpu().tolist()
            chunk_scores = scores[idx].clamp(0, 1).cpu().tolist()
            host = full.cpu().numpy()
            for mask, score, box in zip(host, chunk_scores, boxes):
                segments.append(Segment(mask=mask, score=float(score), bbox=tuple(box)))
        return segments[:self.max_instances]

    def segment(self, image: Any) -> list[Segment]:
        """Return every object in ``image`` (RGB ``uint8`` ``(H, W, 3)``), best score first."""
        self.set_image(image)
        logits, scores = self.generate_candidates()
        return self.select(logits, scores)

    def seed_from_previous(self, previous: Sequence[Any] | None) -> None:
        """Prompt the next :meth:`segment` call with these objects' boxes instead of the grid.

        For video: pass the previous frame's segments (or boolean masks); the next frame is
        decoded from one box prompt per object, which is cheaper than the full grid and keeps the
        objects' order stable. An empty or None ``previous`` falls back to the grid (use it to
        rediscover objects every few frames).
        """
        boxes = []
        for item in previous or []:
            box = getattr(item, "bbox", None)
            if box is None:
                mask = torch.from_numpy(np.asarray(item, dtype=bool))[None]
                box = masks_to_boxes(mask)[0].tolist()
            if box[2] > box[0] and box[3] > box[1]:
                boxes.append(box)
        self._seed_boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4) if boxes else None

    # -- prompts ---------------------------------------------------------------------------

    def segment_prompts(
        self,
        image: Any,
        points: Any = None,
        point_labels: Any = None,
        boxes: Any = None,
    ) -> list[Segment]:
        """Return one segment per prompt, in prompt order (see :meth:`predict` for shapes)."""
        self.set_image(image)
        masks, scores = self.predict(points=points, point_labels=point_labels, boxes=boxes)
        return [Segment(mask=m, score=float(s)) for m, s in zip(masks, scores)]

    def __repr__(self) -> str:
        """Return the model, device and main settings."""
        return (
            f"SAM2Segmenter(model={self.model_id!r}, device={self.device!r}, "
            f"points_per_side={self.points_per_side}, precision={self.precision!r})"
        )
