# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Random-weight SAM2 and CLIP models of the real architectures, for tests, CI and benchmarks.

No weights can be downloaded in CI, yet the loaders, the pre/post-processing and the speed of the
real networks should still be exercised. This module builds transformers configs of

* the released sizes (``sam2_config("tiny")`` matches ``facebook/sam2.1-hiera-tiny`` layer for
  layer, ``clip_vision_config()`` matches ``openai/clip-vit-base-patch32``), for benchmarks whose
  timings depend only on the architecture, and
* miniature versions (``sam2_config("mini")``, ``clip_config(mini=True)``) that run in
  milliseconds on one CPU thread, for tests.

:func:`save_random_sam2` and :func:`save_random_clip` write them with ``save_pretrained`` so the
real loaders (``SAM2Segmenter.from_pretrained(folder)``, ``CLIPEmbedder(folder)``) can be tested.
Random weights give meaningless masks and embeddings: test contracts and shapes, not quality.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Hiera trunks of the released SAM2.1 checkpoints (sam2/configs/sam2.1/*.yaml), as transformers
# Sam2HieraDetConfig fields. The neck, prompt encoder and mask decoder are the same for all sizes.
HIERA = {
    "tiny": {
        "hidden_size": 96,
        "num_attention_heads": 1,
        "blocks_per_stage": [1, 2, 7, 2],
        "embed_dim_per_stage": [96, 192, 384, 768],
        "num_attention_heads_per_stage": [1, 2, 4, 8],
        "window_size_per_stage": [8, 4, 14, 7],
        "global_attention_blocks": [5, 7, 9],
        "window_positional_embedding_background_size": [7, 7],
    },
    "small": {
        "hidden_size": 96,
        "num_attention_heads": 1,
        "blocks_per_stage": [1, 2, 11, 2],
        "embed_dim_per_stage": [96, 192, 384, 768],
        "num_attention_heads_per_stage": [1, 2, 4, 8],
        "window_size_per_stage": [8, 4, 14, 7],
        "global_attention_blocks": [7, 10, 13],
        "window_positional_embedding_background_size": [7, 7],
    },
    # A miniature of the same design: 4 stages, a global-attention block that is not the first
    # block of its stage (transformers requires that), 256x256 input.
    "mini": {
        "hidden_size": 16,
        "num_attention_heads": 1,
        "blocks_per_stage": [1, 1, 2, 1],
        "embed_dim_per_stage": [16, 32, 64, 128],
        "num_attention_heads_per_stage": [1, 1, 2, 2],
        "window_size_per_stage": [8, 4, 8, 4],
        "global_attention_blocks": [3],
        "window_positional_embedding_background_size": [4, 4],
    },
}


def sam2_config(size: str = "tiny") -> Any:
    """Return a ``transformers.Sam2Config`` for ``"tiny"``, ``"small"`` (released) or ``"mini"``.

    Example:
        >>> sam2_config("mini").prompt_encoder_config.image_size
        256
    """
    from transformers import Sam2Config

    trunk = dict(HIERA[size])
    mini = size == "mini"
    image_size = 256 if mini else 1024
    dims = trunk["embed_dim_per_stage"]
    trunk.update(model_type="sam2_hiera_det_model", image_size=[image_size, image_size])
    fpn = 32 if mini else 256
    return Sam2Config(
        vision_config={
            "backbone_config": trunk,
            "backbone_channel_list": list(reversed(dims)),
            "backbone_feature_sizes": [[image_size // s] * 2 for s in (4, 8, 16)],
            "fpn_hidden_size": fpn,
        },
        prompt_encoder_config={
            "hidden_size": fpn,
            "image_size": image_size,
            "patch_size": 16,
            "mask_input_channels": 4 if mini else 16,
        },
        mask_decoder_config={
            "hidden_size": fpn,
            "mlp_dim": 64 if mini else 2048,
            "num_attention_heads": 2 if mini else 8,
            "iou_head_hidden_dim": fpn,
        },
    )


def clip_vision_config(mini: bool = False) -> Any:
    """Return a ``CLIPVisionConfig``: ViT-B/32 (as ``openai/clip-vit-base-patch32``) or a mini."""
    from transformers import CLIPVisionConfig

    if mini:
        return CLIPVisionConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            image_size=32, patch_size=8, projection_dim=16,
        )
    return CLIPVisionConfig(
        hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        image_size=224, patch_size=32, projection_dim=512,
    )


def clip_config(mini: bool = True) -> Any:
    """Return a full ``CLIPConfig`` (text + vision) laid out like the hub checkpoints."""
    from transformers import CLIPConfig

    vision = clip_vision_config(mini).to_dict()
    text = {
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
        "num_attention_heads": 2, "vocab_size": 64, "max_position_embeddings": 16,
        "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1,
        "projection_dim": vision["projection_dim"],
    }
    return CLIPConfig(
        text_config=text, vision_config=vision, projection_dim=vision["projection_dim"]
    )


def random_sam2(size: str = "mini", seed: int = 0, confident: bool = False) -> Any:
    """Return a ``Sam2Model`` of ``size`` with seeded random weights, in eval mode.

    Args:
        size: ``"tiny"``, ``"small"`` or ``"mini"`` (see :func:`sam2_config`).
        seed: Torch seed for the initialisation.
        confident: Make the random masks pass the default quality filters: the IoU head
            predicts ~0.98 and the mask logits are scaled far from 0 (stable). Without this a
            freshly initialised decoder predicts IoU 0.5 and near-zero logits, and
            segment-everything with default thresholds returns nothing.
    """
    import torch
    from transformers import Sam2Model

    torch.manual_seed(seed)
    model = Sam2Model(sam2_config(size)).eval()
    if confident:
        decoder = model.mask_decoder
        with torch.no_grad():
            decoder.iou_prediction_head.proj_out.bias.fill_(4.0)
            for mlp in decoder.output_hypernetworks_mlps:
                mlp.proj_out.weight.mul_(1e6)
    return model


def save_random_sam2(
    folder: str | os.PathLike, size: str = "mini", seed: int = 0, confident: bool = False
) -> Path:
    """Write a random ``Sam2Model`` (see :func:`random_sam2`) with ``save_pretrained``."""
    from sam_detect.models.hub import quiet_transformers

    with quiet_transformers():
        random_sam2(size, seed, confident).save_pretrained(os.fspath(folder))
    return Path(folder)


def save_random_clip(
    folder: str | os.PathLike, mini: bool = True, seed: int = 0, vision_only: bool = False
) -> Path:
    """Write a random CLIP with ``save_pretrained`` (full model, or only the vision tower)."""
    import torch
    from transformers import CLIPModel, CLIPVisionModelWithProjection

    from sam_detect.models.hub import quiet_transformers

    torch.manual_seed(seed)
    if vision_only:
        model = CLIPVisionModelWithProjection(clip_vision_config(mini))
    else:
        model = CLIPModel(clip_config(mini))
    with quiet_transformers():
        model.save_pretrained(os.fspath(folder))
    return Path(folder)
