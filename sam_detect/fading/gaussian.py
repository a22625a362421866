# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Gaussian context fade: the default strategy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sam_detect.fading.base import check_fade_parameters, fade_by_distance


@dataclass(frozen=True)
class GaussianFade:
    """Fade context by ``max(min_fade, exp(-(d / sigma) ** 2))``, ``d`` the distance to the mask.

    The object stays untouched (``d = 0``), nearby context stays visible, distant clutter fades to
    ``min_fade`` of its brightness.

    Args:
        sigma: Width of the fade in pixels (10 sharp focus, 30 balanced, 50+ wide context).
        min_fade: Floor of the weight, so far context is dimmed rather than black.

    Example:
        >>> import numpy as np
        >>> fade = GaussianFade(sigma=10, min_fade=0.05)
        >>> img = np.full((1, 3, 3), 100, np.uint8)
        >>> d = np.array([[0.0, 10.0, 100.0]], np.float32)
        >>> fade.apply(img, d == 0, d)[0, :, 0].tolist()
        [100, 37, 5]
    """

    sigma: float = 10.0
    min_fade: float = 0.05

    def __post_init__(self) -> None:
        check_fade_parameters(sigma=self.sigma, min_fade=self.min_fade)

    @property
    def reach(self) -> float:
        """Distance at which the weight reaches ``min_fade`` (3 sigma when there is no floor)."""
        if self.min_fade <= 0.0:
            return 3.0 * self.sigma
        return self.sigma * math.sqrt(math.log(1.0 / self.min_fade))

    def weights(self, distance_map: np.ndarray) -> np.ndarray:
        """Return the per-pixel weight in ``[min_fade, 1]`` for a distance map."""
        scaled = distance_map * np.float32(1.0 / self.sigma)
        np.square(scaled, out=scaled)
        np.negative(scaled, out=scaled)
        np.exp(scaled, out=scaled)
        return np.maximum(scaled, np.float32(self.min_fade), out=scaled)

    def apply(self, image: np.ndarray, mask: np.ndarray, distance_map: np.ndarray) -> np.ndarray:
        """Return ``image`` weighted by the Gaussian of the distance to the mask."""
        return fade_by_distance(self, image, distance_map)
