# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Benchmark the video path: ms/frame of ``SAMDetect.track`` against ``detect``, same run.

Run ``python bench/bench_tracking.py [--keyframe-interval 5] [--sam-frames 10] [--json OUT]``.
Both paths see the same synthetic sequence (three objects: one passes in front of another, one
leaves and comes back; :mod:`sam_detect.evaluation.sequences`), and the script prints the mean
ms/frame of each and their ratio, for

* the classical default: the naive segmenter and the offline embedder (``auto``), for real;
* SAM2-tiny with random weights of the released size (encoder, prompt encoder and decoder cost
  exactly what the real model costs) on ``--device``. Random weights give meaningless masks,
  so the segmenter runs the real network for every call and then answers with the sequence's
  ground-truth masks (``segment``: the objects in view; ``segment_prompts``: the object under
  each prompt box). The tracker's decisions (key frames, propagation, reuse) are therefore the
  ones real masks would cause, and the time is the real network's. The embedder is the
  ``average`` one, so the figure is the segmentation path's.

Figures depend on the machine: compare the ratios printed in one run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sam_detect import SAMDetect  # noqa: E402
from sam_detect.evaluation.sequences import (  # noqa: E402
    noise_background, render_sequence, shape_cutouts)
from sam_detect.evaluation.sweep import append_rows  # noqa: E402
from sam_detect.results import Segment  # noqa: E402


class TruthfulSAM2:
    """Runs SAM2 at full cost, answers with the sequence's true masks (see the module doc)."""

    name = "sam2"

    def __init__(self, segmenter: Any, truth: list[dict]) -> None:
        self.segmenter, self.truth, self.frame = segmenter, truth, 0
        self.max_instances = None

    def _objects(self) -> list[np.ndarray]:
        return [mask for mask, _ in self.truth[self.frame].values()]

    def segment(self, image: np.ndarray) -> list[Segment]:
        self.segmenter.segment(image)  # the full grid, for its cost
        return [Segment(mask, 0.95) for mask in self._objects()]

    def segment_prompts(self, image: np.ndarray, points: Any = None, point_labels: Any = None,
                        boxes: Any = None) -> list[Segment]:
        self.segmenter.segment_prompts(image, points=points, point_labels=point_labels,
                                       boxes=boxes)
        out = []
        for x0, y0, x1, y1 in np.asarray(boxes, int):
            overlaps = [np.count_nonzero(m[max(0, y0):y1, max(0, x0):x1]) for m in self._objects()]
            best = int(np.argmax(overlaps)) if overlaps else -1
            mask = self._objects()[best] if best >= 0 and overlaps[best] else np.zeros(
                image.shape[:2], bool)
            out.append(Segment(mask, 0.95))
        return out


def run(detector: SAMDetect, frames: list[np.ndarray], tracked: bool,
        on_frame: Any = None) -> tuple[float, float]:
    """Return the mean ms/frame over ``frames`` and the key-frame share (1 when untracked)."""
    detector.reset_tracking()
    times = []
    for index, frame in enumerate(frames):
        if on_frame is not None:
            on_frame(index)
        start = time.perf_counter()
        if tracked:
            detector.track(frame)
        else:
            detector.detect(frame)
        times.append((time.perf_counter() - start) * 1e3)
    share = (detector.video_tracker().keyframes / len(frames)) if tracked else 1.0
    return float(np.mean(times)), share


def report(name: str, untracked: float, tracked: float, share: float, rows: list) -> None:
    print(f"{name:<34} untracked {untracked:9.1f} ms/frame   tracked {tracked:9.1f} ms/frame"
          f"   {untracked / tracked:5.2f}x fewer   ({100 * share:.0f} % key frames)", flush=True)
    rows.append({"path": name, "untracked_ms": round(untracked, 2),
                 "tracked_ms": round(tracked, 2), "ratio": round(untracked / tracked, 3),
                 "keyframe_share": round(share, 3)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keyframe-interval", type=int, default=5)
    parser.add_argument("--frames", type=int, default=40, help="classical: frames per path")
    parser.add_argument("--sam-frames", type=int, default=10,
                        help="SAM2 tracked frames (untracked: --sam-untracked-frames)")
    parser.add_argument("--sam-untracked-frames", type=int, default=2)
    parser.add_argument("--points-per-side", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-sam", action="store_true")
    parser.add_argument("--json", help="append the rows as JSON lines to this file")
    args = parser.parse_args()

    size = (640, 480)
    seq = render_sequence(shape_cutouts(96), noise_background(size), max(args.frames, 40),
                          np.random.default_rng(0))
    print(f"{size[0]}x{size[1]} frames, 3 objects, key frame every {args.keyframe_interval}; "
          f"{platform.processor() or platform.machine()}", flush=True)
    rows: list[dict] = []

    detector = SAMDetect(keyframe_interval=args.keyframe_interval)  # the offline default
    detector.track(seq.frames[0])  # warm-up: models loaded, first-call costs paid
    detector.detect(seq.frames[0])
    frames = seq.frames[:args.frames]
    untracked, _ = run(detector, frames, tracked=False)
    tracked, share = run(detector, frames, tracked=True)
    report(f"naive + {detector.embedder.name}", untracked, tracked, share, rows)

    if not args.skip_sam:
        import torch

        from sam_detect.models.synthetic import random_sam2
        from sam_detect.segmentation.sam2 import SAM2Segmenter

        torch.set_num_threads(max(1, torch.get_num_threads()))
        sam = SAM2Segmenter(model=random_sam2("tiny", seed=0, confident=True),
                            device=args.device, points_per_side=args.points_per_side)
        wrapper = TruthfulSAM2(sam, seq.truth)
        detector = SAMDetect(segmenter=wrapper, embedder="average",
                             keyframe_interval=args.keyframe_interval)

        def at(index: int) -> None:
            wrapper.frame = index

        untracked, _ = run(detector, seq.frames[:args.sam_untracked_frames], False, at)
        tracked, share = run(detector, seq.frames[:args.sam_frames], True, at)
        report(f"sam2 hiera-tiny (random) {args.device}", untracked, tracked, share, rows)

    if args.json:
        append_rows(args.json, [{**row, "keyframe_interval": args.keyframe_interval,
                                 "machine": platform.platform()} for row in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
