# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Overlay drawing: coloured masks, outlines, labels and confidences."""

from __future__ import annotations

import zlib
from typing import Iterable

import cv2
import numpy as np

from sam_detect.results import Instance

UNKNOWN_COLOUR = (160, 160, 160)


def label_colour(label: str | None) -> tuple[int, int, int]:
    """Return a stable, saturated RGB colour for a label (grey for unknown).

    Example:
        >>> label_colour("cup") == label_colour("cup"), label_colour(None)
        (True, (160, 160, 160))
    """
    if not label:
        return UNKNOWN_COLOUR
    hue = zlib.crc32(label.encode("utf-8")) % 180
    hsv = np.array([[[hue, 220, 255]]], np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def draw_instances(image: np.ndarray, instances: Iterable[Instance],
                   alpha: float = 0.45) -> np.ndarray:
    """Return a copy of the RGB ``image`` with each instance's mask, outline and caption drawn.

    Captions read ``label 0.87`` (``? 0.00`` when unknown) above the instance's box, after
    ``#7`` when the instance is tracked (its ``track_id``).

    Example:
        >>> import numpy as np
        >>> from sam_detect.results import Instance
        >>> m = np.zeros((40, 60), bool); m[10:30, 10:30] = True
        >>> out = draw_instances(np.zeros((40, 60, 3), np.uint8), [Instance(m, (10, 10, 30, 30))])
        >>> out.shape, bool(out[20, 20].any())
        ((40, 60, 3), True)
    """
    canvas = image.copy()
    instances = list(instances)
    for instance in instances:
        colour = label_colour(instance.label)
        x0, y0, x1, y1 = instance.bbox
        region = canvas[y0:y1, x0:x1]
        mask = np.ascontiguousarray(instance.mask[y0:y1, x0:x1]).view(np.uint8)
        # OpenCV blends the box and copies it back under the mask, in place: ~0.1 ms per
        # 1080p object, where numpy's boolean indexing in float took ~4 ms.
        tinted = cv2.add(cv2.convertScaleAbs(region, alpha=1.0 - alpha),
                         tuple(c * alpha for c in colour) + (0.0,))
        cv2.copyTo(tinted, mask, region)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(region, contours, -1, colour, 2)
    scale = max(0.4, min(canvas.shape[:2]) / 900.0)
    thickness = max(1, round(scale * 2))
    for instance in instances:
        caption = f"{instance.label or '?'} {instance.confidence:.2f}"
        if getattr(instance, "track_id", 0):
            caption = f"#{instance.track_id} {caption}"
        (text_w, text_h), baseline = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale,
                                                     thickness)
        x0, y0 = instance.bbox[0], instance.bbox[1]
        top = max(0, y0 - text_h - baseline - 4)
        cv2.rectangle(canvas, (x0, top), (x0 + text_w + 4, top + text_h + baseline + 4),
                      label_colour(instance.label), -1)
        cv2.putText(canvas, caption, (x0 + 2, top + text_h + 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), thickness, cv2.LINE_AA)
    return canvas
