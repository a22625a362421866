# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Time the default offline pipeline against the previous default and the naive segmenter.

Run ``python bench/bench_default_pipeline.py [--dataset /work/data/hard/validation] [--frames 20]
[--json bench/results/default_pipeline.jsonl]``. Each 640x480 frame goes through
``SAMDetect.detect`` (segment, fade, embed, search, decide; five objects taught) for every
configuration in turn, so all of them share the machine's load at that moment:

* ``previous default``: the objectness segmenter as it was before issue 16 (its code read from
  git at :data:`PREVIOUS_COMMIT`; left out, with a note, where history is missing) and
  ``efficientnet-lite0`` on every crop;
* ``default``: ``SAMDetect()`` with no arguments: the objectness segmenter and
  ``efficientnet-lite0-whitened`` on every crop (ONNX Runtime on the CPU);
* ``default, concurrent``: the default with the objectness segmenter's classical proposals
  found on a worker thread while its network runs (``concurrent_proposals=True``), the same
  segments;
* ``frame features``: the default with ``frame_features=True``: one backbone pass per frame,
  the crops' vectors pooled from the segmenter's last feature map;
* ``naive``: the classical segmenter and the default embedder;
* ``default, streamed``: the default detector on the frames as a stream
  (``SAMDetect.detect_stream``: frame N+1 is segmented on a worker thread while frame N is
  embedded and classified; the same detections). Timed in chunks of :data:`CHUNK` frames, each
  chunk run one frame at a time with ``detect`` and then as a stream, so both share the load of
  the moment; its ``wall`` is the chunks' elapsed time per frame (throughput), its ratio
  ``vs detect`` against the one-at-a-time runs of the same chunks.

It measures, first and last, how much two threads get done at once (:func:`parallel_capacity`:
2.0 on two idle cores), and prints, per configuration, the median wall-clock milliseconds of
each stage (from ``Detections.timings_ms``) and of the whole frame, frames per second, the CPU
milliseconds per frame (less sensitive to other processes on a shared machine) and the ratios
against the previous default and the naive configuration. ``--json`` appends one row per
configuration (``"benchmark": "default_pipeline"``), which the dashboard lists. Without
``--dataset`` the frames are hard-benchmark backgrounds with scikit-image photos pasted on them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sam_detect import SAMDetect  # noqa: E402
from sam_detect.evaluation.sweep import append_rows  # noqa: E402
from sam_detect.segmentation import NaiveSegmenter  # noqa: E402
from sam_detect.segmentation.objectness import ObjectnessSegmenter  # noqa: E402
from sam_detect.vector_store import MemoryVectorStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# The last commit before issue 16 (the objectness segmenter's speed-ups, the whitened embedder).
PREVIOUS_COMMIT = "cba58ece247839ede07d40719ae38b38eecb78ca"
STAGES = ("segment", "fade", "embed", "search", "total")
TAUGHT = 5
CHUNK = 5  # frames per chunk of the streamed-against-one-at-a-time comparison
STREAMED = "default, streamed"


def previous_objectness() -> Any | None:
    """Return the objectness segmenter as of :data:`PREVIOUS_COMMIT`, or None without history.

    Its module and the classical segmenter it weighs are read with ``git show`` and imported
    under other names, so both versions run side by side in this process.
    """
    folder = Path(tempfile.mkdtemp(prefix="previous_objectness_"))
    modules = {}
    for name in ("naive", "objectness"):
        try:
            source = subprocess.run(
                ["git", "show", f"{PREVIOUS_COMMIT}:sam_detect/segmentation/{name}.py"],
                cwd=ROOT, capture_output=True, text=True, check=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        path = folder / f"previous_{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(f"previous_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        modules[name] = module
    segmenter = modules["objectness"].ObjectnessSegmenter()
    segmenter._naive = modules["naive"].NaiveSegmenter(
        min_area=segmenter.min_area, max_area=segmenter.max_area, max_instances=None)
    return segmenter


def parallel_capacity(repeats: int = 12) -> float:
    """Return how many cores' worth of work two threads got done at once, just now (1.0 to 2.0).

    The same OpenCV work on one thread, then twice over on two threads (OpenCV releases the
    GIL): 2.0 on two idle cores, about 1.0 when other processes hold one. Overlapping stages
    (``default, streamed``, the concurrent proposals) can only gain where this is above 1.
    """
    import threading

    work = np.random.default_rng(0).random((1200, 1200)).astype(np.float32)

    def blur() -> None:
        for _ in range(repeats):
            cv2.GaussianBlur(work, (31, 31), 0)

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        start = time.perf_counter()
        blur()
        alone = time.perf_counter() - start
        pair = [threading.Thread(target=blur) for _ in range(2)]
        start = time.perf_counter()
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join()
        together = time.perf_counter() - start
    finally:
        cv2.setNumThreads(threads)
    return min(2.0, 2 * alone / together)


def photo_frames(count: int, objects: int = 5) -> list[np.ndarray]:
    """Return ``count`` 640x480 frames: hard backgrounds with ``objects`` photo cut-outs each."""
    import skimage.data

    from sam_detect.evaluation import hard_scenes

    photos = [skimage.data.chelsea(), skimage.data.coffee(), skimage.data.astronaut(),
              skimage.data.rocket(), skimage.data.immunohistochemistry()]
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(count):
        canvas, _ = hard_scenes.make_background(rng, hard_scenes.VALIDATION, (640, 480),
                                                lambda name: np.asarray(photos[0]))
        for index in range(objects):
            photo = photos[index % len(photos)]
            side = int(rng.integers(70, 150))
            h = max(8, int(side * photo.shape[0] / photo.shape[1]))
            patch = cv2.resize(np.ascontiguousarray(photo), (side, h),
                               interpolation=cv2.INTER_AREA)
            alpha = np.zeros((h, side), np.uint8)
            cv2.ellipse(alpha, (side // 2, h // 2), (side // 2 - 1, h // 2 - 1), 0, 0, 360, 255,
                        -1)
            x, y = int(rng.integers(0, 640 - side)), int(rng.integers(0, 480 - h))
            hard_scenes.paste_stamp(canvas, np.dstack([patch, alpha]), x, y)
        frames.append(np.clip(canvas + 0.5, 0, 255).astype(np.uint8))
    return frames


def dataset_frames(path: str, count: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Return the first ``count`` scene images of a COCO dataset with their objects' masks."""
    from sam_detect.evaluation.core.coco import CocoDataset

    dataset = CocoDataset(path)
    scenes = [i for i in dataset.image_ids if dataset.image_info(i).get("role") != "teach"]
    return [(dataset.load_image(i), [dataset.mask(a) for a in dataset.annotation_ids(i)])
            for i in scenes[:count]]


def teach(detector: Any, frames: list[tuple[np.ndarray, list[np.ndarray]]]) -> None:
    """Teach :data:`TAUGHT` objects: the first ground-truth masks, else segments."""
    taught = 0
    for image, masks in frames:
        if not masks:
            masks = [s.mask for s in NaiveSegmenter().segment(image)]
        for mask in masks:
            if taught == TAUGHT:
                return
            detector.add_example(image, f"object{taught}", mask=mask)
            taught += 1


@dataclasses.dataclass
class Timing:
    """Per-frame times of one configuration."""

    stages: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    cpu_ms: list[float] = dataclasses.field(default_factory=list)
    objects: list[int] = dataclasses.field(default_factory=list)

    def median(self, stage: str) -> float:
        """Return the median milliseconds of one stage."""
        return statistics.median(self.stages.get(stage, [0.0]))


def configurations(previous: Any | None) -> dict[str, SAMDetect]:
    """Return the detectors to time, each with its own in-memory store."""
    def build(**kwargs: Any) -> SAMDetect:
        return SAMDetect(vector_store=MemoryVectorStore(), log=lambda _line: None, **kwargs)

    found = {}
    if previous is not None:
        found["previous default"] = build(segmenter=previous, embedder="efficientnet-lite0")
    found["default"] = build()
    found["default, concurrent"] = build(segmenter=ObjectnessSegmenter(concurrent_proposals=True))
    found["frame features"] = build(frame_features=True)
    found["naive"] = build(segmenter="naive")
    return found


def main() -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="COCO dataset whose scene images are the frames")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", help="append the rows as JSON lines here")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    frames = (dataset_frames(args.dataset, args.frames) if args.dataset
              else [(f, []) for f in photo_frames(args.frames)])
    previous = previous_objectness()
    if previous is None:
        print(f"note: no git history at {PREVIOUS_COMMIT[:12]} here: the previous default is "
              "left out")
    configs = configurations(previous)
    for detector in configs.values():
        teach(detector, frames)
        detector.detect(frames[0][0])  # warm-up: weights, ONNX export, the reference set
    capacity = [parallel_capacity()]
    timings = {name: Timing() for name in configs}
    for image, _ in frames:
        for name, detector in configs.items():
            cpu = time.process_time()
            found = detector.detect(image)
            timings[name].cpu_ms.append((time.process_time() - cpu) * 1e3)
            timings[name].objects.append(len(found))
            for stage in STAGES:
                timings[name].stages.setdefault(stage, []).append(found.timings_ms[stage])
    streamed, one_by_one = stream_timings(configs["default"], [image for image, _ in frames])
    capacity.append(parallel_capacity())
    source = args.dataset or "hard backgrounds + scikit-image photos"
    print(f"SAMDetect.detect on {len(frames)} frames of {frames[0][0].shape[1]}x"
          f"{frames[0][0].shape[0]} ({source}), {TAUGHT} objects taught, torch threads "
          f"{torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"{platform.machine()} with {os.cpu_count()} CPUs; two threads got "
          f"{' then '.join(f'{c:.2f}' for c in capacity)} cores' worth of work done at once "
          "before and after (2.00: two idle cores) (median ms per frame):")
    bases = [b for b in ("previous default", "naive") if b in timings]
    header = " ".join(f"{s:>7}" for s in STAGES)
    ratios = " ".join(f"{'vs ' + b.split()[0]:>17}" for b in bases)
    print(f"{'configuration':<19} {header} {'fps':>6} {'cpu ms':>7} {'objects':>7} {ratios}")
    print(f"{'':<19} {'':>39} {'':>6} {'':>7} {'':>7} "
          + " ".join(f"{'(wall, cpu)':>17}" for _ in bases))
    rows = []
    for name, detector in configs.items():
        t = timings[name]
        wall, cpu = t.median("total"), statistics.median(t.cpu_ms)
        against = {b: (timings[b].median("total") / wall,
                       statistics.median(timings[b].cpu_ms) / cpu) for b in bases}
        print(f"{name:<19} " + " ".join(f"{t.median(s):7.1f}" for s in STAGES)
              + f" {1000 / wall:6.1f} {cpu:7.1f} {statistics.mean(t.objects):7.1f} "
              + " ".join(f"{w:>8.2f}x {c:>6.2f}x" for w, c in against.values()))
        rows.append({"benchmark": "default_pipeline", "configuration": name,
                     "segmenter": detector.segmenter.name, "embedder": detector.embedder.name,
                     **{f"{s}_ms": t.median(s) for s in STAGES}, "wall_ms": wall,
                     "cpu_ms": cpu, "fps": 1000 / wall,
                     **{f"speedup_vs_{b.split()[0]}_wall": w for b, (w, _) in against.items()},
                     **{f"speedup_vs_{b.split()[0]}_cpu": c for b, (_, c) in against.items()},
                     "objects": statistics.mean(t.objects), "taught": TAUGHT,
                     "frames": len(frames), "source": source,
                     "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                     "parallel_capacity": statistics.fmean(capacity)})
    detector, t = configs["default"], streamed
    wall, cpu = statistics.fmean(t.stages["wall"]), statistics.median(t.cpu_ms)
    one_wall = statistics.fmean(one_by_one.stages["wall"])
    one_cpu = statistics.median(one_by_one.cpu_ms)
    print(f"{STREAMED:<19} " + " ".join(f"{t.median(s):7.1f}" for s in STAGES)
          + f" {1000 / wall:6.1f} {cpu:7.1f} {statistics.mean(t.objects):7.1f}"
          + f"   vs detect on the same chunks ({one_wall:.1f} ms, cpu {one_cpu:.1f}): "
          f"{one_wall / wall:.2f}x wall, {one_cpu / cpu:.2f}x cpu; total = latency")
    rows.append({"benchmark": "default_pipeline", "configuration": STREAMED,
                 "segmenter": detector.segmenter.name, "embedder": detector.embedder.name,
                 **{f"{s}_ms": t.median(s) for s in STAGES}, "wall_ms": wall, "cpu_ms": cpu,
                 "fps": 1000 / wall, "detect_wall_ms": one_wall, "detect_cpu_ms": one_cpu,
                 "speedup_vs_detect_wall": one_wall / wall,
                 "speedup_vs_detect_cpu": one_cpu / cpu,
                 "objects": statistics.mean(t.objects), "taught": TAUGHT,
                 "frames": len(frames), "source": source,
                 "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                 "parallel_capacity": statistics.fmean(capacity)})
    if args.json:
        append_rows(args.json, rows)
    return 0


def stream_timings(detector: SAMDetect, images: list[np.ndarray]) -> tuple[Timing, Timing]:
    """Time ``detect_stream`` against ``detect`` one frame at a time, chunk by chunk.

    Returns the streamed and the one-at-a-time :class:`Timing`: ``stages["wall"]`` and
    ``cpu_ms`` hold per-frame means of each chunk. The two must find the same objects.
    """
    streamed, one_by_one = Timing(), Timing()
    for start in range(0, len(images), CHUNK):
        chunk = images[start:start + CHUNK]
        for timing, run in ((one_by_one, lambda: [detector.detect(i) for i in chunk]),
                            (streamed, lambda: list(detector.detect_stream(chunk)))):
            wall, cpu = time.perf_counter(), time.process_time()
            found = run()
            timing.stages.setdefault("wall", []).append(
                (time.perf_counter() - wall) * 1e3 / len(chunk))
            timing.cpu_ms.append((time.process_time() - cpu) * 1e3 / len(chunk))
            timing.objects += [len(d) for d in found]
            for detections in found:
                for stage in STAGES:
                    timing.stages.setdefault(stage, []).append(detections.timings_ms[stage])
        if streamed.objects[-len(chunk):] != one_by_one.objects[-len(chunk):]:
            raise SystemExit("detect_stream found other objects than detect")
    return streamed, one_by_one


if __name__ == "__main__":
    sys.exit(main())
