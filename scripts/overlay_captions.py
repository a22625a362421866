# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Draw docs/img/overlay_captions.jpg: 16 tracked objects crowded together, every caption readable.

The overlay is what ``sam-detect VIDEO --track --output`` and the node's ``overlay`` topic draw
(:func:`sam_detect.visualize.draw_instances`): one colour per label, ``?`` in grey for unknown
objects, captions stacked, shortened or moved away with a leader line, never one over another.

Example:
    .venv/bin/python scripts/overlay_captions.py docs/img/overlay_captions.jpg
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LABELS = ["orange", "pepper", "apple", "mug", None, "kettle", "wrench", "hammer"]


def main(out: str) -> int:
    """Draw the crowded scene and write it to ``out``."""
    from sam_detect.results import Instance
    from sam_detect.visualize import draw_instances
    from sam_detect_ros.demo import synthetic_frame

    image = cv2.resize(synthetic_frame(0), (640, 480))
    rng = np.random.default_rng(2)
    instances = []
    for k in range(16):
        mask = np.zeros(image.shape[:2], np.uint8)
        cx, cy, r = int(rng.integers(220, 420)), int(rng.integers(160, 320)), int(
            rng.integers(15, 35))
        cv2.circle(mask, (cx, cy), r, 1, -1)
        instances.append(Instance(mask.astype(bool), (cx - r, cy - r, cx + r + 1, cy + r + 1),
                                  label=LABELS[k % len(LABELS)],
                                  confidence=float(rng.uniform(0.3, 0.95)), track_id=k + 1))
    cv2.imwrite(out, cv2.cvtColor(draw_instances(image, instances), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/img/overlay_captions.jpg"))
