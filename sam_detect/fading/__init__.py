# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Context fading strategies and the faded-crop builder.

Example:
    >>> from sam_detect.fading import create_fade
    >>> create_fade("gaussian", sigma=20)
    GaussianFade(sigma=20.0, min_fade=0.05)
"""

from __future__ import annotations

from typing import Any

from sam_detect.errors import SamDetectError
from sam_detect.fading.base import FadeStrategy, fade_reach, make_faded_crop
from sam_detect.fading.exponential import ExponentialFade
from sam_detect.fading.gaussian import GaussianFade
from sam_detect.fading.hard_crop import HardCropFade
from sam_detect.fading.identity import IdentityFade
from sam_detect.fading.linear import LinearFade

FADES: dict[str, type] = {
    "identity": IdentityFade,
    "hard_crop": HardCropFade,
    "gaussian": GaussianFade,
    "linear": LinearFade,
    "exponential": ExponentialFade,
}

# The parameters each strategy takes; other keys passed to create_fade are ignored, so one set of
# CLI flags / ROS parameters can configure any of them.
FADE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "identity": ("context",),
    "hard_crop": ("min_fade",),
    "gaussian": ("sigma", "min_fade"),
    "linear": ("max_distance", "min_fade"),
    "exponential": ("decay", "max_distance", "min_fade"),
}


def create_fade(kind: str, **params: Any) -> FadeStrategy:
    """Build a fade strategy by name from the parameters that apply to it.

    Args:
        kind: One of ``identity``, ``hard_crop``, ``gaussian``, ``linear``, ``exponential``.
        **params: Any of ``sigma``, ``min_fade``, ``max_distance``, ``decay``, ``context``;
            ``None`` values and parameters the strategy does not take are ignored.

    Raises:
        SamDetectError: for an unknown kind or an invalid value.
    """
    if kind not in FADES:
        raise SamDetectError(f"unknown fade '{kind}'; choose one of {', '.join(FADES)}")
    used = {k: float(v) for k, v in params.items() if k in FADE_PARAMETERS[kind] and v is not None}
    try:
        return FADES[kind](**used)
    except ValueError as error:
        raise SamDetectError(f"invalid {kind} fade: {error}") from None


def describe_fade(strategy: Any) -> dict[str, Any]:
    """Return a JSON-ready description of a strategy (its kind and parameters)."""
    for kind, cls in FADES.items():
        if type(strategy) is cls:
            return {"kind": kind, **{p: getattr(strategy, p) for p in FADE_PARAMETERS[kind]}}
    return {"kind": type(strategy).__name__, "reach": fade_reach(strategy)}


__all__ = [
    "FADES",
    "ExponentialFade",
    "FadeStrategy",
    "GaussianFade",
    "HardCropFade",
    "IdentityFade",
    "LinearFade",
    "create_fade",
    "describe_fade",
    "fade_reach",
    "make_faded_crop",
]
