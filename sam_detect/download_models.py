# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Download the SAM2 and CLIP weights once, check that they load, and say where they are.

Usage::

    python -m sam_detect.download_models                       # SAM2.1 base-plus + CLIP ViT-B/32
    python -m sam_detect.download_models --sam-model tiny
    python -m sam_detect.download_models --clip-model openai/clip-vit-large-patch14 --skip-sam
    python -m sam_detect.download_models --cache-dir /data/hf   # then use HF_HUB_CACHE=/data/hf

Files go into the standard Hugging Face cache (``HF_HUB_CACHE``, default
``~/.cache/huggingface/hub``) through ``huggingface_hub.snapshot_download``, which resumes
interrupted downloads and shows a tqdm progress bar. Afterwards the models load offline
(``HF_HUB_OFFLINE=1`` works). Exit status: 0 on success, 2 with a one-line error otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from sam_detect.errors import SamDetectError
from sam_detect.models import hub


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    from sam_detect.embedding.clip import DEFAULT_CLIP_MODEL
    from sam_detect.segmentation.sam2 import DEFAULT_SAM_MODEL, SAM2_MODELS

    parser = argparse.ArgumentParser(
        prog="python -m sam_detect.download_models",
        description="Download and cache the SAM2 and CLIP models used by sam-detect.",
    )
    parser.add_argument(
        "--sam-model",
        default=DEFAULT_SAM_MODEL,
        help=f"SAM2 size ({', '.join(sorted(SAM2_MODELS))}) or hub id (default: %(default)s)",
    )
    parser.add_argument(
        "--clip-model", default=DEFAULT_CLIP_MODEL, help="CLIP hub id (default: %(default)s)"
    )
    parser.add_argument("--cache-dir", default=None, help="Hugging Face cache folder to fill")
    parser.add_argument("--skip-sam", action="store_true", help="do not download SAM2")
    parser.add_argument("--skip-clip", action="store_true", help="do not download CLIP")
    parser.add_argument(
        "--no-verify", action="store_true", help="download only; do not build the models"
    )
    return parser


def fetch(model: str, kind: str, hint: str, cache_dir: str | None) -> str:
    """Return the local folder of ``model``, downloading it when it is a hub id not yet cached."""
    if hub.looks_like_path(model):
        return str(hub.resolve_model(model, kind=kind, hint=hint))
    try:
        return str(hub.download_snapshot(model, cache_dir=cache_dir))
    except Exception as error:  # noqa: BLE001 - network, auth, unknown repo: one clear line
        raise hub.ModelNotFoundError(
            f"cannot download {kind} model '{model}' ({hub.one_line(error)}): check the id and "
            f"that huggingface.co is reachable (HF_HUB_OFFLINE must be unset)"
        ) from error


def main(argv: Sequence[str] | None = None) -> int:
    """Run the downloader; return the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        if not args.skip_sam:
            from sam_detect.segmentation.sam2 import (
                SAM2Segmenter, sam2_download_hint, sam2_model_id,
            )

            model_id = sam2_model_id(args.sam_model)
            folder = fetch(model_id, "SAM2", sam2_download_hint(args.sam_model), args.cache_dir)
            if not args.no_verify:
                SAM2Segmenter(folder, device="cpu")
            print(f"sam2 {model_id}: {folder}")
        if not args.skip_clip:
            from sam_detect.embedding.clip import CLIPEmbedder, clip_download_hint

            hint = clip_download_hint(args.clip_model)
            folder = fetch(args.clip_model, "CLIP", hint, args.cache_dir)
            if not args.no_verify:
                embedder = CLIPEmbedder(folder, device="cpu")
                print(f"clip {args.clip_model}: {folder} ({embedder.dim}-d)")
            else:
                print(f"clip {args.clip_model}: {folder}")
    except SamDetectError as error:
        print(f"download_models: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
