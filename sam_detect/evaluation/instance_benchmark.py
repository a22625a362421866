# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Build the instance-level benchmark: teach THIS object, recognise it as a robot's camera sees it.

``sam-detect make-benchmark OUT --instance --seed 1`` writes a ``tune`` and a ``validation``
split (``OUT/<split>/images/*.png`` + ``annotations.json``, COCO like the other benchmarks), where
each label is ONE photographed object: one tuxpaint photo stamp, its alpha the exact mask, its
label the stamp's path (``food/fruit/apple_red``). Per split:

* **taught objects** (16 by default) each get a few **teaching pictures** (5 by default): the
  object alone, upright, near the middle of the frame, as a user shows it to the robot (mild
  light changes, real backgrounds). These are ``"role": "teach"`` images; the evaluator teaches
  from them and never asks about them.
* **never-taught objects** (8 by default): half of them are *of the same kind* as a taught object
  (another photo of its folder, preferring the same name: another apple, another guitar, another
  gravestone), the others of kinds never taught. They are listed in
  ``info["distractor_categories"]`` (never taught, like the hard benchmark's distractors) and in
  ``info["never_taught_same_kind"]``.
* **scenes** (``images`` per split, ``"role": "scene"``): 2-4 taught and 1-2 never-taught
  objects each, every object seen as a robot's camera varies it: scale, in-plane rotation,
  mirror, brightness / contrast / gamma / colour cast of the object, defocus blur of the object,
  partial occlusion by later objects, cuts by the frame edge, on cluttered and real backgrounds
  with the hard benchmark's frame effects (illumination, colour cast, blur, noise, JPEG). Each
  annotation records its ``"view"``: what was applied to that view.

Objects come from the same photo division as the hard benchmark
(:func:`~sam_detect.evaluation.photo_pool.divide_photos`, same seed): tune and validation share
no object, and one seed's tune data, category or instance level, never holds a validation photo.
Backgrounds and frame effects are the hard splits' (:data:`~.hard_scenes.TUNE`,
:data:`~.hard_scenes.VALIDATION`: disjoint photos and textures). Every object appears at most
once per scene; the objects are dealt from shuffled decks so each gets about the same number of
views. The same seed gives byte-identical files.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from sam_detect.errors import SamDetectError, require_extra
from sam_detect.evaluation.benchmark import (
    _folder_category,
    _scaled_stamp,
    check_size,
    load_texture,
    read_rgba,
    scan_photo_stamps,
    Stamp,
    stamps_dir,
)
from sam_detect.evaluation.coco import IMAGES_DIR, annotation_from_mask, write_coco
from sam_detect.evaluation.hard_benchmark import split_stamps
from sam_detect.evaluation.hard_scenes import (
    find_place,
    finish_frame,
    json_ready,
    make_background,
    paste_stamp,
    SceneSettings,
    SPLITS as SCENE_SPLITS,
)
from sam_detect.evaluation.photo_pool import divide_photos

KIND = "instance"
#: The view transforms a scene view may carry (each present in every split of a useful size).
VIEW_TRANSFORMS = ("scale", "rotation", "mirror", "brightness", "contrast", "colour_cast",
                   "blur", "occlusion", "edge_cut", "clutter")
Range = tuple[float, float]


@dataclass(frozen=True)
class ViewSettings:
    """How an instance split varies its objects' views.

    Attributes:
        split: ``tune`` or ``validation``.
        stream: Mixed with the seed; no seed gives the same draws in both splits.
        scene: The hard split whose backgrounds and frame effects the scenes use.
        families: Background family -> weight (more real photos and textures than the hard
            benchmark: clutter a robot sees).
        taught_per_scene: Inclusive range of taught objects per scene.
        never_taught_per_scene: Inclusive range of never-taught objects per scene.
        scale_range: Longest side as a fraction of the frame's shorter side (scene views).
        rotation: Largest in-plane rotation, degrees (either way).
        mirror_probability: Chance a view is mirrored.
        gain: Brightness gain range.
        contrast: Contrast range (around the object's mean colour).
        gamma: Gamma range.
        tint: Largest per-channel colour cast of the object.
        blur_probability: Chance of a defocus blur of the object (sigma in ``blur_sigma``).
        blur_sigma: Defocus blur sigma range, as a fraction of the object's longest side.
        edge_cut_probability: Chance that a view may stick out of the frame (up to the scene
            settings' ``max_outside``).
        teach_scale: Longest side of a teaching picture's object, fraction of the shorter side.
        teach_rotation: Largest rotation in a teaching picture, degrees.
        teach_light: Largest gain / contrast / gamma deviation in a teaching picture.
    """

    split: str
    stream: int
    scene: SceneSettings
    families: tuple[tuple[str, float], ...] = (("photo", 0.35), ("texture", 0.25),
                                               ("gradient", 0.1), ("patchwork", 0.1),
                                               ("stripes", 0.05), ("confetti", 0.15))
    taught_per_scene: tuple[int, int] = (2, 4)
    never_taught_per_scene: tuple[int, int] = (1, 2)
    scale_range: Range = (0.15, 0.45)
    rotation: float = 180.0
    mirror_probability: float = 0.5
    gain: Range = (0.6, 1.4)
    contrast: Range = (0.6, 1.3)
    gamma: Range = (0.75, 1.3)
    tint: float = 0.15
    blur_probability: float = 0.3
    blur_sigma: Range = (0.005, 0.02)
    edge_cut_probability: float = 0.25
    teach_scale: Range = (0.35, 0.6)
    teach_rotation: float = 10.0
    teach_light: float = 0.08

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-ready values (the scene part by its split name)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["scene"] = self.scene.split
        return json_ready(data)


SPLITS = {
    "tune": ViewSettings("tune", 111, SCENE_SPLITS["tune"]),
    "validation": ViewSettings("validation", 222, SCENE_SPLITS["validation"]),
}


@dataclass(frozen=True)
class InstanceObject:
    """One photographed object of an instance split.

    Attributes:
        label: Its label: the stamp's path without ``.png`` (``food/fruit/apple_red``).
        stamp: The photo stamp.
        kind: Its folder category (``fruit``): objects of one kind look alike.
        taught: Whether it is taught (else it is one of the never-taught objects).
        same_kind: For a never-taught object, whether a taught object has its kind.
    """

    label: str
    stamp: Stamp
    kind: str
    taught: bool
    same_kind: bool = False


def object_label(stamp: Stamp) -> str:
    """Return the label of a stamp's object: its path without the extension."""
    return stamp.source[:-4] if stamp.source.lower().endswith(".png") else stamp.source


def object_kind(stamp: Stamp) -> str:
    """Return a stamp's kind: its own folder category (``auto``, not the merged ``vehicles``)."""
    return _folder_category(Path(stamp.source))[0]


def _name_stem(stamp: Stamp) -> str:
    """Return the first word of a stamp's file name: ``apple`` for ``apple_granny_smith``."""
    words = [w for w in re.split(r"[^a-z]+", Path(stamp.source).stem.lower()) if w]
    return words[0] if words else ""


def choose_objects(photos: Sequence[Stamp], rng: np.random.Generator, taught: int,
                   same_kind: int, other_kind: int) -> list[InstanceObject]:
    """Choose the taught and never-taught objects of a split from its photos.

    ``same_kind`` never-taught objects are paired with a taught object of their kind, preferring
    the pairs whose file names begin alike (``apple_red`` / ``apple_green``); the rest of the
    taught objects are spread over kinds (at most two per kind); ``other_kind`` never-taught
    objects come from kinds nothing taught has.

    Raises:
        SamDetectError: when the photos cannot provide that many objects.
    """
    by_kind: dict[str, list[Stamp]] = defaultdict(list)
    for stamp in sorted(photos, key=lambda s: s.source):
        by_kind[object_kind(stamp)].append(stamp)
    kinds = sorted(by_kind)
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    for kind in kinds:
        by_kind[kind] = [by_kind[kind][i] for i in rng.permutation(len(by_kind[kind]))]

    def pair_in(kind: str) -> tuple[Stamp, Stamp] | None:
        stamps = by_kind[kind]
        for i, first in enumerate(stamps):
            for second in stamps[i + 1:]:
                if _name_stem(first) and _name_stem(first) == _name_stem(second):
                    return first, second
        return (stamps[0], stamps[1]) if len(stamps) >= 2 else None

    chosen: list[InstanceObject] = []
    used: set[str] = set()
    taught_kinds: dict[str, int] = defaultdict(int)
    # Kinds with a same-name pair first: "another apple" is the hardest never-taught object.
    pairable = [k for k in kinds if len(by_kind[k]) >= 2]
    pairable.sort(key=lambda k: 0 if _has_named_pair(by_kind[k]) else 1)
    for kind in pairable[:same_kind]:
        pair = pair_in(kind)
        if pair is None:
            continue
        first, second = pair
        chosen.append(InstanceObject(object_label(first), first, kind, True))
        chosen.append(InstanceObject(object_label(second), second, kind, False, True))
        used.update((first.source, second.source))
        taught_kinds[kind] += 1
    if sum(not o.taught for o in chosen) < same_kind:
        raise SamDetectError(f"the split's photos have fewer than {same_kind} kinds with two "
                             "photos: lower the never-taught objects or use more stamps")
    # Keep the kinds needed for never-taught objects of other kinds out of the taught ones.
    untouched = [k for k in kinds if k not in taught_kinds]
    reserved = set(untouched[-other_kind:]) if other_kind else set()
    for round_ in range(2):  # one object per kind, then a second one
        for kind in kinds:
            if sum(o.taught for o in chosen) >= taught:
                break
            if kind in reserved or taught_kinds[kind] > round_:
                continue
            stamp = next((s for s in by_kind[kind] if s.source not in used), None)
            if stamp is None:
                continue
            chosen.append(InstanceObject(object_label(stamp), stamp, kind, True))
            used.add(stamp.source)
            taught_kinds[kind] += 1
    if sum(o.taught for o in chosen) < taught:
        raise SamDetectError(f"the split's photos give fewer than {taught} taught objects; "
                             "lower --taught-objects")
    others = [k for k in kinds if k not in taught_kinds]
    for kind in others[-other_kind:] if other_kind else []:
        stamp = next((s for s in by_kind[kind] if s.source not in used), None)
        if stamp is not None:
            chosen.append(InstanceObject(object_label(stamp), stamp, kind, False, False))
            used.add(stamp.source)
    if sum(not o.taught and not o.same_kind for o in chosen) < other_kind:
        raise SamDetectError(f"the split's photos leave fewer than {other_kind} kinds untaught "
                             "for never-taught objects; lower --never-taught")
    return sorted(chosen, key=lambda o: o.label)


def _has_named_pair(stamps: Sequence[Stamp]) -> bool:
    stems = [_name_stem(s) for s in stamps]
    return any(s and stems.count(s) >= 2 for s in stems)


def transform_view(rgba: np.ndarray, longest: int, angle: float, mirror: bool) -> np.ndarray:
    """Return the stamp scaled (longest side ``longest``), mirrored, rotated, cropped to its mask.

    Colour is premultiplied by alpha while resampling, so no transparent colour bleeds in.
    """
    view = _scaled_stamp(rgba, longest)
    if mirror:
        view = np.ascontiguousarray(view[:, ::-1])
    if abs(angle) < 1e-6:
        return view
    h, w = view.shape[:2]
    # Pixel centres: a quarter turn maps the grid onto itself exactly.
    rotation = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle, 1.0)
    cos, sin = abs(rotation[0, 0]), abs(rotation[0, 1])
    new_w = int(np.ceil(h * sin + w * cos - 1e-6))
    new_h = int(np.ceil(h * cos + w * sin - 1e-6))
    rotation[0, 2] += (new_w - w) / 2.0
    rotation[1, 2] += (new_h - h) / 2.0
    alpha = view[:, :, 3:4].astype(np.float32) / 255.0
    premult = np.concatenate([view[:, :, :3] * alpha, alpha * 255.0], axis=2)
    turned = cv2.warpAffine(premult, rotation, (new_w, new_h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return _unpremultiply(turned)


def _unpremultiply(premult: np.ndarray) -> np.ndarray:
    """Return RGBA ``uint8`` from premultiplied float RGBA, cropped to its mask."""
    out_alpha = np.clip(premult[:, :, 3:4], 0, 255)
    colour = premult[:, :, :3] / np.maximum(out_alpha / 255.0, 1e-6)
    out = (np.concatenate([np.clip(colour, 0, 255), out_alpha], axis=2) + 0.5).astype(np.uint8)
    ys, xs = np.nonzero(out[:, :, 3] > 127)
    if not len(ys):
        return out
    return out[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def relight_view(rgba: np.ndarray, gain: float, contrast: float, gamma: float,
                 tint: np.ndarray) -> np.ndarray:
    """Return ``rgba`` with gamma, contrast (around its mean colour), gain and a colour cast."""
    mask = rgba[:, :, 3] > 127
    colour = np.power(rgba[:, :, :3].astype(np.float32) / 255.0, gamma)
    mean = colour[mask].mean(axis=0) if mask.any() else colour.reshape(-1, 3).mean(axis=0)
    colour = ((colour - mean) * contrast + mean) * gain * tint.astype(np.float32)
    out = rgba.copy()
    out[:, :, :3] = np.clip(colour * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def defocus(rgba: np.ndarray, sigma: float) -> np.ndarray:
    """Return ``rgba`` blurred as an object out of focus (its rim softens with it)."""
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    premult = np.concatenate([rgba[:, :, :3] * alpha, alpha * 255.0], axis=2)
    pad = int(3 * sigma) + 1
    premult = np.pad(premult, ((pad, pad), (pad, pad), (0, 0)))
    return _unpremultiply(cv2.GaussianBlur(premult, (0, 0), sigma))


def _deal(rng: np.random.Generator, deck: list[int], count: int, items: int,
          exclude: set[int]) -> list[int]:
    """Deal ``count`` distinct items from a reshuffled deck of ``range(items)``."""
    dealt: list[int] = []
    skipped: list[int] = []
    while len(dealt) < min(count, items - len(exclude)):
        if not deck:
            deck.extend(int(i) for i in rng.permutation(items))
        item = deck.pop()
        if item in exclude or item in dealt:
            skipped.append(item)
            continue
        dealt.append(item)
    deck.extend(skipped)  # put back what this scene could not take
    return dealt


def make_instance_benchmark(
    out: str | os.PathLike,
    images: int = 120,
    seed: int = 0,
    splits: Sequence[str] = ("tune", "validation"),
    min_per_class: int = 10,
    size: tuple[int, int] = (640, 480),
    stamps_root: str | os.PathLike | None = None,
    taught_objects: int = 16,
    never_taught: int = 8,
    teach_views: int = 5,
    unseen_categories: int | None = None,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """Write the instance-level benchmark's splits to ``out/<split>/``; return a summary per split.

    Args:
        out: Output folder; each split goes to its own subfolder.
        images: Scenes per split (teaching pictures come on top).
        seed: Random seed (also of the photo division shared with the hard benchmark).
        splits: Which splits to write (``tune``, ``validation``).
        min_per_class: As for the hard benchmark (it decides the photo division).
        size: Image ``(width, height)``.
        stamps_root: Stamps folder (default ``$SAM_DETECT_STAMPS_DIR`` or the Debian one).
        taught_objects: Objects taught per split.
        never_taught: Never-taught objects per split; half (rounded up) of a taught object's kind.
        teach_views: Teaching pictures per taught object.
        unseen_categories: As for the hard benchmark (it decides the photo division).
        progress: Show a progress bar on stderr.

    Returns:
        ``{split: summary}``: ``path``, ``images``, ``scenes``, ``teach_images``, ``instances``,
        ``taught_objects``, ``never_taught_objects``, ``same_kind_never_taught``, ``kinds``,
        ``views_per_object`` (min / mean / max scene views) and ``transforms`` (scene views
        carrying each of :data:`VIEW_TRANSFORMS`).

    Raises:
        SamDetectError: for missing stamps, an unknown split or invalid arguments.
    """
    require_extra("skimage", "eval", "sam-detect make-benchmark --instance")
    width, height = size
    if images < 1 or width < 64 or height < 64:
        raise SamDetectError("need --images >= 1 and --size of at least 64x64 with --instance")
    check_size(size)
    if taught_objects < 2 or never_taught < 0 or teach_views < 1:
        raise SamDetectError("need --taught-objects >= 2, --never-taught >= 0 and "
                             "--teach-views >= 1")
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise SamDetectError(f"unknown split '{unknown[0] if unknown else ''}'; choose from "
                             f"{', '.join(SPLITS)}")
    folder = stamps_dir(stamps_root)
    main, distractors = split_stamps(scan_photo_stamps(folder), min_per_class, folder)
    pool = divide_photos(main, distractors, seed, unseen_categories)
    textures: dict[str, np.ndarray] = {}

    def load(name: str) -> np.ndarray:
        if name not in textures:
            textures[name] = load_texture(name)
        return textures[name]

    summaries = {}
    for split in splits:
        settings = SPLITS[split]
        photos = [*pool.split(split)[0], *pool.split(split)[1]]
        rng = np.random.default_rng([seed, settings.stream, 0])
        same = (never_taught + 1) // 2
        objects = choose_objects(photos, rng, taught_objects, same, never_taught - same)
        summaries[split] = _write_split(Path(out) / split, settings, objects, images, seed,
                                        size, teach_views, load, progress, pool.describe(split))
    return summaries


def _render_teaching(rng: np.random.Generator, settings: ViewSettings, rgba: np.ndarray,
                     size: tuple[int, int], load: Callable[[str], np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Return (image, mask, view) of one teaching picture: the object alone, as a user shows it."""
    width, height = size
    light = settings.teach_light
    calm = dataclasses.replace(
        settings.scene, families=(("photo", 0.3), ("texture", 0.3), ("gradient", 0.4)),
        illumination=0.1, colour_cast=0.04, blur_probability=0.0, motion_blur_probability=0.0,
        noise_sigma=(0.0, 3.0), jpeg_probability=0.0)
    canvas, background = make_background(rng, calm, size, load)
    longest = int(min(width, height) * rng.uniform(*settings.teach_scale))
    longest = max(16, min(longest, 3 * max(rgba.shape[:2])))
    angle = float(rng.uniform(-settings.teach_rotation, settings.teach_rotation))
    view = transform_view(rgba, longest, angle, False)
    gain, contrast, gamma = (float(v) for v in rng.uniform(1 - light, 1 + light, 3))
    tint = 1.0 + rng.uniform(-light / 2, light / 2, 3)
    view = relight_view(view, gain, contrast, gamma, tint)
    h, w = view.shape[:2]
    x = int((width - w) / 2 + rng.uniform(-0.1, 0.1) * width)
    y = int((height - h) / 2 + rng.uniform(-0.1, 0.1) * height)
    x, y = int(np.clip(x, 0, max(0, width - w))), int(np.clip(y, 0, max(0, height - h)))
    mask = paste_stamp(canvas, view, x, y)
    image, effects = finish_frame(rng, canvas, calm)
    return image, mask, {"role": "teach", "background": background, "effects": effects,
                         "rotation": round(angle, 1), "gain": round(gain, 3),
                         "contrast": round(contrast, 3)}


def _scene_view(rng: np.random.Generator, settings: ViewSettings, rgba: np.ndarray,
                shorter: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Return one scene view of an object (before placement) and what was applied to it."""
    longest = int(shorter * rng.uniform(*settings.scale_range))
    longest = max(16, min(longest, 3 * max(rgba.shape[:2])))
    angle = float(rng.uniform(-settings.rotation, settings.rotation))
    mirror = bool(rng.random() < settings.mirror_probability)
    view = transform_view(rgba, longest, angle, mirror)
    gain = float(rng.uniform(*settings.gain))
    contrast = float(rng.uniform(*settings.contrast))
    gamma = float(rng.uniform(*settings.gamma))
    tint = 1.0 + rng.uniform(-settings.tint, settings.tint, 3)
    view = relight_view(view, gain, contrast, gamma, tint)
    blur = 0.0
    if rng.random() < settings.blur_probability:
        blur = float(rng.uniform(*settings.blur_sigma) * longest)
        if blur >= 0.5:
            view = defocus(view, blur)
        else:
            blur = 0.0
    return view, {"role": "scene", "scale": round(longest / shorter, 3),
                  "rotation": round(angle, 1), "mirror": mirror, "gain": round(gain, 3),
                  "contrast": round(contrast, 3), "gamma": round(gamma, 3),
                  "colour_cast": [round(float(t), 3) for t in tint], "blur": round(blur, 2)}


def _write_split(out: Path, settings: ViewSettings, objects: list[InstanceObject], images: int,
                 seed: int, size: tuple[int, int], teach_views: int, load: Any, progress: bool,
                 photo_pool: dict[str, Any]) -> dict[str, Any]:
    from tqdm import tqdm

    width, height = size
    shorter = min(width, height)
    category_ids = {o.label: i for i, o in enumerate(objects, start=1)}
    taught = [i for i, o in enumerate(objects) if o.taught]
    untaught = [i for i, o in enumerate(objects) if not o.taught]
    rgba_cache: dict[Path, np.ndarray] = {}

    def rgba_of(obj: InstanceObject) -> np.ndarray:
        if obj.stamp.path not in rgba_cache:
            rgba_cache[obj.stamp.path] = read_rgba(obj.stamp.path)
        return rgba_cache[obj.stamp.path]

    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    image_entries: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    scene_settings = dataclasses.replace(settings.scene, families=settings.families,
                                         edge_cut_probability=settings.edge_cut_probability)

    def add(image: np.ndarray, entry: dict[str, Any]) -> int:
        image_id = len(image_entries) + 1
        cv2.imwrite(str(out / IMAGES_DIR / entry["file_name"]),
                    cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        image_entries.append({"id": image_id, **entry, "width": width, "height": height,
                              "split": settings.split})
        return image_id

    # Teaching pictures first: an evaluation on the first N scenes still finds its support.
    teach_rng = np.random.default_rng([seed, settings.stream, 2])
    for index in taught:
        obj = objects[index]
        for view_index in range(teach_views):
            image, mask, view = _render_teaching(teach_rng, settings, rgba_of(obj), size, load)
            image_id = add(image, {"file_name": f"teach_{index + 1:03d}_{view_index + 1}.png",
                                   "role": "teach", "object": obj.label,
                                   "background": view.pop("background"),
                                   "effects": view.pop("effects")})
            ann = annotation_from_mask(len(annotations) + 1, image_id, category_ids[obj.label],
                                       mask, source=obj.stamp.source)
            ann["visible"] = 1.0
            ann["view"] = view
            annotations.append(ann)
    scene_rng = np.random.default_rng([seed, settings.stream, 1])
    taught_deck: list[int] = []
    untaught_deck: list[int] = []
    for index in tqdm(range(images), desc=f"make-benchmark --instance {settings.split}",
                      disable=not progress):
        canvas, background = make_background(scene_rng, scene_settings, size, load)
        low, high = settings.taught_per_scene
        chosen = _deal(scene_rng, taught_deck, int(scene_rng.integers(low, high + 1)),
                       len(taught), set())
        picked = [taught[i] for i in chosen]
        if untaught:
            low, high = settings.never_taught_per_scene
            chosen = _deal(scene_rng, untaught_deck, int(scene_rng.integers(low, high + 1)),
                           len(untaught), set())
            picked += [untaught[i] for i in chosen]
        picked = [picked[i] for i in scene_rng.permutation(len(picked))]
        placed: list[tuple[np.ndarray, int, int, dict[str, Any]]] = []
        for object_index in picked:
            view, record = _scene_view(scene_rng, settings, rgba_of(objects[object_index]),
                                       shorter)
            place = find_place(scene_rng, scene_settings, (height, width), view,
                               [(m, a) for m, a, _, _ in placed])
            if place is None:
                continue
            x, y, mask = place
            full = int(np.count_nonzero(view[:, :, 3] > 127))
            record["outside"] = round(1.0 - int(np.count_nonzero(mask)) / full, 3)
            paste_stamp(canvas, view, x, y)
            for earlier, _, _, _ in placed:
                earlier &= ~mask
            placed.append((mask, full, object_index, record))
        image, effects = finish_frame(scene_rng, canvas, scene_settings)
        image_id = add(image, {"file_name": f"{index + 1:06d}.png", "role": "scene",
                               "background": background, "effects": effects})
        for mask, full, object_index, record in placed:
            if not mask.any():
                continue
            obj = objects[object_index]
            visible = int(np.count_nonzero(mask)) / full
            record["occluded"] = round(max(0.0, 1.0 - record["outside"] - visible), 3)
            ann = annotation_from_mask(len(annotations) + 1, image_id, category_ids[obj.label],
                                       mask, source=obj.stamp.source)
            ann["visible"] = round(visible, 3)
            ann["view"] = record
            annotations.append(ann)
    never = [o.label for o in objects if not o.taught]
    info = {
        "description": "sam-detect instance-level few-shot benchmark: each label is one "
                       "photographed object (a tuxpaint photo stamp), taught from its teaching "
                       "pictures and asked in cluttered scenes under robot-camera view changes",
        "kind": KIND,
        "split": settings.split,
        "seed": seed,
        "images": len(image_entries),
        "scenes": images,
        "teach_views": teach_views,
        "size": [width, height],
        "support": "teach",
        "distractor_categories": never,
        "never_taught_same_kind": [o.label for o in objects if o.same_kind],
        "settings": settings.to_dict(),
        "scene_settings": settings.scene.to_dict(),
        "photo_pool": photo_pool,
        "license": "stamps: tuxpaint-stamps-default (GPL-2.0); photos and textures: "
                   "scikit-image data",
    }
    cats = [{"id": category_ids[o.label], "name": o.label, "supercategory": o.kind,
             "kind": o.kind, "taught": o.taught, "distractor": not o.taught,
             "same_kind": o.same_kind} for o in objects]
    path = write_coco(out, image_entries, cats, annotations, info)
    return _summary(path, image_entries, annotations, objects, category_ids)


def view_transforms(view: dict[str, Any]) -> set[str]:
    """Return which of :data:`VIEW_TRANSFORMS` a scene view's record shows."""
    found = {"scale", "clutter"}
    if abs(view.get("rotation", 0.0)) >= 1.0:
        found.add("rotation")
    if view.get("mirror"):
        found.add("mirror")
    if abs(view.get("gain", 1.0) - 1.0) >= 0.05:
        found.add("brightness")
    if abs(view.get("contrast", 1.0) - 1.0) >= 0.05:
        found.add("contrast")
    if max(abs(c - 1.0) for c in view.get("colour_cast", [1.0])) >= 0.03:
        found.add("colour_cast")
    if view.get("blur", 0.0) > 0:
        found.add("blur")
    if view.get("occluded", 0.0) > 0:
        found.add("occlusion")
    if view.get("outside", 0.0) > 0:
        found.add("edge_cut")
    return found


def _summary(path: Path, image_entries: list[dict[str, Any]],
             annotations: list[dict[str, Any]], objects: list[InstanceObject],
             category_ids: dict[str, int]) -> dict[str, Any]:
    scene_views: dict[str, int] = {o.label: 0 for o in objects}
    labels = {v: k for k, v in category_ids.items()}
    transforms: dict[str, int] = dict.fromkeys(VIEW_TRANSFORMS, 0)
    for ann in annotations:
        if ann["view"]["role"] != "scene":
            continue
        scene_views[labels[ann["category_id"]]] += 1
        for name in view_transforms(ann["view"]):
            transforms[name] += 1
    counts = list(scene_views.values())
    teach = sum(1 for e in image_entries if e["role"] == "teach")
    return {
        "path": str(path),
        "images": len(image_entries),
        "scenes": len(image_entries) - teach,
        "teach_images": teach,
        "instances": len(annotations),
        "taught_objects": [o.label for o in objects if o.taught],
        "never_taught_objects": [o.label for o in objects if not o.taught],
        "same_kind_never_taught": [o.label for o in objects if o.same_kind],
        "kinds": sorted({o.kind for o in objects}),
        "views_per_object": {"min": min(counts), "mean": round(float(np.mean(counts)), 1),
                             "max": max(counts)},
        "scene_views": dict(sorted(scene_views.items())),
        "transforms": transforms,
    }


__all__ = ["InstanceObject", "KIND", "SPLITS", "VIEW_TRANSFORMS", "ViewSettings",
           "choose_objects", "make_instance_benchmark", "object_kind", "object_label",
           "transform_view", "view_transforms"]
