# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Segment-everything with best-of-3 vs all three masks per point, stability low-res vs full.

Counts candidates through each stage (decoder, quality filters, mask NMS) and times a segment call
on a synthetic scene, for each combination of ``masks_per_point`` and ``stability_at``, as ratios
against the default (1, low_res) in the same run. No SAM2 weights can be downloaded here, so the
model is the real architecture with random "confident" weights (``random_sam2``): the counts show
the mechanics (how many candidates each choice feeds to NMS, what it costs), not recall, which
needs trained weights. The recall effect on nested objects is pinned by
``test/sam_detect/segmentation/test_sam2_reference_choices.py`` on known decoder outputs.

    python bench/bench_sam2_reference_choices.py --size tiny --points 16
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from sam_detect.models.synthetic import save_random_sam2
from sam_detect.segmentation.sam2 import SAM2Segmenter


def scene(height: int = 480, width: int = 640) -> np.ndarray:
    """Return a textured frame with a few nested objects (a box with a label on it, a ring)."""
    rng = np.random.default_rng(0)
    image = rng.integers(90, 140, (height, width, 3), dtype=np.uint8)
    image[100:300, 80:300] = (200, 40, 40)
    image[160:220, 130:230] = (240, 240, 240)  # a label on the box: a part inside a whole
    yy, xx = np.mgrid[:height, :width]
    ring = np.abs(np.hypot(yy - 250, xx - 470) - 80) < 25
    image[ring] = (40, 40, 210)
    return image


def main() -> None:
    """Print candidate counts and time ratios for each combination."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="tiny", choices=("mini", "tiny", "small"))
    parser.add_argument("--points", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    folder = save_random_sam2(tempfile.mkdtemp(), size=args.size, seed=0, confident=True)
    image = scene()
    base_time = None
    print(f"SAM2 {args.size} (random confident weights), {args.points}x{args.points} grid, "
          f"{image.shape[1]}x{image.shape[0]} frame")
    print(f"{'masks/point':>11} {'stability':>9} {'decoded':>7} {'filtered':>8} {'after NMS':>9} "
          f"{'segments':>8} {'time':>7}")
    for masks_per_point in (1, 3):
        for stability_at in ("low_res", "full"):
            seg = SAM2Segmenter(folder, device="cpu", points_per_side=args.points,
                                masks_per_point=masks_per_point, stability_at=stability_at,
                                max_instances=None)
            seg.set_image(image)
            seg.segment(image)  # warm-up
            start = time.perf_counter()
            for _ in range(args.repeats):
                segments = seg.segment(image)
            elapsed = (time.perf_counter() - start) / args.repeats
            logits, scores = seg.generate_candidates()
            from sam_detect.models.mask_nms import mask_nms

            kept = mask_nms(logits > seg.mask_threshold, scores, seg.nms_iou_thresh)
            base_time = base_time or elapsed
            print(f"{masks_per_point:>11} {stability_at:>9} "
                  f"{args.points ** 2 * masks_per_point:>7} {len(logits):>8} {kept.numel():>9} "
                  f"{len(segments):>8} {elapsed / base_time:>6.2f}x", flush=True)


if __name__ == "__main__":
    main()
