# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Synthetic scenes shared by the core tests."""

from __future__ import annotations

import cv2
import numpy as np
import pytest


def textured_background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Return a greenish, grass-like noise texture (RGB uint8)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (height // 4 + 1, width // 4 + 1, 3)).astype(np.float32)
    noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
    fine = rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    base = np.array([70, 110, 60], np.float32)
    return np.clip(base + noise * 12 + fine, 0, 255).astype(np.uint8)


SHAPES = {
    # name: (draw function, colour) - distinct colours and textures, like real objects would be.
    "red_disc": ("disc", (220, 40, 40)),
    "blue_square": ("square", (40, 70, 220)),
    "yellow_ring": ("ring", (235, 215, 40)),
    "striped_box": ("stripes", (240, 240, 240)),
}


def draw_object(image: np.ndarray, kind: str, centre: tuple[int, int], size: int,
                colour: tuple[int, int, int]) -> np.ndarray:
    """Draw one object into ``image`` in place; return its boolean mask."""
    mask = np.zeros(image.shape[:2], np.uint8)
    x, y = centre
    if kind == "disc":
        cv2.circle(mask, centre, size, 1, -1)
    elif kind == "square":
        cv2.rectangle(mask, (x - size, y - size), (x + size, y + size), 1, -1)
    elif kind == "ring":
        cv2.circle(mask, centre, size, 1, -1)
        cv2.circle(mask, centre, size // 2, 0, -1)
    elif kind == "stripes":
        cv2.rectangle(mask, (x - size, y - size * 2 // 3), (x + size, y + size * 2 // 3), 1, -1)
    region = mask.astype(bool)
    image[region] = colour
    if kind == "stripes":
        rows = np.arange(image.shape[0])[:, None] % 12 < 6
        image[region & np.broadcast_to(rows, region.shape)] = (30, 30, 30)
    return region


def make_scene(objects: list[tuple[str, tuple[int, int], int]], size=(240, 320), seed=0):
    """Return ``(image, {name: mask})`` for ``objects`` = [(name, centre, size), ...]."""
    image = textured_background(*size, seed=seed)
    masks = {}
    for name, centre, radius in objects:
        kind, colour = SHAPES[name]
        masks[name] = draw_object(image, kind, centre, radius, colour)
    return image, masks


@pytest.fixture(name="make_scene")
def make_scene_fixture():
    """Return the :func:`make_scene` builder, for tests that compose their own scenes."""
    return make_scene


@pytest.fixture(name="textured_background")
def textured_background_fixture():
    """Return the :func:`textured_background` builder."""
    return textured_background


@pytest.fixture
def scene():
    """Four distinct objects on a grass-like texture, 240x320."""
    return make_scene([("red_disc", (60, 60), 28), ("blue_square", (200, 70), 26),
                       ("yellow_ring", (80, 170), 30), ("striped_box", (240, 175), 36)])


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run a module's torch code on one thread: CI has two cores and runs other work beside."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
