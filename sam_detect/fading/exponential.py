# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Exponential context fade: aggressive suppression close to the object."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sam_detect.fading.base import check_fade_parameters, fade_by_distance


@dataclass(frozen=True)
class ExponentialFade:
    """Fade context by ``exp(-decay * d)``, floored at ``min_fade``.

    Beyond ``max_distance`` the weight is ``min_fade``.

    Args:
        decay: Decay rate per pixel (0.05 halves the brightness every ~14 pixels).
        max_distance: Beyond this distance the weight is ``min_fade``.
        min_fade: Floor of the weight.

    Example:
        >>> import numpy as np
        >>> d = np.array([[0.0, 20.0, 300.0]], np.float32)
        >>> [round(w, 3) for w in ExponentialFade(0.05, 200, 0.05).weights(d)[0].tolist()]
        [1.0, 0.368, 0.05]
    """

    decay: float = 0.05
    max_distance: float = 200.0
    min_fade: float = 0.05

    def __post_init__(self) -> None:
        check_fade_parameters(decay=self.decay, max_distance=self.max_distance,
                              min_fade=self.min_fade)

    @property
    def reach(self) -> float:
        """Distance at which the weight reaches ``min_fade`` (never past ``max_distance``)."""
        if self.min_fade <= 0.0:
            return self.max_distance
        return min(self.max_distance, math.log(1.0 / self.min_fade) / self.decay)

    def weights(self, distance_map: np.ndarray) -> np.ndarray:
        """Return the per-pixel weight in ``[min_fade, 1]`` for a distance map."""
        weights = distance_map * np.float32(-self.decay)
        np.exp(weights, out=weights)
        weights[distance_map > self.max_distance] = self.min_fade
        return np.maximum(weights, np.float32(self.min_fade), out=weights)

    def apply(self, image: np.ndarray, mask: np.ndarray, distance_map: np.ndarray) -> np.ndarray:
        """Return ``image`` weighted by the exponential of the distance to the mask."""
        return fade_by_distance(self, image, distance_map)
