# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Benchmark the core pipeline: per-stage times and ROI fading against full-frame fading.

Run ``python bench/bench_pipeline.py [--embedder average] [--objects 10] [--json OUT]``.
It builds a
1080p synthetic frame with N objects on a textured background, then prints

* fading per object: the ROI crop (what the pipeline does) against fading the full frame and
  cropping after, with their ratio measured in the same run;
* per-stage medians of ``SAMDetect.detect`` (segment, fade, embed, search, total) with a store of
  1,000 examples.

Figures depend on the machine: compare ratios, or runs on the same machine.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sam_detect import SAMDetect  # noqa: E402
from sam_detect.embedding import create_embedder  # noqa: E402
from sam_detect.evaluation.sweep import append_rows  # noqa: E402
from sam_detect.fading import GaussianFade, make_faded_crop  # noqa: E402
from sam_detect.fading.base import distance_outside  # noqa: E402
from sam_detect.results import mask_to_bbox  # noqa: E402
from sam_detect.segmentation import NaiveSegmenter  # noqa: E402
from sam_detect.vector_store import MemoryVectorStore  # noqa: E402


def synthetic_frame(objects: int, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return a 1080p textured frame with ``objects`` coloured blobs, and their masks."""
    rng = np.random.default_rng(seed)
    height, width = 1080, 1920
    noise = cv2.resize(rng.normal(0, 1, (height // 8, width // 8, 3)).astype(np.float32),
                       (width, height))
    frame = np.clip(np.array([80, 110, 70]) + noise * 15 + rng.normal(0, 5, (height, width, 3)),
                    0, 255).astype(np.uint8)
    masks = []
    columns = 5
    for index in range(objects):
        mask = np.zeros((height, width), np.uint8)
        centre = (200 + (index % columns) * 380, 250 + (index // columns) * 500)
        cv2.ellipse(mask, centre, (100, 80), index * 20, 0, 360, 1, -1)
        frame[mask > 0] = rng.integers(0, 256, 3)
        masks.append(mask > 0)
    return frame, masks


def time_ms(function, repeats: int) -> list[float]:
    """Return ``repeats`` timings of ``function()`` in milliseconds, after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="average")
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--sigma", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", help="write the rows as JSON lines here")
    args = parser.parse_args()

    frame, masks = synthetic_frame(args.objects)
    fade = GaussianFade(sigma=args.sigma, min_fade=0.05)
    rows = []

    # Segmenters return each mask's box with it, so the pipeline never scans a full mask for it.
    boxes = [mask_to_bbox(mask) for mask in masks]

    def roi_fading():
        for mask, box in zip(masks, boxes):
            make_faded_crop(frame, mask, fade, box)

    def full_frame_fading():
        for mask in masks:
            faded = fade.apply(frame, mask, distance_outside(mask, precise=True))
            _ = faded[mask.any(axis=1)][:, mask.any(axis=0)]

    roi = statistics.median(time_ms(roi_fading, args.repeats)) / len(masks)
    full = statistics.median(time_ms(full_frame_fading, max(3, args.repeats // 4))) / len(masks)
    print(f"fade per object at 1920x1080, sigma {args.sigma:g}: ROI {roi:.3f} ms, "
          f"full frame {full:.2f} ms, ROI is {full / roi:.0f}x faster")
    rows += [{"benchmark": "fade", "method": "roi", "ms_per_object": roi},
             {"benchmark": "fade", "method": "full_frame", "ms_per_object": full}]

    embedder = create_embedder(args.embedder, device="cpu", log=lambda line: None)
    store = MemoryVectorStore()
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(1000, embedder.dim)).astype(np.float32)
    store.add(vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
              [f"object{i % 20}" for i in range(1000)])
    detector = SAMDetect(segmenter=NaiveSegmenter(max_instances=args.objects + 5),
                         embedder=embedder, fade_strategy=fade, vector_store=store)
    stages: dict[str, list[float]] = {}
    found = 0
    for _ in range(max(3, args.repeats // 2)):
        detections = detector.detect(frame)
        found = len(detections)
        for stage, ms in detections.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    print(f"SAMDetect.detect at 1920x1080, {found} objects, {embedder.name}, 1k examples "
          f"({platform.processor() or platform.machine()}):")
    for stage, values in stages.items():
        median = statistics.median(values)
        print(f"  {stage:<8} {median:8.2f} ms")
        rows.append({"benchmark": "pipeline", "stage": stage, "embedder": embedder.name,
                     "objects": found, "ms": median})
    if stages:
        print(f"  -> {1000.0 / statistics.median(stages['total']):.1f} frames per second")
    if args.json:
        append_rows(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
