# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""No fading: the crop keeps its context as it is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IdentityFade:
    """Return the crop unchanged: the mask's box plus ``context`` pixels on each side.

    Args:
        context: Pixels of unfaded context kept around the mask's box.

    Example:
        >>> import numpy as np
        >>> img = np.full((2, 2, 3), 7, np.uint8)
        >>> mask = img[:, :, 0] > 0
        >>> IdentityFade().apply(img, mask, np.zeros((2, 2), np.float32))[0, 0].tolist()
        [7, 7, 7]
    """

    context: float = 16.0

    def __post_init__(self) -> None:
        if not self.context >= 0:
            raise ValueError(f"context must be >= 0 pixels, got {self.context}")

    @property
    def reach(self) -> float:
        """Pixels of context around the box."""
        return self.context

    def apply(self, image: np.ndarray, mask: np.ndarray, distance_map: np.ndarray) -> np.ndarray:
        """Return ``image`` as it is."""
        return image
