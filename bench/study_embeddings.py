# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Study of instance embeddings on EfficientNet-Lite0's feature maps (issue 16, item 1).

Two steps, so that every variant is a few seconds of numpy on cached features:

``extract DATASET CACHE``
    For every ground-truth object of a COCO dataset (``make-benchmark`` output): its hard-crop
    faded crop, letterboxed to 224 pixels, through the network once as it is and once per
    teaching-time view (mirror, two rotations, half resolution); the feature maps after blocks
    10 (stride 16), 14, 15 and the head (stride 32) and the letterboxed mask at both strides go
    to ``CACHE/crops.npz`` (float16). The whole frame through the network at the objectness
    segmenter's working size (416) and at full size gives, per object, the frame's feature maps
    pooled inside its mask (``CACHE/frames.npz``): the "one backbone pass" variants.

``study CACHE [CACHE ...]``
    Few-shot accuracy (the k-NN vote of :class:`~sam_detect.classifier.KNNClassifier`, closed
    set: top 5, similarity ** 4) at 1/5/10 shots over ``--seeds`` support/query splits made by
    the evaluator's own :func:`~sam_detect.evaluation.evaluator.split_instances` (support and
    query never share a photo; the dataset's distractors are never taught), and the AUROC of
    telling queries of taught categories from never-taught ones by the best similarity, for
    each vector variant. Run it on TUNE splits only; report validation through
    ``sam-detect evaluate``.

Example::

    OMP_NUM_THREADS=1 python bench/study_embeddings.py extract /work/data/hard/tune \
        /work/data/cache/embed/hard_tune
    python bench/study_embeddings.py study /work/data/cache/embed/hard_tune
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TAPS = (10, 14, 15)  # blocks whose outputs are kept besides the head's
TAP_NAMES = [f"block{t}" for t in TAPS] + ["head"]
VIEWS = ("orig", "flip", "rot+25", "rot-25", "half")


def network() -> Callable[[np.ndarray], list[np.ndarray]]:
    """Return the tap network through ONNX Runtime (RGB uint8 batch in, maps out)."""
    import torch

    from sam_detect.embedding.efficientnet import MEAN, STD, load_model, network_module
    from sam_detect.models.onnx_cpu import OnnxCpuNetwork

    module = network_module(load_model("cpu"), "taps", TAPS, head=True)
    session = OnnxCpuNetwork.export(module, torch.zeros(1, 3, 224, 224), ["image"], TAP_NAMES,
                                    {n: [0, 2, 3] for n in ["image", *TAP_NAMES]})

    def run(batch: np.ndarray) -> list[np.ndarray]:
        return session((batch.transpose(0, 3, 1, 2).astype(np.float32) - MEAN) / STD)

    return run


def letterbox_mask(mask: np.ndarray, size: int = 224) -> np.ndarray:
    """Letterbox a boolean mask exactly as :func:`letterbox` places its crop (float 0..1)."""
    from sam_detect.embedding.efficientnet import letterbox

    three = np.repeat(mask.astype(np.uint8)[:, :, None] * 255, 3, axis=2)
    return letterbox(three, size)[:, :, 0].astype(np.float32) / 255.0


def view(crop: np.ndarray, mask: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Return a teaching-time view of a crop and its mask."""
    if kind == "orig":
        return crop, mask
    if kind == "flip":
        return crop[:, ::-1].copy(), mask[:, ::-1].copy()
    if kind.startswith("flip+"):
        c, m = view(crop, mask, "flip")
        return view(c, m, kind[5:])
    if kind in ("r90", "r180", "r270"):
        turns = int(kind[1:]) // 90
        return (np.ascontiguousarray(np.rot90(crop, turns)),
                np.ascontiguousarray(np.rot90(mask, turns)))
    if kind.startswith("rot"):
        angle = float(kind[3:])
        h, w = crop.shape[:2]
        side = int(np.ceil(np.hypot(h, w)))
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        matrix[:, 2] += ((side - w) / 2, (side - h) / 2)
        turned = cv2.warpAffine(crop, matrix, (side, side), flags=cv2.INTER_LINEAR)
        turned_mask = cv2.warpAffine(mask.astype(np.uint8), matrix, (side, side),
                                     flags=cv2.INTER_NEAREST) > 0
        ys, xs = np.nonzero(turned_mask)
        if ys.size == 0:
            return crop, mask
        box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
        return np.ascontiguousarray(turned[box]), turned_mask[box]
    if kind == "half":
        h, w = crop.shape[:2]
        small = cv2.resize(crop, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), mask
    raise ValueError(kind)


def pool_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Return the share of each feature cell covered by ``mask`` (area average)."""
    return cv2.resize(mask.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def add_crop_maps(crop_maps: dict[str, list[np.ndarray]], run: Callable[..., list[np.ndarray]],
                  image: np.ndarray, mask: np.ndarray, fade: Any,
                  views: tuple[str, ...]) -> tuple[int, int, int, int]:
    """Append one object's tap maps (every view) and its pooled masks; return its crop box."""
    from sam_detect.embedding.efficientnet import letterbox
    from sam_detect.fading import make_faded_crop

    crop, (x0, y0, x1, y1) = make_faded_crop(image, mask, fade)
    crop_mask = mask[y0:y1, x0:x1]
    batch, lmasks = [], []
    for kind in views:
        c, m = view(crop, crop_mask, kind)
        batch.append(letterbox(c))
        lmasks.append(letterbox_mask(m))
    for name, found in zip(TAP_NAMES, run(np.stack(batch))):
        crop_maps.setdefault(name, []).append(found.astype(np.float16))
    for stride, size in (("s16", 14), ("s32", 7)):
        crop_maps.setdefault(f"mask_{stride}", []).append(
            np.stack([pool_mask(m, (size, size)) for m in lmasks]).astype(np.float16))
    return x0, y0, x1, y1


def extract(dataset_path: str, cache: Path, views: tuple[str, ...], frame_sizes: tuple[int, ...]
            ) -> None:
    """Write ``crops.npz`` and ``frames.npz`` for every ground-truth object of a dataset."""
    from tqdm import tqdm

    from sam_detect.evaluation.coco import CocoDataset
    from sam_detect.fading import create_fade

    cache.mkdir(parents=True, exist_ok=True)
    dataset = CocoDataset(dataset_path)
    fade = create_fade("hard_crop")
    run = network()
    instances = dataset.instances()
    by_image: dict[int, list[Any]] = {}
    for gt in instances:
        by_image.setdefault(gt.image_id, []).append(gt)
    crop_maps: dict[str, list[np.ndarray]] = {}
    frame_vectors: dict[str, list[np.ndarray]] = {}
    meta: dict[str, list[Any]] = {k: [] for k in ("id", "image_id", "category", "source",
                                                  "area", "box_side", "role")}
    start = time.perf_counter()
    for image_id in tqdm(sorted(by_image), desc="extract"):
        image = dataset.load_image(image_id)
        gts = by_image[image_id]
        masks = [dataset.mask(g.id) for g in gts]
        for gt, mask in zip(gts, masks):
            x0, y0, x1, y1 = add_crop_maps(crop_maps, run, image, mask, fade, views)
            meta["id"].append(gt.id)
            meta["image_id"].append(image_id)
            meta["category"].append(gt.category)
            meta["source"].append(gt.source)
            meta["area"].append(int(mask.sum()))
            meta["box_side"].append(max(x1 - x0, y1 - y0))
            meta["role"].append(dataset.image_info(image_id).get("role", "scene"))
        for size in frame_sizes:
            height, width = image.shape[:2]
            scale = min(1.0, size / max(height, width))
            small = image if scale == 1.0 else cv2.resize(
                image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
            outputs = run(small[None])
            for name, found in zip(TAP_NAMES, outputs):
                maps = found[0].astype(np.float32)
                for mask in masks:
                    weights = pool_mask(mask, maps.shape[1:])
                    frame_vectors.setdefault(f"{size}_{name}_avg", []).append(
                        (maps * weights).sum(axis=(1, 2)) / max(weights.sum(), 1e-6))
                    frame_vectors.setdefault(f"{size}_{name}_gem", []).append(
                        ((np.maximum(maps, 1e-6) ** 3 * weights).sum(axis=(1, 2))
                         / max(weights.sum(), 1e-6)) ** (1 / 3))
                    frame_vectors.setdefault(f"{size}_{name}_cells", []).append(
                        np.float32(weights.sum()))
    np.savez(cache / "crops.npz", views=np.array(views),
             **{k: np.stack(v) for k, v in crop_maps.items()},
             **{f"meta_{k}": np.array(v) for k, v in meta.items()})
    np.savez(cache / "frames.npz", **{k: np.stack(v).astype(np.float32)
                                      for k, v in frame_vectors.items()},
             meta_id=np.array(meta["id"]))
    info = dataset.info
    (cache / "never_taught.txt").write_text(
        "\n".join(info.get("distractor_categories", [])) + "\n")
    seconds = time.perf_counter() - start
    print(f"{len(meta['id'])} objects in {len(by_image)} images, {seconds:.0f} s"
          f" -> {cache}")


def extract_reference(cache: Path, views: tuple[str, ...]) -> None:
    """Write ``crops.npz`` for the generic-object reference set (with the objects' masks)."""
    from sam_detect.fading import create_fade

    cache.mkdir(parents=True, exist_ok=True)
    fade = create_fade("hard_crop")
    run = network()
    pairs = reference_pairs()
    crop_maps: dict[str, list[np.ndarray]] = {}
    for image, mask in pairs:
        add_crop_maps(crop_maps, run, image, mask, fade, views)
    n = len(pairs)
    np.savez(cache / "crops.npz", views=np.array(views),
             **{k: np.stack(v) for k, v in crop_maps.items()},
             meta_id=np.arange(n), meta_image_id=np.arange(n), meta_category=np.array(["ref"] * n),
             meta_source=np.arange(n).astype(str), meta_area=np.zeros(n),
             meta_box_side=np.zeros(n))
    print(f"{n} reference objects -> {cache}")


def extract_views(dataset_path: str | None, cache: Path, views: tuple[str, ...],
                  size: int = 224) -> None:
    """Write ``views.npz`` (``views{size}.npz``): GAP and GeM-3 head vectors, per view."""
    from tqdm import tqdm

    from sam_detect.embedding.efficientnet import letterbox
    from sam_detect.evaluation.coco import CocoDataset
    from sam_detect.fading import create_fade, make_faded_crop

    run = network()
    fade = create_fade("hard_crop")
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    if dataset_path is None:  # the reference set
        pairs = reference_pairs()
    else:
        dataset = CocoDataset(dataset_path)
        by_image: dict[int, list[Any]] = {}
        for gt in dataset.instances():
            by_image.setdefault(gt.image_id, []).append(gt)
        for image_id in sorted(by_image):
            image = dataset.load_image(image_id)
            pairs += [(image, dataset.mask(g.id)) for g in by_image[image_id]]
    out: dict[str, list[np.ndarray]] = {"gap": [], "gem": []}
    for image, mask in tqdm(pairs, desc="views"):
        crop, (x0, y0, x1, y1) = make_faded_crop(image, mask, fade)
        batch = [letterbox(view(crop, mask[y0:y1, x0:x1], kind)[0], size) for kind in views]
        head = run(np.stack(batch))[-1].astype(np.float32)
        out["gap"].append(head.mean(axis=(2, 3)))
        out["gem"].append((np.maximum(head, 1e-6) ** 3).mean(axis=(2, 3)) ** (1 / 3))
    name = "views.npz" if size == 224 else f"views{size}.npz"
    np.savez(cache / name, names=np.array(views), **{k: np.stack(v) for k, v in out.items()})
    print(f"{len(pairs)} objects x {len(views)} views at {size} px -> {cache / name}")


def reference_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the generic-object reference set as (image, mask) pairs."""
    from sam_detect.classifier import reference as ref
    from sam_detect.segmentation import NaiveSegmenter

    pairs = []
    segmenter = NaiveSegmenter()
    for image in ref._photos():
        height, width = image.shape[:2]
        segments = sorted(segmenter.segment(image), key=lambda s: -s.area)
        masks = [s.mask for s in segments[:ref.SEGMENTS_PER_PHOTO]]
        for row in range(ref.GRID):
            for col in range(ref.GRID):
                tile = np.zeros((height, width), bool)
                tile[row * height // ref.GRID:(row + 1) * height // ref.GRID,
                     col * width // ref.GRID:(col + 1) * width // ref.GRID] = True
                masks.append(tile)
        pairs += [(image, mask) for mask in masks]
    return pairs + ref._primitives()


def main(argv: list[str] | None = None) -> int:
    """Run ``extract`` or ``study``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract")
    ex.add_argument("dataset")
    ex.add_argument("cache", type=Path)
    ex.add_argument("--views", default=",".join(VIEWS))
    ex.add_argument("--frame-sizes", default="416,640")
    rf = sub.add_parser("reference")
    rf.add_argument("cache", type=Path)
    rf.add_argument("--views", default=",".join(VIEWS))
    vw = sub.add_parser("views")
    vw.add_argument("dataset", help="COCO dataset, or 'reference'")
    vw.add_argument("cache", type=Path)
    every = ("orig,flip,r90,r180,r270,flip+r90,flip+r180,flip+r270,rot+45,rot-45,flip+rot+45,"
             "flip+rot-45,half")
    vw.add_argument("--views", default=every)
    vw.add_argument("--size", type=int, default=224)
    st = sub.add_parser("study")
    st.add_argument("caches", nargs="+", type=Path)
    st.add_argument("--seeds", type=int, default=10)
    st.add_argument("--shots", default="1,5,10")
    st.add_argument("--variants", help="comma-separated variant names (default: all)")
    args = parser.parse_args(argv)
    if args.command == "extract":
        extract(args.dataset, args.cache, tuple(args.views.split(",")),
                tuple(int(s) for s in args.frame_sizes.split(",") if s))
        return 0
    if args.command == "views":
        extract_views(None if args.dataset == "reference" else args.dataset, args.cache,
                      tuple(args.views.split(",")), args.size)
        return 0
    if args.command == "reference":
        extract_reference(args.cache, tuple(args.views.split(",")))
        return 0
    from study_variants import study  # noqa: E402 - the numpy half lives beside this file

    return study(args)


if __name__ == "__main__":
    sys.exit(main())
