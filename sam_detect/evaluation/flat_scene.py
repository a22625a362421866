# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Issue 8's open-set scene: a red box, a blue disc and a green triangle, flat on a floor.

Plain-coloured flat objects are the hard case for one taught label: under EfficientNet a red box
is about as similar to a green triangle (0.55) as to nothing at all, above the old fixed
threshold of 0.4. Each object drifts on a small circle from frame to frame, like a handheld
camera. Used by the tests that teach one of the three objects through the library, the CLI and
the node.

Example:
    >>> frame(0).shape, int(object_mask(RED_BOX, 0).sum()) > 0
    ((240, 320, 3), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FRAME_SIZE = (240, 320)  # (height, width)


@dataclass(frozen=True)
class FlatObject:
    """One flat object: its name, shape (box, disc, triangle), RGB colour, centre and radius."""

    name: str
    shape: str
    colour: tuple[int, int, int]
    centre: tuple[int, int]
    radius: int


RED_BOX = FlatObject("red box", "box", (205, 40, 35), (70, 80), 34)
BLUE_DISC = FlatObject("blue disc", "disc", (40, 70, 205), (230, 75), 30)
GREEN_TRIANGLE = FlatObject("green triangle", "triangle", (40, 170, 60), (160, 175), 34)
OBJECTS = (RED_BOX, BLUE_DISC, GREEN_TRIANGLE)


def centre_at(obj: FlatObject, index: int) -> tuple[int, int]:
    """Return ``obj``'s centre (x, y) in frame ``index``."""
    phase = 0.35 * index + obj.centre[0] * 0.01
    return (int(round(obj.centre[0] + 6 * np.cos(phase))),
            int(round(obj.centre[1] + 4 * np.sin(phase))))


def object_mask(obj: FlatObject, index: int) -> np.ndarray:
    """Return ``obj``'s boolean mask in frame ``index``."""
    x, y = centre_at(obj, index)
    r = obj.radius
    mask = np.zeros(FRAME_SIZE, np.uint8)
    if obj.shape == "box":
        cv2.rectangle(mask, (x - r, y - r), (x + r, y + r), 1, -1)
    elif obj.shape == "disc":
        cv2.circle(mask, (x, y), r, 1, -1)
    else:
        cv2.fillPoly(mask, [np.array([(x, y - r), (x - r, y + r), (x + r, y + r)], np.int32)], 1)
    return mask.astype(bool)


def frame(index: int) -> np.ndarray:
    """Return frame ``index``: the three objects on a grey-green gravel floor (RGB uint8)."""
    rng = np.random.default_rng(index)
    height, width = FRAME_SIZE
    coarse = cv2.resize(rng.normal(0.0, 1.0, (height // 4 + 1, width // 4 + 1)).astype(
        np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    light = 105.0 + 14.0 * coarse + 7.0 * rng.normal(0.0, 1.0, FRAME_SIZE).astype(np.float32)
    image = np.clip(np.stack([light * 0.92, light * 1.05, light * 0.85], axis=2), 0,
                    255).astype(np.uint8)
    for obj in OBJECTS:
        image[object_mask(obj, index)] = obj.colour
    return image
