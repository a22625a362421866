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

from sam_detect.errors import OptionError, SamDetectError
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
        SamDetectError: for an unknown kind.
        OptionError: for an invalid value, naming the parameter; every given value is checked,
            not only the ones ``kind`` takes, so a bad ``sigma`` fails now rather than when
            someone switches to the gaussian fade.
    """
    if kind not in FADES:
        raise SamDetectError(f"unknown fade '{kind}'; choose one of {', '.join(FADES)}")
    for name, value in params.items():
        check_fade_parameter(name, value)
    used = {k: float(v) for k, v in params.items() if k in FADE_PARAMETERS[kind] and v is not None}
    try:
        return FADES[kind](**used)
    except ValueError as error:
        raise SamDetectError(f"invalid {kind} fade: {error}") from None


def check_fade_parameter(name: str, value: Any) -> None:
    """Raise :class:`OptionError` unless ``value`` suits every fade that takes ``name``.

    ``None`` (the fade's default) and names no fade takes pass.

    Example:
        >>> check_fade_parameter("sigma", -5)
        Traceback (most recent call last):
        sam_detect.errors.OptionError: sigma must be a positive number of pixels, got -5.0
    """
    if value is None:
        return
    for kind, names in FADE_PARAMETERS.items():
        if name not in names:
            continue
        try:
            FADES[kind](**{name: float(value)})
        except (TypeError, ValueError) as error:
            problem = str(error)
            if problem.startswith(name + " "):
                problem = problem[len(name) + 1:]
            elif not isinstance(value, (int, float)):
                problem = f"must be a number, got {value!r}"
            raise OptionError(name, problem) from None


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
    "check_fade_parameter",
    "create_fade",
    "describe_fade",
    "fade_reach",
    "make_faded_crop",
]
