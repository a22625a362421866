# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Linear context fade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sam_detect.fading.base import check_fade_parameters, fade_by_distance


@dataclass(frozen=True)
class LinearFade:
    """Fade context by ``max(min_fade, 1 - d / max_distance)``: simple and predictable.

    Args:
        max_distance: Distance in pixels at which the weight reaches its floor.
        min_fade: Floor of the weight.

    Example:
        >>> import numpy as np
        >>> d = np.array([[0.0, 50.0, 200.0]], np.float32)
        >>> LinearFade(max_distance=100, min_fade=0.05).weights(d).tolist()
        [[1.0, 0.5, 0.05000000074505806]]
    """

    max_distance: float = 100.0
    min_fade: float = 0.05

    def __post_init__(self) -> None:
        check_fade_parameters(max_distance=self.max_distance, min_fade=self.min_fade)

    @property
    def reach(self) -> float:
        """Distance at which the weight reaches ``min_fade``."""
        return self.max_distance * (1.0 - self.min_fade)

    def weights(self, distance_map: np.ndarray) -> np.ndarray:
        """Return the per-pixel weight in ``[min_fade, 1]`` for a distance map."""
        weights = 1.0 - distance_map * np.float32(1.0 / self.max_distance)
        return np.maximum(weights, np.float32(self.min_fade), out=weights)

    def apply(self, image: np.ndarray, mask: np.ndarray, distance_map: np.ndarray) -> np.ndarray:
        """Return ``image`` weighted by a linear ramp of the distance to the mask."""
        return fade_by_distance(self, image, distance_map)
