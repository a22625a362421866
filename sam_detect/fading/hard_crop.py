# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Hard mask crop: everything outside the mask is blacked out (or dimmed to ``min_fade``)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sam_detect.fading.base import check_fade_parameters


@dataclass(frozen=True)
class HardCropFade:
    """Keep the mask's pixels and replace the rest by ``min_fade`` of their brightness.

    The classic "cut out the object" baseline the Gaussian fade is compared with.

    Args:
        min_fade: Weight of every pixel outside the mask (0 blacks it out).

    Example:
        >>> import numpy as np
        >>> img = np.full((1, 2, 3), 100, np.uint8)
        >>> mask = np.array([[True, False]])
        >>> HardCropFade().apply(img, mask, np.float32(~mask))[0, :, 0].tolist()
        [100, 0]
    """

    min_fade: float = 0.0

    def __post_init__(self) -> None:
        check_fade_parameters(min_fade=self.min_fade)

    # A thin margin, so the object's outline against black is always inside the crop, even for a
    # mask that fills its box (embedders compare outlines too).
    reach = 4.0

    def apply(self, image: np.ndarray, mask: np.ndarray, distance_map: np.ndarray) -> np.ndarray:
        """Return ``image`` with the pixels outside ``mask`` dimmed to ``min_fade``."""
        if self.min_fade == 0.0:
            return cv2.copyTo(image, mask.view(np.uint8), np.zeros_like(image))
        weights = np.where(mask, np.uint8(255), np.uint8(round(self.min_fade * 255)))
        return cv2.multiply(image, cv2.cvtColor(weights, cv2.COLOR_GRAY2RGB), scale=1.0 / 255.0)
