# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Short video sequences with ground-truth ids, for tracking benchmarks.

Each sequence pastes three objects (photographic tuxpaint stamps of distinct categories, as the
image benchmark uses) on a real texture and moves them so that every tracking hazard happens:

* object 1 crosses the frame and passes **in front of** object 2, which moves the other way
  (occlusion: object 2 is hidden for a few frames, then reappears);
* object 3 **leaves** the frame, stays out for a while, and **comes back** (re-identification);
* speeds, sizes, positions and the background differ per sequence and seed.

Ground truth is each object's visible mask (what is not covered by objects drawn above it);
an object with less than ``MIN_VISIBLE`` of its area visible is marked ``ignore`` (neither a
miss nor a false alarm). Each object's cut-out (RGBA) is written too, to teach it before
tracking, as a user would.

Layout written by :func:`make_sequences`::

    OUT/sequences.json           categories, sequences, per-frame annotations (COCO RLE)
    OUT/<sequence>/000000.png    frames
    OUT/examples/<sequence>_<id>.png   cut-outs to teach from
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from sam_detect.errors import SamDetectError, require_extra
from sam_detect.results import encode_rle

SEQUENCES_FILE = "sequences.json"
MIN_VISIBLE = 0.25  # share of an object's area that must show for it to count as ground truth


@dataclass
class RenderedSequence:
    """Frames and ground truth of one sequence.

    Attributes:
        frames: RGB ``uint8`` frames.
        truth: Per frame, ``{object id: (visible mask, ignore)}`` for the objects in view.
    """

    frames: list[np.ndarray]
    truth: list[dict[int, tuple[np.ndarray, bool]]]


def scale_cutout(rgba: np.ndarray, longest: int) -> np.ndarray:
    """Return an RGBA cut-out cropped to its alpha, its longest side resized to ``longest``."""
    ys, xs = np.nonzero(rgba[:, :, 3] > 127)
    rgba = rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    height, width = rgba.shape[:2]
    scale = longest / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA if scale < 1
                         else cv2.INTER_LINEAR)
    resized[:, :, 3] = np.where(resized[:, :, 3] > 127, 255, 0)
    resized[resized[:, :, 3] == 0, :3] = 0  # no colour bleeds in from transparent pixels
    return resized


def _paste(frame: np.ndarray, cutout: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """Paste ``cutout`` centred at ``centre`` (clipped at the edges); return its full mask."""
    height, width = frame.shape[:2]
    h, w = cutout.shape[:2]
    x0, y0 = int(round(centre[0] - w / 2)), int(round(centre[1] - h / 2))
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(width, x0 + w), min(height, y0 + h)
    mask = np.zeros((height, width), bool)
    if fx1 <= fx0 or fy1 <= fy0:
        return mask
    part = cutout[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    inside = part[:, :, 3] > 0
    frame[fy0:fy1, fx0:fx1][inside] = part[:, :, :3][inside]
    mask[fy0:fy1, fx0:fx1] = inside
    return mask


def object_paths(frames: int, size: tuple[int, int], extents: Sequence[int],
                 rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """Return each object's centre per frame: a crossing pair and one that leaves and returns."""
    width, height = size
    t = np.linspace(0.0, 1.0, frames)
    lane = height * rng.uniform(0.55, 0.7)
    start, end = width * rng.uniform(0.12, 0.22), width * rng.uniform(0.78, 0.88)
    front = [(start + (end - start) * u, lane + 6 * np.sin(6 * u)) for u in t]
    offset = height * rng.uniform(0.03, 0.08)
    behind = [(end - (end - start) * u, lane + offset) for u in t]
    # Object 3 drifts right along the top, exits past the edge by 35 % of the sequence,
    # stays out until 60 %, then comes back in along the same lane.
    top = height * rng.uniform(0.18, 0.28)
    outside = width + extents[2]
    home = width * rng.uniform(0.3, 0.5)
    leaver = []
    for u in t:
        if u < 0.35:
            x = home + (outside - home) * u / 0.35
        elif u < 0.6:
            x = outside
        else:
            x = outside - (outside - home) * min(1.0, (u - 0.6) / 0.3)
        leaver.append((x, top))
    return [front, behind, leaver]


def render_sequence(cutouts: Sequence[np.ndarray], background: np.ndarray, frames: int,
                    rng: np.random.Generator) -> RenderedSequence:
    """Move three cut-outs over ``background``; object ``i + 1`` is ``cutouts[i]``.

    Drawing order is object 2, 3, then 1, so object 1 passes in front of object 2.
    """
    if len(cutouts) != 3:
        raise SamDetectError("a sequence moves exactly three objects")
    height, width = background.shape[:2]
    paths = object_paths(frames, (width, height), [max(c.shape[:2]) for c in cutouts], rng)
    order = (1, 2, 0)  # back to front
    rendered, truth = [], []
    for index in range(frames):
        frame = background.copy()
        # faint sensor noise, so no two frames are identical
        noise = rng.normal(0, 2.0, frame.shape)
        frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
        full: dict[int, np.ndarray] = {}
        for obj in order:
            full[obj + 1] = _paste(frame, cutouts[obj], paths[obj][index])
        visible: dict[int, tuple[np.ndarray, bool]] = {}
        covered = np.zeros((height, width), bool)
        for obj in reversed(order):  # front to back: each hides what is behind it
            mask = full[obj + 1] & ~covered
            covered |= full[obj + 1]
            whole = int(np.count_nonzero(cutouts[obj][:, :, 3]))
            area = int(np.count_nonzero(mask))
            if area:
                visible[obj + 1] = (mask, area < MIN_VISIBLE * whole)
        rendered.append(frame)
        truth.append(visible)
    return RenderedSequence(rendered, truth)


def shape_cutouts(size: int = 48, seed: int = 0) -> list[np.ndarray]:
    """Return three drawn RGBA cut-outs (red disc, striped blue box, yellow ring) of ``size`` px.

    For tests and demos that need no stamps: distinct colours and shapes, lightly textured.

    Example:
        >>> [c.shape for c in shape_cutouts(20)]
        [(20, 20, 4), (20, 20, 4), (20, 20, 4)]
    """
    rng = np.random.default_rng(seed)
    half = size // 2
    cutouts = []
    for kind, colour in (("disc", (220, 40, 40)), ("box", (40, 70, 220)),
                         ("ring", (235, 215, 40))):
        alpha = np.zeros((size, size), np.uint8)
        if kind == "box":
            alpha[2:-2, 2:-2] = 255
        else:
            cv2.circle(alpha, (half, half), half - 1, 255, -1)
            if kind == "ring":
                cv2.circle(alpha, (half, half), half // 2, 0, -1)
        rgb = np.empty((size, size, 3), np.float32)
        rgb[:] = colour
        if kind == "box":
            rgb[(np.arange(size) % 8 < 4)] = (240, 240, 240)
        rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
        rgb[alpha == 0] = 0
        cutouts.append(np.dstack([rgb, alpha]))
    return cutouts


def noise_background(size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Return a grass-like green noise texture of ``size`` ``(width, height)``, RGB ``uint8``."""
    width, height = size
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0, 1, (height // 4 + 1, width // 4 + 1, 3)).astype(np.float32)
    coarse = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
    fine = rng.normal(0, 5, (height, width, 3)).astype(np.float32)
    base = np.array([70, 110, 60], np.float32)
    return np.clip(base + coarse * 10 + fine, 0, 255).astype(np.uint8)


def _background(texture: np.ndarray, size: tuple[int, int], rng: np.random.Generator
                ) -> np.ndarray:
    width, height = size
    th, tw = texture.shape[:2]
    crop_w = int(min(tw, th * width / height) * rng.uniform(0.6, 1.0))
    crop_h = min(th, int(crop_w * height / width))
    x0, y0 = int(rng.integers(0, tw - crop_w + 1)), int(rng.integers(0, th - crop_h + 1))
    crop = texture[y0:y0 + crop_h, x0:x0 + crop_w]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)


def make_sequences(
    out: str | os.PathLike,
    sequences: int = 6,
    frames: int = 60,
    seed: int = 0,
    size: tuple[int, int] = (640, 480),
    min_per_class: int = 10,
    stamps_root: str | os.PathLike | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Write ``sequences`` tracking sequences of ``frames`` frames to ``out``.

    Args:
        out: Output folder (created).
        sequences: Number of sequences.
        frames: Frames per sequence.
        seed: Random seed (use one seed to tune and another to report).
        size: Frame ``(width, height)``.
        min_per_class: Least photographic stamps a category needs.
        stamps_root: Stamps folder (default ``$SAM_DETECT_STAMPS_DIR`` or the Debian one).
        progress: Show a progress bar on stderr.

    Returns:
        A summary: ``sequences``, ``frames``, ``objects`` and ``path`` of the index file.
    """
    from tqdm import tqdm

    from sam_detect.evaluation.benchmark import (
        TEXTURES, check_size, find_photo_stamps, load_texture, read_rgba)

    require_extra("skimage", "eval", "sam-detect make-benchmark --sequences")
    width, height = size
    if sequences < 1 or frames < 10 or width < 64 or height < 64:
        raise SamDetectError("need --sequences >= 1, --frames >= 10 and a size of at least 64x64")
    check_size(size)
    stamps = find_photo_stamps(stamps_root, min_per_class)
    by_category: dict[str, list[Any]] = {}
    for stamp in stamps:
        by_category.setdefault(stamp.category, []).append(stamp)
    categories = sorted(by_category)
    if len(categories) < 3:
        raise SamDetectError(f"sequences need 3 categories of stamps, found {len(categories)}")
    rng = np.random.default_rng(seed)
    root = Path(out)
    (root / "examples").mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {"categories": categories, "seed": seed, "size": [width, height],
                             "sequences": []}
    for number in tqdm(range(sequences), disable=not progress, unit="sequence"):
        name = f"seq{number:03d}"
        chosen = [str(c) for c in rng.choice(categories, 3, replace=False)]
        cutouts = []
        for category in chosen:
            stamp = by_category[category][int(rng.integers(len(by_category[category])))]
            rgba = read_rgba(stamp.path)
            longest = int(min(width, height) * rng.uniform(0.2, 0.3))
            cutouts.append(scale_cutout(rgba, longest))
        texture = load_texture(TEXTURES[int(rng.integers(len(TEXTURES)))])
        rendered = render_sequence(cutouts, _background(texture, size, rng), frames, rng)
        folder = root / name
        folder.mkdir(exist_ok=True)
        annotations = []
        for frame_index, (frame, truth) in enumerate(zip(rendered.frames, rendered.truth)):
            cv2.imwrite(str(folder / f"{frame_index:06d}.png"),
                        cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            annotations.append([{"id": obj, "category": chosen[obj - 1], "ignore": ignore,
                                 "rle": encode_rle(mask)}
                                for obj, (mask, ignore) in sorted(truth.items())])
        objects = []
        for obj, (category, cutout) in enumerate(zip(chosen, cutouts), start=1):
            example = root / "examples" / f"{name}_{obj}.png"
            cv2.imwrite(str(example), cv2.cvtColor(cutout, cv2.COLOR_RGBA2BGRA))
            objects.append({"id": obj, "category": category,
                            "example": str(example.relative_to(root))})
        index["sequences"].append({"name": name, "frames": frames, "objects": objects,
                                   "annotations": annotations})
    path = root / SEQUENCES_FILE
    path.write_text(json.dumps(index) + "\n", encoding="utf-8")
    return {"sequences": sequences, "frames": sequences * frames, "objects": sequences * 3,
            "path": str(path)}


__all__ = ["MIN_VISIBLE", "RenderedSequence", "SEQUENCES_FILE", "make_sequences",
           "noise_background", "object_paths", "render_sequence", "scale_cutout",
           "shape_cutouts"]
