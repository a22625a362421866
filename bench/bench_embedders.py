# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Few-shot accuracy and latency of the offline embedders on real photos.

Data: the photographic stamps of Debian's ``tuxpaint-stamps-default`` (RGBA PNGs whose alpha is
the instance mask; ``apt-get install tuxpaint-stamps-default``). Drawn stamps are left out (an SVG
twin, a ``cartoon`` folder, or fewer than ``--min-colours`` distinct colours on the object); the
category is the first two folders (``animals/birds``, ``food/fruit`` ...) and the ``--ways``
largest categories with at least ``--min-per-class`` photos are used.

Each photo is pasted at a random size and place onto a real background (scikit-image's bundled
photos and textures), then cut out with ``sam_detect.fading`` (``--fade gaussian`` by default;
``--fade hard_crop`` blacks out everything off the mask, ``--fade none`` uses the stamp on black,
the "crops only" setting of the reference figures). Every draw picks ``shots`` support and
``--queries`` query photos per category; a query is right when its nearest support (cosine) has
its category. Latency is the median time of one ``embed`` call on a batch of ``--batch`` crops.

Example:
    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_embedders.py --embedders average efficientnet
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAMPS = Path("/usr/share/tuxpaint/stamps")
BACKGROUNDS = ("rocket", "coffee", "chelsea", "astronaut", "hubble_deep_field", "grass",
               "gravel", "brick", "camera", "immunohistochemistry")


def load_stamps(root: Path, min_colours: int, min_per_class: int, ways: int
                ) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Return the photographic stamps (RGBA), their class indices and the class names."""
    from PIL import Image

    by_class: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    for path in sorted(root.rglob("*.png")):
        rel = path.relative_to(root)
        if "cartoon" in rel.parts or path.with_suffix(".svg").exists():
            continue
        with Image.open(path) as image:
            if image.mode not in ("RGBA", "LA", "P") and "transparency" not in image.info:
                continue
            rgba = np.asarray(image.convert("RGBA"))
        inside = rgba[..., 3] > 127
        if inside.sum() < 100:
            continue
        q = rgba[..., :3][inside].astype(np.int32) // 8
        if len(np.unique(q[:, 0] * 1024 + q[:, 1] * 32 + q[:, 2])) < min_colours:
            continue
        by_class["/".join(rel.parts[:2]) if len(rel.parts) > 2 else rel.parts[0]].append(rgba)
    names = [n for n, v in sorted(by_class.items(), key=lambda kv: -len(kv[1]))
             if len(v) >= min_per_class][:ways]
    stamps = [s for n in names for s in by_class[n]]
    labels = np.array([i for i, n in enumerate(names) for _ in by_class[n]])
    return stamps, labels, names


def backgrounds() -> list[np.ndarray]:
    """Return scikit-image's bundled photos as RGB uint8 frames."""
    import skimage.data

    frames = []
    for name in BACKGROUNDS:
        image = getattr(skimage.data, name)()
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        frames.append(np.ascontiguousarray(image[:, :, :3]))
    return frames


def make_crops(stamps: list[np.ndarray], fade: str, sigma: float, seed: int) -> list[np.ndarray]:
    """Paste each stamp onto a random background and return its faded crop."""
    import cv2

    from sam_detect.fading import create_fade, make_faded_crop

    rng = np.random.default_rng(seed)
    scenes = backgrounds()
    strategy = None if fade == "none" else create_fade(fade, sigma=sigma, min_fade=0.05)
    crops = []
    for rgba in stamps:
        if strategy is None:
            alpha = rgba[..., 3:] / 255.0
            crops.append((rgba[..., :3] * alpha + 0.5).astype(np.uint8))
            continue
        side = int(rng.integers(96, 257))
        scale = side / max(rgba.shape[:2])
        size = (max(1, round(rgba.shape[1] * scale)), max(1, round(rgba.shape[0] * scale)))
        small = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA)
        scene = scenes[rng.integers(len(scenes))]
        height, width = 480, 640
        frame = cv2.resize(scene, (width, height), interpolation=cv2.INTER_LINEAR)
        y = int(rng.integers(0, height - size[1] + 1))
        x = int(rng.integers(0, width - size[0] + 1))
        alpha = small[..., 3:] / 255.0
        region = frame[y:y + size[1], x:x + size[0]]
        frame[y:y + size[1], x:x + size[0]] = (small[..., :3] * alpha + region * (1 - alpha)
                                               + 0.5).astype(np.uint8)
        mask = np.zeros((height, width), bool)
        mask[y:y + size[1], x:x + size[0]] = small[..., 3] > 127
        crop, _ = make_faded_crop(frame, mask, strategy)
        crops.append(crop)
    return crops


def few_shot_accuracy(vectors: np.ndarray, labels: np.ndarray, shots: int, queries: int,
                      draws: int, seed: int) -> tuple[float, float]:
    """Return the mean and standard error of 1-NN cosine accuracy over random draws."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    members = [np.flatnonzero(labels == c) for c in classes]
    scores = []
    for _ in range(draws):
        support, query = [], []
        for idx in members:
            pick = rng.permutation(idx)[:shots + queries]
            support.append(pick[:shots])
            query.append(pick[shots:])
        s = np.concatenate(support)
        q = np.concatenate(query)
        nearest = np.argmax(vectors[q] @ vectors[s].T, axis=1)
        scores.append(float(np.mean(labels[s][nearest] == labels[q])))
    return float(np.mean(scores)), float(np.std(scores) / np.sqrt(draws))


def batch_latency_ms(embedder, crops: list[np.ndarray], batch: int) -> tuple[float, float]:
    """Return the median and the fastest milliseconds of one ``embed`` call on ``batch`` crops.

    On a shared machine the fastest call is the better estimate of the cost itself.
    """
    embedder.embed(crops[:batch])  # warm-up (weights, allocator, caches)
    times = []
    for start in range(0, len(crops) - batch + 1, batch):
        t0 = time.perf_counter()
        embedder.embed(crops[start:start + batch])
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def build(kind: str, device: str):
    """Create an embedder by kind."""
    from sam_detect.embedding import create_embedder

    return create_embedder(kind, device=device, log=lambda _line: None)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per embedder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embedders", nargs="+", default=["average", "efficientnet"])
    parser.add_argument("--stamps", type=Path, default=STAMPS)
    parser.add_argument("--fade", default="gaussian",
                        choices=["gaussian", "hard_crop", "linear", "exponential", "identity",
                                 "none"])
    parser.add_argument("--sigma", type=float, default=20.0)
    parser.add_argument("--ways", type=int, default=12)
    parser.add_argument("--min-per-class", type=int, default=10)
    parser.add_argument("--min-colours", type=int, default=150)
    parser.add_argument("--shots", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--queries", type=int, default=5)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if not args.stamps.is_dir():
        print(f"{args.stamps} is missing: apt-get install tuxpaint-stamps-default")
        return 2
    stamps, labels, names = load_stamps(args.stamps, args.min_colours, args.min_per_class,
                                        args.ways)
    crops = make_crops(stamps, args.fade, args.sigma, args.seed)
    print(f"{len(stamps)} photos, {len(names)} classes ({', '.join(names)}); fade={args.fade} "
          f"sigma={args.sigma}; {args.draws} draws x {args.queries} queries/class; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    baseline = None
    for kind in args.embedders:
        embedder = build(kind, args.device)
        t0 = time.perf_counter()
        vectors = embedder.embed(crops)
        total = time.perf_counter() - t0
        accs = [few_shot_accuracy(vectors, labels, k, args.queries, args.draws, args.seed)
                for k in args.shots]
        median, fastest = batch_latency_ms(embedder, crops, args.batch)
        baseline = baseline or (embedder.name, median)
        norms = np.linalg.norm(vectors, axis=1)
        acc_text = "  ".join(f"{k}-shot {m:.3f}±{se:.3f}" for k, (m, se) in zip(args.shots, accs))
        print(f"{embedder.name:20s} dim={embedder.dim:5d}  {acc_text}  "
              f"batch of {args.batch}: median {median:.2f} ms, min {fastest:.2f} ms "
              f"({median / baseline[1]:.1f}x {baseline[0]}); {total:.2f} s for {len(crops)}; "
              f"norms {norms.min():.4f}-{norms.max():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
