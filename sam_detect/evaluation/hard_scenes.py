# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Hard scenes: what a robot's camera sees, built from the benchmark's photo stamps.

The easy benchmark pastes objects apart from each other on one texture. A hard scene adds what
breaks a segmenter and a classifier outside that comfort zone:

* **Backgrounds** of six families: real photos (scikit-image's bundled scenes, zoomed in),
  textures tinted by a smooth multi-colour field, smooth multi-colour gradients, patchworks of
  coloured cells (a quilt, a tiled floor), stripes or plaid, and confetti (a gradient strewn with
  many small flat shapes: a patterned cloth or a messy desk).
* **Distractors**: photographic stamps of categories that are never among the few-shot
  categories (their COCO category carries ``"distractor": true``).
* **Layout**: partial overlap (an object may hide up to ``max_occlusion`` of an earlier one),
  objects cut by the frame edge, a wide range of scales, soft drop shadows (not part of a mask).
* **Photometry**: per-object gain, colour and gamma; a smooth illumination field and a colour
  cast over the frame; Gaussian or motion blur; sensor noise; JPEG artefacts.

Two fixed :class:`SceneSettings` exist: :data:`TUNE` (tune thresholds and segmenters on it) and
:data:`VALIDATION` (report on it, never tune on it). They differ in the random stream, in the
photos and textures used as backgrounds, in the stripe/patchwork variants and in several ranges
(more clutter, more overlap, stronger blur and noise), so a method fitted to the tune split's
quirks shows its gap on validation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np

from sam_detect.errors import SamDetectError

Range = tuple[float, float]


@dataclass(frozen=True)
class SceneSettings:
    """The distribution a hard split is drawn from.

    Attributes:
        split: The split's name (``tune`` or ``validation``), recorded in the dataset.
        stream: Mixed with the user's seed, so that no seed gives the same scenes in both splits.
        photos: scikit-image photos (scenes) used as backgrounds.
        textures: scikit-image textures used as backgrounds, tinted by a smooth colour field.
        families: Background family -> relative weight.
        stripe_kinds: Variants of the ``stripes`` family: ``stripes``, ``plaid``, ``checker``.
        patchwork_cells: Range of cell counts of a patchwork.
        confetti_shapes: Range of the number of small shapes strewn on a confetti background.
        objects_per_image: Inclusive range of few-shot objects per image.
        distractors_per_image: Inclusive range of distractor objects per image.
        scale_range: Object size (longest side) as a fraction of the image's shorter side.
        max_occlusion: Largest share of an object that later objects may hide.
        edge_cut_probability: Chance that an object may stick out of the frame.
        max_outside: Largest share of an object's area outside the frame when it does.
        shadow_probability: Chance of a soft drop shadow under an object.
        object_gain: Per-object brightness gain range.
        object_tint: Largest per-channel colour gain deviation of an object.
        object_gamma: Per-object gamma range.
        illumination: Largest relative deviation of the smooth illumination field.
        colour_cast: Largest per-channel deviation of the frame's colour cast.
        blur_probability: Chance of a Gaussian blur (sigma in ``blur_sigma``).
        blur_sigma: Gaussian blur sigma range, pixels.
        motion_blur_probability: Chance of a linear motion blur (length in ``motion_length``).
        motion_length: Motion blur length range, pixels.
        noise_sigma: Sensor noise standard deviation range, grey levels.
        jpeg_probability: Chance of a JPEG round trip (quality in ``jpeg_quality``).
        jpeg_quality: JPEG quality range.
    """

    split: str
    stream: int
    photos: tuple[str, ...]
    textures: tuple[str, ...]
    families: tuple[tuple[str, float], ...]
    stripe_kinds: tuple[str, ...]
    patchwork_cells: tuple[int, int]
    confetti_shapes: tuple[int, int]
    objects_per_image: tuple[int, int]
    distractors_per_image: tuple[int, int]
    scale_range: Range
    max_occlusion: float
    edge_cut_probability: float
    max_outside: float
    shadow_probability: float
    object_gain: Range
    object_tint: float
    object_gamma: Range
    illumination: float
    colour_cast: float
    blur_probability: float
    blur_sigma: Range
    motion_blur_probability: float
    motion_length: tuple[int, int]
    noise_sigma: Range
    jpeg_probability: float
    jpeg_quality: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-ready values (recorded in the dataset's ``info``)."""
        return json_ready(dataclasses.asdict(self))


def json_ready(value: Any) -> Any:
    """Return ``value`` with tuples turned into lists, recursively."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


FAMILIES = ("photo", "texture", "gradient", "patchwork", "stripes", "confetti")

#: Tune on this split.
TUNE = SceneSettings(
    split="tune", stream=101,
    photos=("coffee", "chelsea", "camera"),
    textures=("grass", "brick", "moon", "immunohistochemistry"),
    families=(("photo", 0.2), ("texture", 0.2), ("gradient", 0.15), ("patchwork", 0.15),
              ("stripes", 0.1), ("confetti", 0.2)),
    stripe_kinds=("stripes",),
    patchwork_cells=(6, 30),
    confetti_shapes=(60, 250),
    objects_per_image=(2, 5),
    distractors_per_image=(0, 2),
    scale_range=(0.14, 0.42),
    max_occlusion=0.25,
    edge_cut_probability=0.15,
    max_outside=0.25,
    shadow_probability=0.5,
    object_gain=(0.75, 1.25),
    object_tint=0.12,
    object_gamma=(0.8, 1.25),
    illumination=0.3,
    colour_cast=0.1,
    blur_probability=0.25,
    blur_sigma=(0.6, 1.5),
    motion_blur_probability=0.1,
    motion_length=(3, 7),
    noise_sigma=(0.0, 6.0),
    jpeg_probability=0.3,
    jpeg_quality=(55, 90),
)

#: Report on this split; never tune on it: other photos, textures and stripe variants, more
#: clutter, overlap, blur and noise.
VALIDATION = SceneSettings(
    split="validation", stream=202,
    photos=("astronaut", "rocket", "clock"),
    textures=("gravel", "hubble_deep_field", "retina", "cell"),
    families=(("photo", 0.2), ("texture", 0.2), ("gradient", 0.1), ("patchwork", 0.15),
              ("stripes", 0.15), ("confetti", 0.2)),
    stripe_kinds=("plaid", "checker"),
    patchwork_cells=(10, 45),
    confetti_shapes=(100, 350),
    objects_per_image=(2, 5),
    distractors_per_image=(1, 2),
    scale_range=(0.12, 0.45),
    max_occlusion=0.3,
    edge_cut_probability=0.2,
    max_outside=0.3,
    shadow_probability=0.6,
    object_gain=(0.7, 1.3),
    object_tint=0.15,
    object_gamma=(0.75, 1.3),
    illumination=0.35,
    colour_cast=0.12,
    blur_probability=0.3,
    blur_sigma=(0.6, 1.8),
    motion_blur_probability=0.15,
    motion_length=(3, 9),
    noise_sigma=(0.0, 8.0),
    jpeg_probability=0.35,
    jpeg_quality=(45, 90),
)

SPLITS = {"tune": TUNE, "validation": VALIDATION}


def smooth_field(rng: np.random.Generator, size: tuple[int, int], low: float, high: float,
                 channels: int = 3, grid: tuple[int, int] = (2, 5)) -> np.ndarray:
    """Return a smoothly varying ``(H, W, channels)`` float32 field with values in [low, high].

    A coarse random grid (``grid`` cells per side) upscaled with bicubic interpolation.
    """
    width, height = size
    cells_y = int(rng.integers(grid[0], grid[1] + 1))
    cells_x = int(rng.integers(grid[0], grid[1] + 1))
    coarse = rng.uniform(low, high, (cells_y, cells_x, channels)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    field = np.clip(field, low, high)
    return field.reshape(height, width, channels)


def _random_colours(rng: np.random.Generator, count: int) -> np.ndarray:
    """Return ``count`` RGB colours spread over hue, saturation and value (float32 0-255)."""
    hsv = np.stack([rng.uniform(0, 180, count), rng.uniform(30, 255, count),
                    rng.uniform(50, 255, count)], axis=1).astype(np.uint8)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0].astype(np.float32)


def _gradient(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    field = smooth_field(rng, size, 0.0, 1.0, 3, grid=(2, 4))
    # Map the field through random colours so hues change, not only brightness.
    colours = _random_colours(rng, 3)
    out = np.einsum("hwc,cd->hwd", field / np.maximum(field.sum(axis=2, keepdims=True), 1e-3),
                    colours)
    grain = rng.normal(0, 2.0, out.shape[:2])[:, :, None].astype(np.float32)
    return out + grain


def _patchwork(rng: np.random.Generator, size: tuple[int, int],
               cells: tuple[int, int]) -> np.ndarray:
    width, height = size
    count = int(rng.integers(cells[0], cells[1] + 1))
    step = 4  # cells are computed on a coarse grid, then upscaled (nearest: crisp seams)
    gy, gx = np.mgrid[0:height:step, 0:width:step]
    seeds = rng.uniform((0, 0), (width, height), (count, 2))
    distance = ((gx[..., None] - seeds[:, 0]) ** 2 + (gy[..., None] - seeds[:, 1]) ** 2)
    owner = np.argmin(distance, axis=2).astype(np.float32)
    owner = cv2.resize(owner, (width, height), interpolation=cv2.INTER_NEAREST).astype(int)
    colours = _random_colours(rng, count)
    out = colours[owner]
    # Each cell keeps some texture: fabric or tiles are not flat paint.
    grain = cv2.GaussianBlur(rng.normal(0, 10, (height, width)).astype(np.float32), (0, 0), 1.2)
    return out * smooth_field(rng, size, 0.8, 1.15, 1) + grain[:, :, None]


def _stripes(rng: np.random.Generator, size: tuple[int, int], kind: str) -> np.ndarray:
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    shorter = min(width, height)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(0.04, 0.2) * shorter
    colours = _random_colours(rng, int(rng.integers(2, 5)))
    t = (xx * np.cos(angle) + yy * np.sin(angle)) / period
    if kind == "stripes":
        out = colours[np.floor(t).astype(int) % len(colours)]
    else:
        u = (-xx * np.sin(angle) + yy * np.cos(angle)) / period
        if kind == "checker":
            out = colours[(np.floor(t).astype(int) + np.floor(u).astype(int)) % len(colours)]
        elif kind == "plaid":
            a = colours[np.floor(t).astype(int) % len(colours)]
            b = colours[np.floor(u * 0.7).astype(int) % len(colours)]
            out = 0.5 * a + 0.5 * b
        else:
            raise SamDetectError(f"unknown stripe kind '{kind}'")
    out = cv2.GaussianBlur(out.astype(np.float32), (0, 0), 0.8)
    return out * smooth_field(rng, size, 0.75, 1.2, 1)


def _confetti(rng: np.random.Generator, size: tuple[int, int],
              shapes: tuple[int, int]) -> np.ndarray:
    width, height = size
    out = np.ascontiguousarray(_gradient(rng, size))
    shorter = min(width, height)
    count = int(rng.integers(shapes[0], shapes[1] + 1))
    colours = _random_colours(rng, count)
    for colour in colours:
        # Small: at most ~3.5 % of the shorter side, below any object's size.
        radius = int(rng.uniform(0.006, 0.035) * shorter) + 1
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        fill = tuple(float(c) for c in colour)
        shape = int(rng.integers(3))
        if shape == 0:
            cv2.circle(out, (cx, cy), radius, fill, -1, cv2.LINE_AA)
        elif shape == 1:
            w, h = radius, int(radius * rng.uniform(0.3, 1.5)) + 1
            cv2.rectangle(out, (cx - w, cy - h), (cx + w, cy + h), fill, -1)
        else:
            points = rng.uniform(-radius, radius, (3, 2)) + (cx, cy)
            cv2.fillPoly(out, [points.astype(np.int32)], fill, cv2.LINE_AA)
    return out


def _photo(rng: np.random.Generator, image: np.ndarray, size: tuple[int, int],
           zoom: Range) -> np.ndarray:
    """Return a random crop of ``image`` (covering ``zoom`` of it), resized to ``size``."""
    width, height = size
    ih, iw = image.shape[:2]
    frac = rng.uniform(*zoom)
    crop_w = max(8, int(min(iw, ih * width / height) * frac))
    crop_h = min(ih, max(8, int(crop_w * height / width)))
    x0 = int(rng.integers(0, iw - crop_w + 1))
    y0 = int(rng.integers(0, ih - crop_h + 1))
    crop = image[y0:y0 + crop_h, x0:x0 + crop_w]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return cv2.resize(np.ascontiguousarray(crop), (width, height),
                      interpolation=cv2.INTER_LINEAR).astype(np.float32)


def make_background(rng: np.random.Generator, settings: SceneSettings, size: tuple[int, int],
                    load: Callable[[str], np.ndarray]) -> tuple[np.ndarray, str]:
    """Return a background (RGB float32, 0-255) and its name (``family`` or ``family:source``).

    Args:
        rng: The scene's random generator.
        settings: The split's settings.
        size: ``(width, height)``.
        load: Returns a scikit-image photo or texture by name as RGB ``uint8``.
    """
    names = [f for f, _ in settings.families]
    weights = np.array([w for _, w in settings.families], float)
    family = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    if family == "photo":
        source = settings.photos[int(rng.integers(len(settings.photos)))]
        out = _photo(rng, load(source), size, (0.35, 0.9))
        return out, f"photo:{source}"
    if family == "texture":
        source = settings.textures[int(rng.integers(len(settings.textures)))]
        out = _photo(rng, load(source), size, (0.4, 1.0))
        # Tinted by a smooth colour field: multi-coloured, smoothly varying.
        return out * smooth_field(rng, size, 0.45, 1.25), f"texture:{source}"
    if family == "gradient":
        return _gradient(rng, size), family
    if family == "patchwork":
        return _patchwork(rng, size, settings.patchwork_cells), family
    if family == "stripes":
        kind = settings.stripe_kinds[int(rng.integers(len(settings.stripe_kinds)))]
        return _stripes(rng, size, kind), f"stripes:{kind}"
    if family == "confetti":
        return _confetti(rng, size, settings.confetti_shapes), family
    raise SamDetectError(f"unknown background family '{family}'; choose from {FAMILIES}")


def relight_stamp(rng: np.random.Generator, rgba: np.ndarray,
                  settings: SceneSettings) -> np.ndarray:
    """Return ``rgba`` with a random gain, colour tint and gamma (alpha unchanged)."""
    colour = rgba[:, :, :3].astype(np.float32) / 255.0
    gamma = rng.uniform(*settings.object_gamma)
    gain = rng.uniform(*settings.object_gain)
    tint = 1.0 + rng.uniform(-settings.object_tint, settings.object_tint, 3)
    colour = np.power(colour, gamma) * gain * tint.astype(np.float32)
    out = rgba.copy()
    out[:, :, :3] = np.clip(colour * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def add_shadow(rng: np.random.Generator, canvas: np.ndarray, alpha: np.ndarray,
               x: int, y: int) -> None:
    """Darken ``canvas`` (float32, in place) under a soft, offset copy of ``alpha``.

    ``alpha`` is the stamp's float alpha (0-1) whose top-left corner lands at ``(x, y)``, which
    may lie partly outside the canvas.
    """
    height, width = canvas.shape[:2]
    h, w = alpha.shape
    side = max(h, w)
    dx, dy = (int(v) for v in rng.uniform(0.02, 0.08, 2) * side * rng.choice([-1, 1], 2))
    sigma = max(1.0, rng.uniform(0.02, 0.06) * side)
    pad = int(3 * sigma) + 1
    soft = cv2.GaussianBlur(np.pad(alpha, pad), (0, 0), sigma)
    strength = rng.uniform(0.25, 0.55)
    top, left = y + dy - pad, x + dx - pad
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(height, top + soft.shape[0]), min(width, left + soft.shape[1])
    if y1 <= y0 or x1 <= x0:
        return
    patch = soft[y0 - top:y1 - top, x0 - left:x1 - left]
    canvas[y0:y1, x0:x1] *= (1.0 - strength * patch)[:, :, None]


def paste_stamp(canvas: np.ndarray, rgba: np.ndarray, x: int, y: int) -> np.ndarray:
    """Alpha-blend ``rgba`` onto ``canvas`` (float32, in place) at ``(x, y)``, clipped.

    Returns:
        The object's full-frame boolean mask (the part inside the frame).
    """
    height, width = canvas.shape[:2]
    h, w = rgba.shape[:2]
    y0, x0 = max(0, y), max(0, x)
    y1, x1 = min(height, y + h), min(width, x + w)
    mask = np.zeros((height, width), bool)
    if y1 <= y0 or x1 <= x0:
        return mask
    part = rgba[y0 - y:y1 - y, x0 - x:x1 - x]
    alpha = part[:, :, 3:4].astype(np.float32) / 255.0
    region = canvas[y0:y1, x0:x1]
    canvas[y0:y1, x0:x1] = part[:, :, :3].astype(np.float32) * alpha + region * (1.0 - alpha)
    mask[y0:y1, x0:x1] = part[:, :, 3] > 127
    return mask


def stamp_mask(shape: tuple[int, int], rgba: np.ndarray, x: int, y: int) -> np.ndarray:
    """Return the full-frame mask ``rgba`` would get at ``(x, y)`` (without pasting)."""
    height, width = shape
    h, w = rgba.shape[:2]
    mask = np.zeros((height, width), bool)
    y0, x0 = max(0, y), max(0, x)
    y1, x1 = min(height, y + h), min(width, x + w)
    if y1 > y0 and x1 > x0:
        mask[y0:y1, x0:x1] = rgba[y0 - y:y1 - y, x0 - x:x1 - x, 3] > 127
    return mask


def find_place(rng: np.random.Generator, settings: SceneSettings, shape: tuple[int, int],
               rgba: np.ndarray, placed: list[tuple[np.ndarray, int]],
               attempts: int = 40) -> tuple[int, int, np.ndarray] | None:
    """Return ``(x, y, mask)`` for a new top object, or ``None`` when no place fits.

    A place fits when every earlier object keeps at least ``1 - max_occlusion`` of its own
    (unoccluded) area visible, and the new object keeps at least ``1 - max_outside`` of its
    area inside the frame (``0`` outside unless an edge cut was drawn).

    Args:
        rng: The scene's random generator.
        settings: The split's settings.
        shape: Frame ``(height, width)``.
        rgba: The scaled stamp.
        placed: ``(visible mask, full area)`` of the objects already in the frame.
        attempts: Random positions tried.
    """
    height, width = shape
    h, w = rgba.shape[:2]
    full_area = int(np.count_nonzero(rgba[:, :, 3] > 127))
    if full_area == 0:
        return None
    cut = rng.random() < settings.edge_cut_probability
    slack_x = int(w * settings.max_outside) if cut else 0
    slack_y = int(h * settings.max_outside) if cut else 0
    if w - 2 * slack_x > width or h - 2 * slack_y > height:
        return None
    for _attempt in range(attempts):
        x = int(rng.integers(-slack_x, width - w + slack_x + 1))
        y = int(rng.integers(-slack_y, height - h + slack_y + 1))
        mask = stamp_mask(shape, rgba, x, y)
        if np.count_nonzero(mask) < (1.0 - settings.max_outside) * full_area:
            continue
        if all(np.count_nonzero(visible & ~mask) >= (1.0 - settings.max_occlusion) * area
               for visible, area in placed):
            return x, y, mask
    return None


def finish_frame(rng: np.random.Generator, canvas: np.ndarray,
                 settings: SceneSettings) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply the frame-wide effects; return the ``uint8`` image and what was applied.

    Effects in camera order: illumination field and colour cast, blur (optics, motion), sensor
    noise, then JPEG compression.
    """
    height, width = canvas.shape[:2]
    applied: dict[str, Any] = {}
    light = smooth_field(rng, (width, height), 1.0 - settings.illumination,
                         1.0 + settings.illumination, 1, grid=(2, 3))
    cast = 1.0 + rng.uniform(-settings.colour_cast, settings.colour_cast, 3)
    out = canvas * light * cast.astype(np.float32)
    if rng.random() < settings.blur_probability:
        sigma = float(rng.uniform(*settings.blur_sigma))
        out = cv2.GaussianBlur(out, (0, 0), sigma)
        applied["blur_sigma"] = round(sigma, 3)
    if rng.random() < settings.motion_blur_probability:
        length = int(rng.integers(settings.motion_length[0], settings.motion_length[1] + 1))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0 / length
        angle = float(rng.uniform(0, 180))
        rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        kernel /= max(float(kernel.sum()), 1e-6)
        out = cv2.filter2D(out, -1, kernel)
        applied["motion_blur"] = [length, round(angle, 1)]
    sigma = float(rng.uniform(*settings.noise_sigma))
    out = out + rng.normal(0, sigma, out.shape).astype(np.float32)
    applied["noise_sigma"] = round(sigma, 3)
    image = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < settings.jpeg_probability:
        quality = int(rng.integers(settings.jpeg_quality[0], settings.jpeg_quality[1] + 1))
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:  # the channel order does not matter for a round trip
            image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
            applied["jpeg_quality"] = quality
    return image, applied


__all__ = ["FAMILIES", "SPLITS", "SceneSettings", "TUNE", "VALIDATION", "add_shadow",
           "find_place", "finish_frame", "make_background", "paste_stamp", "relight_stamp",
           "smooth_field", "stamp_mask"]
