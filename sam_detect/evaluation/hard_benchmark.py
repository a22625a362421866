# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Build the hard benchmark: cluttered robot-like scenes in a TUNE and a VALIDATION split.

``sam-detect make-benchmark OUT --hard --seed 1`` writes two COCO datasets in the same format as
the easy benchmark (``images/*.png`` + ``annotations.json``):

* ``OUT/tune/``: tune thresholds, segmenters and fades on it.
* ``OUT/validation/``: report on it and never tune on it. Its generator settings differ from the
  tune split's (random stream, background photos and textures, stripe variants, clutter, overlap,
  blur and noise ranges; see :mod:`sam_detect.evaluation.hard_scenes`), and so do its objects:
  the splits share no photo, and a few categories are in validation only
  (:mod:`sam_detect.evaluation.photo_pool`; recorded in ``info["photo_pool"]``).

Scene content is described in :mod:`sam_detect.evaluation.hard_scenes`. Beside the few-shot
categories (the photographic stamp folders with at least ``min_per_class`` photos, the same as the
easy benchmark's), each scene holds distractors: photographic stamps of the remaining, smaller
folders. Their COCO categories carry ``"distractor": true`` and are listed in the dataset's
``info["distractor_categories"]``: they are objects to segment but categories never to teach,
the ground truth of unknown rejection. Annotations keep ``"source"`` (the stamp file) and add
``"visible"`` (visible share of the object after occlusion and frame cut); images record their
``"background"`` (``family`` or ``family:source``), ``"split"`` and the frame ``"effects"``.

The same seed always gives byte-identical files; different splits never share a random stream.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from sam_detect.errors import SamDetectError, require_extra
from sam_detect.evaluation.benchmark import (
    Stamp,
    _group_categories,
    instances_per_category,
    _scaled_stamp,
    check_size,
    load_texture,
    read_rgba,
    scan_photo_stamps,
    stamps_dir,
)
from sam_detect.evaluation.coco import IMAGES_DIR, annotation_from_mask, write_coco
from sam_detect.evaluation.hard_scenes import (
    SPLITS,
    SceneSettings,
    add_shadow,
    find_place,
    finish_frame,
    make_background,
    paste_stamp,
    relight_stamp,
)
from sam_detect.evaluation.photo_pool import divide_photos

DISTRACTOR_PREFIX = "other_"  # given to a distractor folder whose name is a few-shot category's


def split_stamps(stamps: Sequence[Stamp], min_per_class: int,
                 folder: Path) -> tuple[list[Stamp], list[Stamp]]:
    """Return ``(few-shot stamps, distractor stamps)``.

    Few-shot stamps are grouped exactly as the easy benchmark's; every other photographic stamp
    is a distractor, categorised by its own folder (renamed ``other_<name>`` if that name is
    taken by a few-shot category).
    """
    main = _group_categories(list(stamps), min_per_class, folder)
    main_sources = {s.source for s in main}
    main_names = {s.category for s in main}
    distractors = []
    for stamp in stamps:
        if stamp.source in main_sources:
            continue
        name = stamp.category
        if name in main_names:
            name = DISTRACTOR_PREFIX + name
        distractors.append(Stamp(stamp.path, stamp.source, name, stamp.supercategory))
    return main, distractors


def make_hard_benchmark(
    out: str | os.PathLike,
    images: int = 120,
    seed: int = 0,
    splits: Sequence[str] = ("tune", "validation"),
    min_per_class: int = 10,
    size: tuple[int, int] = (640, 480),
    stamps_root: str | os.PathLike | None = None,
    progress: bool = False,
    unseen_categories: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Write the hard benchmark's splits to ``out/<split>/``; return a summary per split.

    The splits share no object photo (:func:`~sam_detect.evaluation.photo_pool.divide_photos`):
    each few-shot category's photos are divided between them, ``unseen_categories`` categories
    are in validation only, and the distractor photos are divided too.

    Args:
        out: Output folder; each split goes to its own subfolder.
        images: Number of images per split.
        seed: Random seed; mixed with each split's own stream.
        splits: Which splits to write (``tune``, ``validation``).
        min_per_class: Least photographic stamps a few-shot category needs.
        size: Image ``(width, height)``.
        stamps_root: Stamps folder (default ``$SAM_DETECT_STAMPS_DIR`` or the Debian one).
        progress: Show a progress bar on stderr.
        unseen_categories: Few-shot categories held out of the tune split (default a quarter).

    Returns:
        ``{split: summary}``; a summary has ``path``, ``images``, ``instances``,
        ``distractor_instances``, ``categories``, ``distractor_categories``, ``per_category``,
        ``backgrounds`` (images per background family), ``stamps`` (the split's photos) and
        ``unseen_categories`` (the categories tune never holds).

    Raises:
        SamDetectError: for missing stamps, an unknown split or invalid arguments.
    """
    require_extra("skimage", "eval", "sam-detect make-benchmark --hard")
    width, height = size
    if images < 1 or width < 64 or height < 64:
        raise SamDetectError("need --images >= 1 and --size of at least 64x64 with --hard")
    check_size(size)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise SamDetectError(f"unknown split '{unknown[0] if unknown else ''}'; choose from "
                             f"{', '.join(SPLITS)}")
    folder = stamps_dir(stamps_root)
    main, distractors = split_stamps(scan_photo_stamps(folder), min_per_class, folder)
    pool = divide_photos(main, distractors, seed, unseen_categories)
    cache: dict[str, np.ndarray] = {}

    def load(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = load_texture(name)
        return cache[name]

    return {split: _write_split(Path(out) / split, SPLITS[split], images, seed, size,
                                *pool.split(split), load, progress, pool.describe(split))
            for split in splits}


def _write_split(out: Path, settings: SceneSettings, images: int, seed: int,
                 size: tuple[int, int], main: list[Stamp], distractors: list[Stamp],
                 load: Any, progress: bool, photo_pool: dict[str, Any]) -> dict[str, Any]:
    from tqdm import tqdm

    width, height = size
    by_category: dict[str, list[Stamp]] = defaultdict(list)
    for stamp in main:
        by_category[stamp.category].append(stamp)
    categories = sorted(by_category)
    distractor_names = sorted({s.category for s in distractors})
    names = categories + distractor_names
    category_ids = {name: i for i, name in enumerate(names, start=1)}
    supercategories = {s.category: s.supercategory for s in [*main, *distractors]}
    rgba_cache: dict[Path, np.ndarray] = {}

    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, settings.stream])
    image_entries: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    backgrounds: dict[str, int] = defaultdict(int)
    shorter = min(width, height)
    for index in tqdm(range(images), desc=f"make-benchmark --hard {settings.split}",
                      disable=not progress):
        image_id = index + 1
        canvas, background = make_background(rng, settings, size, load)
        backgrounds[background.split(":")[0]] += 1
        chosen: list[Stamp] = []
        for _ in range(int(rng.integers(settings.objects_per_image[0],
                                        settings.objects_per_image[1] + 1))):
            category = categories[int(rng.integers(len(categories)))]
            chosen.append(by_category[category][int(rng.integers(len(by_category[category])))])
        if distractors:
            for _ in range(int(rng.integers(settings.distractors_per_image[0],
                                            settings.distractors_per_image[1] + 1))):
                chosen.append(distractors[int(rng.integers(len(distractors)))])
        chosen = [chosen[i] for i in rng.permutation(len(chosen))]  # distractors on top too
        placed: list[tuple[np.ndarray, int, Stamp]] = []
        whole: dict[int, int] = {}  # the stamp's area, inside the frame or not
        for stamp in chosen:
            if stamp.path not in rgba_cache:
                rgba_cache[stamp.path] = read_rgba(stamp.path)
            rgba = rgba_cache[stamp.path]
            longest = int(shorter * rng.uniform(*settings.scale_range))
            longest = max(16, min(longest, 3 * max(rgba.shape[:2])))
            scaled = relight_stamp(rng, _scaled_stamp(rgba, longest), settings)
            place = find_place(rng, settings, (height, width), scaled,
                               [(m, a) for m, a, _ in placed])
            if place is None:
                continue
            x, y, mask = place
            if rng.random() < settings.shadow_probability:
                add_shadow(rng, canvas, scaled[:, :, 3].astype(np.float32) / 255.0, x, y)
            paste_stamp(canvas, scaled, x, y)
            for earlier, _, _ in placed:
                earlier &= ~mask
            placed.append((mask, int(np.count_nonzero(mask)), stamp))
            whole[id(mask)] = int(np.count_nonzero(scaled[:, :, 3] > 127))
        image, effects = finish_frame(rng, canvas, settings)
        file_name = f"{image_id:06d}.png"
        cv2.imwrite(str(out / IMAGES_DIR / file_name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        image_entries.append({"id": image_id, "file_name": file_name, "width": width,
                              "height": height, "background": background,
                              "split": settings.split, "effects": effects})
        for mask, _, stamp in placed:
            if not mask.any():
                continue
            ann = annotation_from_mask(len(annotations) + 1, image_id,
                                       category_ids[stamp.category], mask, source=stamp.source)
            ann["visible"] = round(int(np.count_nonzero(mask)) / whole[id(mask)], 3)
            annotations.append(ann)
    info = {
        "description": "sam-detect hard few-shot benchmark: tuxpaint photo stamps with "
                       "distractors, overlap, shadows and camera effects on cluttered, "
                       "multi-coloured and photo backgrounds",
        "split": settings.split,
        "seed": seed,
        "images": images,
        "size": [width, height],
        "distractor_categories": distractor_names,
        "settings": settings.to_dict(),
        "photo_pool": photo_pool,
        "license": "stamps: tuxpaint-stamps-default (GPL-2.0); photos and textures: "
                   "scikit-image data",
    }
    cats = [{"id": category_ids[c], "name": c, "supercategory": supercategories[c],
             "distractor": c in distractor_names}
            for c in names]
    path = write_coco(out, image_entries, cats, annotations, info)
    # Every distractor category is listed, with 0 when no scene drew it.
    per_category = dict(sorted({**dict.fromkeys(distractor_names, 0),
                                **instances_per_category(annotations, category_ids)}.items()))
    return {
        "path": str(path),
        "images": images,
        "instances": len(annotations),
        "distractor_instances": sum(per_category[c] for c in distractor_names),
        "categories": categories,
        "distractor_categories": distractor_names,
        "per_category": per_category,
        "backgrounds": dict(sorted(backgrounds.items())),
        "stamps": len(main) + len(distractors),
        "unseen_categories": list(photo_pool["unseen_categories"]),
    }


__all__ = ["DISTRACTOR_PREFIX", "make_hard_benchmark", "split_stamps"]
