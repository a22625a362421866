# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""GPU benchmark of SAM2 + CLIP: per-stage latencies and end-to-end FPS at 1080p, 10 objects.

Run on a CUDA machine (about 3 minutes, compile included)::

    python bench/bench_gpu.py --json gpu.jsonl

or a smoke run on CPU with miniature models (seconds)::

    python bench/bench_gpu.py --quick

Models are built with RANDOM weights of the REAL architectures (SAM2.1 hiera-tiny and
hiera-small, CLIP ViT-B/32; configs written in :mod:`sam_detect.models.synthetic`), so no download
is needed and timings equal the released checkpoints'. The SAM2 decoder is made "confident" so
that random masks pass the quality filters and NMS/upsampling see a realistic load; the fade,
CLIP and k-NN stages of the end-to-end run get 10 realistic ellipse masks instead of SAM's random
ones (random masks cover the whole frame, which would make fading unrealistically slow).

Stages (milliseconds, median of ``--repeats`` after warm-up, ``torch.cuda.synchronize`` around
each call): image encoder (upload + resize + encoder), decoder over the whole point grid, mask
NMS, select (NMS + upsampling the kept masks + copy to host), segment (all of it), segment seeded
with 10 boxes (video mode), point prompts on a cached image, fade per object (CPU), CLIP per batch
of 10 crops, k-NN for 10 queries in a 1,000-example MemoryVectorStore, and ``SAMDetect.detect``
end to end. Modes (``--modes``): eager fp32, eager bf16/fp16 (autocast), torch.compile + bf16,
and ``*-bf16w`` (weights cast to bf16, an experiment). ``--json OUT`` appends one row per figure:
``{"benchmark": "gpu", "stage", "model", "mode", "ms", "gpu"}``.

Measured on an NVIDIA H200 (torch 2.11, transformers 5.17), hiera-tiny, 1080p, 10 objects,
``SAMDetect.detect`` end to end: eager fp32 121 ms (8 FPS), eager bf16 76 ms (13 FPS),
compile + bf16 33 ms (30 FPS; segment 24 ms = encoder 6 + decoder 14 + select 3), and with an
8x8 grid compile + bf16 24 ms (41 FPS).
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sam_detect import SAMDetect  # noqa: E402
from sam_detect.embedding.clip import CLIPEmbedder  # noqa: E402
from sam_detect.evaluation.sweep import append_rows  # noqa: E402
from sam_detect.fading import GaussianFade, make_faded_crop  # noqa: E402
from sam_detect.models.mask_nms import mask_nms  # noqa: E402
from sam_detect.models.synthetic import random_sam2  # noqa: E402
from sam_detect.results import Segment  # noqa: E402
from sam_detect.segmentation.sam2 import SAM2Segmenter  # noqa: E402
from sam_detect.vector_store import MemoryVectorStore  # noqa: E402

MODES = {  # name: (precision, torch.compile, weights cast to bf16 instead of autocast only)
    "eager-fp32": ("fp32", False, False),
    "eager-fp16": ("fp16", False, False),
    "eager-bf16": ("bf16", False, False),
    "compile-bf16": ("bf16", True, False),
    "eager-bf16w": ("bf16", False, True),
    "compile-bf16w": ("bf16", True, True),
}
# eager-fp16 is left out by default: the "confident" random decoder's scaled logits overflow
# fp16, so its masks are empty and the later stages see no load (real weights are fine)
DEFAULT_MODES = "eager-fp32,eager-bf16,compile-bf16"


def synthetic_frame(objects: int, size: tuple[int, int], seed: int) -> tuple[np.ndarray, list]:
    """Return a textured RGB frame with ``objects`` ~200x160-pixel ellipses, and their masks."""
    rng = np.random.default_rng(seed)
    height, width = size
    noise = cv2.resize(rng.normal(0, 1, (height // 8, width // 8, 3)).astype(np.float32),
                       (width, height))
    frame = np.clip(np.array([80, 110, 70]) + noise * 15 + rng.normal(0, 5, (height, width, 3)),
                    0, 255).astype(np.uint8)
    masks = []
    columns = 5
    scale = min(height / 1080, width / 1920)
    for index in range(objects):
        mask = np.zeros((height, width), np.uint8)
        centre = (int((200 + (index % columns) * 380) * scale),
                  int((250 + (index // columns) * 500) * scale))
        axes = (max(2, int(100 * scale)), max(2, int(80 * scale)))
        cv2.ellipse(mask, centre, axes, index * 20, 0, 360, 1, -1)
        frame[mask > 0] = rng.integers(0, 256, 3)
        masks.append(mask > 0)
    return frame, masks


class Bench:
    """Times callables, prints rows and collects them for ``--json``."""

    def __init__(self, device: str, repeats: int, warmup: int, budget_s: float) -> None:
        """Start the clock; ``device`` decides whether calls are synchronised."""
        self.device = device
        self.repeats = repeats
        self.warmup = warmup
        self.budget_s = budget_s
        self.start = time.perf_counter()
        self.rows: list[dict[str, Any]] = []
        self.gpu = (torch.cuda.get_device_name() if device.startswith("cuda")
                    else f"cpu ({platform.processor() or platform.machine()})")

    def elapsed(self) -> float:
        """Seconds since the benchmark started."""
        return time.perf_counter() - self.start

    def sync(self) -> None:
        """Wait for queued GPU work."""
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()

    def time(self, function: Callable[[], Any], repeats: int | None = None) -> float:
        """Return the median wall time of ``function()`` in ms, synchronised, after warm-up."""
        for _ in range(self.warmup):
            function()
        self.sync()
        times = []
        for _ in range(repeats or self.repeats):
            self.sync()
            start = time.perf_counter()
            function()
            self.sync()
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)

    def row(self, stage: str, model: str, mode: str, ms: float, note: str = "") -> None:
        """Record and print one figure."""
        self.rows.append({"benchmark": "gpu", "stage": stage, "model": model, "mode": mode,
                          "ms": round(ms, 4), "gpu": self.gpu})
        print(f"  {model:<16} {mode:<13} {stage:<22} {ms:9.3f} ms  {note}", flush=True)


def guarded(label: str, function: Callable[[], Any]) -> Any:
    """Run one section; print its error and go on, so one failure does not void the run."""
    try:
        return function()
    except Exception:  # noqa: BLE001 - report and continue with the next section
        print(f"!! {label} failed:\n{traceback.format_exc()}", flush=True)
        return None


def bench_sam(bench: Bench, model: Any, name: str, mode: str, frames: list, args: Any,
              points_per_side: int) -> Any:
    """Time the SAM2 stages of one model in one mode; return the segmenter."""
    precision, compiled, cast = MODES[mode]
    if cast:  # experiment: bf16 weights (no fp32 master copy) on a copy of the model
        model = copy.deepcopy(model).to(torch.bfloat16)
    grid = points_per_side ** 2
    seg = SAM2Segmenter(model=model, device=bench.device, precision=precision, compile=compiled,
                        points_per_side=points_per_side, points_per_batch=grid,
                        max_instances=args.objects)
    counter = iter(range(10**9))

    def next_frame() -> np.ndarray:
        return frames[next(counter) % len(frames)][0]

    start = time.perf_counter()
    for _ in range(2):
        seg.segment(next_frame())
    bench.sync()
    warm = (time.perf_counter() - start) * 1e3
    bench.row("first_2_calls", name, mode, warm, "(includes compile)" if compiled else "")

    def encode() -> None:
        seg.reset_image()
        seg.set_image(next_frame())

    bench.row("image_encoder", name, mode, bench.time(encode), "(upload + resize + encoder)")
    seg.set_image(frames[0][0])
    bench.row(f"decoder_{grid}_prompts", name, mode, bench.time(seg.generate_candidates),
              "(one batch, + IoU/stability filters)")
    logits, scores = seg.generate_candidates()
    if not compiled:  # another prompt count would recompile the decoder
        seg.points_per_batch = 64
        ms = bench.time(seg.generate_candidates)
        bench.row("decoder_per_batch_64", name, mode, ms / -(-grid // 64),
                  f"({-(-grid // 64)} batches of 64)")
        seg.points_per_batch = grid
    masks = logits > 0
    bench.row("mask_nms", name, mode, bench.time(lambda: mask_nms(masks, scores, 0.7)),
              f"({len(scores)} candidates)")
    found = len(seg.select(logits, scores))
    bench.row(f"select_{found}", name, mode, bench.time(lambda: seg.select(logits, scores)),
              "(NMS + upsample to 1080p + to host)")
    bench.row("segment", name, mode, bench.time(lambda: seg.segment(next_frame())),
              f"({found} objects)")
    boxes = [Segment(mask=m) for m in frames[0][1]]

    def seeded() -> None:
        seg.seed_from_previous(boxes)
        seg.segment(next_frame())

    if not compiled:
        bench.row(f"segment_seeded_{len(boxes)}", name, mode, bench.time(seeded),
                  "(video mode: box prompts instead of the grid)")
        points = [[(b.bbox[0] + b.bbox[2]) / 2, (b.bbox[1] + b.bbox[3]) / 2] for b in boxes]
        seg.set_image(frames[0][0])
        bench.row(f"prompts_{len(points)}_points", name, mode,
                  bench.time(lambda: seg.segment_prompts(frames[0][0], points=points)),
                  "(cached image: checksum + decoder + masks to host)")
    return seg


def bench_clip(bench: Bench, folder: str, mode: str, crops: list) -> Any:
    """Time CLIP on one batch of crops in one mode; return the embedder."""
    precision, compiled, cast = MODES[mode]
    emb = CLIPEmbedder(folder, device=bench.device, precision=precision, compile=compiled)
    if cast:
        emb.model.to(torch.bfloat16)
    start = time.perf_counter()
    prepared = emb.prepare(crops)
    emb.embed_prepared(prepared)
    bench.sync()
    if compiled:
        bench.row("clip_first_call", "clip-b32", mode, (time.perf_counter() - start) * 1e3,
                  "(includes compile)")
    bench.row(f"clip_batch_{len(crops)}", "clip-b32", mode,
              bench.time(lambda: emb.embed_prepared(prepared)), "(GPU part)")
    return emb


class FixedMasks:
    """Runs a real segmenter for its cost, then hands realistic masks to the later stages."""

    name = "sam2"

    def __init__(self, segmenter: Any, masks: list[np.ndarray]) -> None:
        """Wrap ``segmenter``; ``masks`` are what :meth:`segment` returns."""
        self.segmenter = segmenter
        self.segments = [Segment(mask=m, score=0.9) for m in masks]

    def segment(self, image: np.ndarray) -> list[Segment]:
        """Run the real segmenter on ``image``, then return the fixed masks."""
        self.segmenter.segment(image)
        return self.segments


def main() -> int:  # noqa: C901 - a linear script of benchmark sections
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CPU smoke run, miniature models")
    parser.add_argument("--json", help="append the rows as JSON lines here")
    parser.add_argument("--models", default="tiny,small", help="SAM2 sizes (tiny, small)")
    parser.add_argument("--modes", default=DEFAULT_MODES, help=f"of {', '.join(MODES)}")
    parser.add_argument("--grids", default="16,8",
                        help="points per side; grids after the first run only on the first "
                             "model, in its bf16 modes")
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--budget-s", type=float, default=200.0,
                        help="skip the remaining compile modes after this many seconds")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
    grids = [int(g) for g in args.grids.split(",") if g]

    if args.quick:
        device, sizes, frame_size = "cpu", ["mini"], (270, 480)
        args.repeats, warmup = 2, 1
        grids = list(dict.fromkeys(min(g, 8) // 2 or 1 for g in grids))
        modes = [m for m in modes if not MODES[m][1]]  # no compile on the CPU smoke run
        torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    else:
        if not torch.cuda.is_available():
            print("no CUDA device: run with --quick for the CPU smoke test", file=sys.stderr)
            return 2
        device, sizes, frame_size, warmup = "cuda", args.models.split(","), (1080, 1920), 3
        torch.backends.cudnn.benchmark = True
    bench = Bench(device, args.repeats, warmup, args.budget_s)
    print(f"bench_gpu on {bench.gpu}, torch {torch.__version__}, frame "
          f"{frame_size[1]}x{frame_size[0]}, {args.objects} objects, grids {grids}, "
          f"modes {modes}", flush=True)
    frames = [synthetic_frame(args.objects, frame_size, seed) for seed in (0, 1)]
    frame, masks = frames[0]

    # CPU stages: fade and k-NN do not depend on the models
    fade = GaussianFade(sigma=20, min_fade=0.05)
    crops = [make_faded_crop(frame, m, fade)[0] for m in masks]
    ms = bench.time(lambda: [make_faded_crop(frame, m, fade) for m in masks])
    bench.row("fade_per_object", "-", "cpu", ms / len(masks), "(GaussianFade sigma 20, ROI)")
    store = MemoryVectorStore()
    rng = np.random.default_rng(1)
    dim = 16 if args.quick else 512
    examples = rng.normal(size=(1000, dim)).astype(np.float32)
    store.add(examples / np.linalg.norm(examples, axis=1, keepdims=True),
              [f"object{i % 20}" for i in range(1000)])
    queries = examples[: len(masks)] + 0.1
    bench.row(f"knn_{len(masks)}_queries", "memory-1k", "cpu",
              bench.time(lambda: store.search(queries, 5)), "(k=5, numpy brute force)")

    # CLIP ViT-B/32 with random weights, saved so the real loader is used
    from sam_detect.models.synthetic import save_random_clip

    workdir = tempfile.mkdtemp(prefix="bench_gpu_")
    clip_dir = str(save_random_clip(Path(workdir) / "clip", mini=args.quick, vision_only=True))
    embedders: dict[str, Any] = {}
    probe = CLIPEmbedder(clip_dir, device=device)
    bench.row(f"clip_prepare_{len(crops)}", "clip-b32", device,
              bench.time(lambda: probe.prepare(crops)), "(upload, resize, centre crop)")
    for mode in modes:
        if MODES[mode][1] and bench.elapsed() > args.budget_s:
            print(f"  (skipping clip {mode}: over the {args.budget_s:.0f} s budget)")
            continue
        emb = guarded(f"clip {mode}", lambda mode=mode: bench_clip(bench, clip_dir, mode, crops))
        if emb is not None:
            embedders[mode] = emb

    segmenters: dict[tuple[str, str], Any] = {}
    for size in sizes:
        model = random_sam2(size, seed=0, confident=True).to(device)
        first = size == sizes[0]
        for grid in grids if first else grids[:1]:
            label = f"hiera-{size}" + ("" if grid == grids[0] else f"/{grid}x{grid}")
            for mode in modes:
                if grid != grids[0] and MODES[mode][0] != "bf16":
                    continue  # extra grids: bf16 modes only
                if MODES[mode][1] and (not first or bench.elapsed() > args.budget_s):
                    continue  # compile only the first (smallest) model, within the budget
                seg = guarded(f"sam2 {label} {mode}",
                              lambda mode=mode, grid=grid, label=label: bench_sam(
                                  bench, model, label, mode, frames, args, grid))
                if seg is not None:
                    segmenters[(label, mode)] = seg

    # end to end through SAMDetect.detect
    print("end to end (SAMDetect.detect: segment -> fade -> CLIP -> k-NN):", flush=True)
    for (label, mode), seg in segmenters.items():
        emb = embedders.get(mode)
        if emb is None:
            continue

        def run(seg: Any = seg, emb: Any = emb) -> Any:
            detector = SAMDetect(segmenter=FixedMasks(seg, masks), embedder=emb,
                                 fade_strategy=fade, vector_store=store)
            stages: dict[str, list[float]] = {}
            detector.detect(frames[1][0])
            for index in range(args.repeats):
                timings = detector.detect(frames[index % 2][0]).timings_ms
                for stage, value in timings.items():
                    stages.setdefault(stage, []).append(value)
            return {stage: statistics.median(values) for stage, values in stages.items()}

        if emb.dim != store.dim:
            store = MemoryVectorStore()
            vectors = rng.normal(size=(1000, emb.dim)).astype(np.float32)
            store.add(vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
                      [f"object{i % 20}" for i in range(1000)])
        medians = guarded(f"e2e {label} {mode}", run)
        if medians is None:
            continue
        for stage, value in medians.items():
            bench.row(f"e2e_{stage}", label, mode, value)
        fps = 1000.0 / medians["total"]
        print(f"  -> {label} {mode}: {fps:.1f} FPS with {len(masks)} objects", flush=True)
        bench.rows.append({"benchmark": "gpu", "stage": "e2e_fps", "model": label,
                           "mode": mode, "ms": round(medians["total"], 4), "fps": round(fps, 2),
                           "gpu": bench.gpu})
    print(f"done in {bench.elapsed():.0f} s", flush=True)
    if args.json:
        append_rows(args.json, bench.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
