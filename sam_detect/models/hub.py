# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Find, download and load pretrained models: a Hugging Face hub id or a local directory.

Every model argument in sam_detect (``--sam-model``, ``--clip-model``, ``model_name=``) is either a
local directory holding a transformers ``config.json`` plus weights, or a hub id such as
``facebook/sam2.1-hiera-tiny``. Hub ids are looked up in the standard Hugging Face cache first
(no network); when absent they are downloaded with ``huggingface_hub.snapshot_download`` unless
``HF_HUB_OFFLINE=1`` is set. Whatever goes wrong (not cached while offline, no network, unknown
repository, a directory of the wrong model type, corrupt weights) ends as one
:class:`ModelNotFoundError` or :class:`ModelLoadError` whose one-line message names the fix,
usually ``python -m sam_detect.download_models ...``, never a transformers traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

from sam_detect.errors import SamDetectError

# Only what transformers needs to build the model: configs, tokenizer text files and the
# safetensors weights (SAM2 repos also ship the original .pt checkpoint, which would double the
# download). Repos without safetensors fall back to pytorch_model*.bin.
MODEL_FILE_PATTERNS = ["*.json", "*.txt", "*.safetensors"]
FALLBACK_WEIGHT_PATTERNS = ["pytorch_model*.bin"]


class ModelNotFoundError(SamDetectError):
    """A model is neither a local folder nor in the Hugging Face cache, and cannot be fetched."""


class ModelLoadError(SamDetectError):
    """A model directory exists but does not hold the expected, loadable model."""


def hub_offline() -> bool:
    """Return True when ``HF_HUB_OFFLINE`` forbids network access to the hub."""
    value = os.environ.get("HF_HUB_OFFLINE", "")
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return False
    return bool(constants.HF_HUB_OFFLINE)


def looks_like_path(model: str | os.PathLike) -> bool:
    """Return True when ``model`` names a filesystem path rather than a hub id.

    A hub id is ``name`` or ``owner/name``; anything that exists on disk, starts with ``/``,
    ``.`` or ``~``, or has more than one ``/`` is a path.

    Example:
        >>> looks_like_path("openai/clip-vit-base-patch32"), looks_like_path("./models/clip")
        (False, True)
    """
    text = os.fspath(model)
    if Path(text).expanduser().exists():
        return True
    return text.startswith(("/", ".", "~")) or text.count("/") > 1 or "\\" in text


def has_weights(directory: str | os.PathLike) -> bool:
    """Return True when ``directory`` holds ``config.json`` and safetensors or .bin weights."""
    path = Path(directory)
    if not (path / "config.json").is_file():
        return False
    return any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin"))


def read_model_type(directory: str | os.PathLike) -> str | None:
    """Return the ``model_type`` recorded in ``directory/config.json`` (None when unreadable)."""
    try:
        with open(Path(directory) / "config.json", encoding="utf-8") as handle:
            value = json.load(handle).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def download_snapshot(
    repo_id: str,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
) -> Path:
    """Download (or find in the cache) the files needed to load ``repo_id``; return the folder.

    Uses ``huggingface_hub.snapshot_download`` (resumable, with a tqdm progress bar) into the
    standard cache, or ``cache_dir``. Raises whatever ``huggingface_hub`` raises; callers turn that
    into :class:`ModelNotFoundError`.
    """
    import huggingface_hub

    kwargs: dict[str, Any] = {"cache_dir": cache_dir, "local_files_only": local_files_only}
    folder = huggingface_hub.snapshot_download(
        repo_id, allow_patterns=MODEL_FILE_PATTERNS, **kwargs
    )
    if not has_weights(folder):
        folder = huggingface_hub.snapshot_download(
            repo_id, allow_patterns=MODEL_FILE_PATTERNS + FALLBACK_WEIGHT_PATTERNS, **kwargs
        )
    if not has_weights(folder):
        raise FileNotFoundError(f"{repo_id} has no config.json with safetensors or .bin weights")
    return Path(folder)


def one_line(error: BaseException) -> str:
    """Return the first line of an error message, at most 160 characters."""
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def resolve_model(
    model: str | os.PathLike,
    *,
    kind: str,
    hint: str,
    cache_dir: str | os.PathLike | None = None,
    allow_download: bool = True,
) -> Path:
    """Return the local directory that holds ``model`` (a hub id or a directory).

    Args:
        model: Hub id (``owner/name``) or local directory.
        kind: What the model is for, used in messages (e.g. ``"SAM2"``).
        hint: The command that downloads it (e.g.
            ``"python -m sam_detect.download_models --sam-model tiny"``).
        cache_dir: Hugging Face cache to use instead of the default one.
        allow_download: Fetch a hub id missing from the cache (ignored when ``HF_HUB_OFFLINE=1``).

    Raises:
        ModelNotFoundError: The directory does not exist or holds no model, or the hub id is not
            cached and cannot be downloaded.
    """
    text = os.fspath(model)
    if not text.strip():
        raise ModelNotFoundError(f"no {kind} model given: pass a hub id or a local directory")
    if looks_like_path(text):
        path = Path(text).expanduser()
        if not path.is_dir():
            raise ModelNotFoundError(
                f"{kind} model directory {path} does not exist: run {hint} or pass a hub id"
            )
        if not has_weights(path):
            raise ModelNotFoundError(
                f"{path} holds no {kind} model (needs config.json and *.safetensors or "
                f"pytorch_model.bin): run {hint}"
            )
        return path
    try:
        return download_snapshot(text, cache_dir=cache_dir, local_files_only=True)
    except Exception as cached_error:  # noqa: BLE001 - any cache miss means "try the network"
        miss = cached_error
    if hub_offline() or not allow_download:
        raise ModelNotFoundError(
            f"{kind} model '{text}' is not in the Hugging Face cache and downloads are off "
            f"(HF_HUB_OFFLINE): run {hint} on a machine with network access"
        ) from miss
    try:
        return download_snapshot(text, cache_dir=cache_dir)
    except Exception as error:  # noqa: BLE001 - network, auth, unknown repo: all one message
        raise ModelNotFoundError(
            f"{kind} model '{text}' is not cached and could not be downloaded "
            f"({one_line(error)}): run {hint} where huggingface.co is reachable, "
            f"or pass a local directory"
        ) from error


def weights_cached(model: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> bool:
    """Return True when ``model`` can be loaded without network access.

    True for a local model directory, or a hub id whose config and weights are in the local
    Hugging Face cache. Never touches the network.

    Example:
        >>> weights_cached("/nonexistent/model")
        False
    """
    text = os.fspath(model)
    if looks_like_path(text):
        return has_weights(Path(text).expanduser())
    try:
        download_snapshot(text, cache_dir=cache_dir, local_files_only=True)
    except Exception:  # noqa: BLE001 - any failure means "not usable offline"
        return False
    return True


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars while a model loads."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def load_pretrained(
    model_class: Any,
    directory: str | os.PathLike,
    *,
    kind: str,
    hint: str,
    model_types: tuple[str, ...],
    **kwargs: Any,
) -> Any:
    """Build ``model_class`` from ``directory`` in eval mode, or raise :class:`ModelLoadError`.

    Args:
        model_class: A transformers model class, e.g. ``Sam2Model``.
        directory: A folder from :func:`resolve_model`.
        kind: What the model is for, used in messages.
        hint: The command that downloads a working copy.
        model_types: Accepted ``config.json`` ``model_type`` values; another type (a CLIP folder
            given as the SAM2 model, say) is refused before transformers sees it.
        **kwargs: Passed to ``from_pretrained``.
    """
    model_type = read_model_type(directory)
    if model_type not in model_types:
        raise ModelLoadError(
            f"{directory} holds a '{model_type}' model, not {kind} "
            f"(expected model_type {' or '.join(model_types)}): run {hint}"
        )
    try:
        with quiet_transformers():
            model = model_class.from_pretrained(os.fspath(directory), **kwargs)
    except SamDetectError:
        raise
    except Exception as error:  # noqa: BLE001 - corrupt or mismatched weights: one clear message
        raise ModelLoadError(
            f"cannot load {kind} model from {directory} ({one_line(error)}): "
            f"re-download it with {hint}"
        ) from error
    return model.eval()
