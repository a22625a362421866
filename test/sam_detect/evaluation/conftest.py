# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A fake tuxpaint stamps folder and a tiny benchmark built from it.

The stamps are generated RGBA PNGs: "photos" (noisy, many colours, a hue per category) and
"drawings" (flat fills) that the benchmark builder must skip, so the tests need no Debian package.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

# folder -> (hue in OpenCV degrees 0-179, number of photo stamps)
PHOTO_FOLDERS = {
    "animals/birds": (10, 5),
    "food/fruit": (60, 5),
    "plants/flowers": (120, 5),
    "vehicles/auto": (160, 3),
    "vehicles/ship": (160, 2),
}
MIN_PER_CLASS = 4
EXPECTED_CATEGORIES = ["birds", "flowers", "fruit", "vehicles"]


def photo_stamp(rng: np.random.Generator, hue: int,
                size: tuple[int, int] = (90, 70)) -> np.ndarray:
    """Return an RGBA "photo": an ellipse of noisy colour around ``hue``, binary alpha."""
    width, height = size
    alpha = np.zeros((height, width), np.uint8)
    axes = (int(width * rng.uniform(0.3, 0.48)), int(height * rng.uniform(0.3, 0.48)))
    cv2.ellipse(alpha, (width // 2, height // 2), axes, float(rng.uniform(0, 180)), 0, 360, 255,
                -1)
    hsv = np.empty((height, width, 3), np.float32)
    hsv[:, :, 0] = hue + rng.normal(0, 4, (height, width))
    hsv[:, :, 1] = np.clip(150 + rng.normal(0, 25, (height, width)), 60, 255)
    # Bright (>= 230 in the max channel, V of HSV) so that it stands out on a black background.
    hsv[:, :, 2] = np.clip(240 + rng.normal(0, 8, (height, width)), 230, 255)
    hsv[:, :, 0] %= 180
    rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    return np.dstack([rgb, alpha])


def drawn_stamp(colour: tuple[int, int, int], size: tuple[int, int] = (90, 70)) -> np.ndarray:
    """Return an RGBA "drawing": one flat colour with a black outline."""
    width, height = size
    rgba = np.zeros((height, width, 4), np.uint8)
    cv2.ellipse(rgba, (width // 2, height // 2), (width // 3, height // 3), 0, 0, 360,
                (*colour, 255), -1)
    cv2.ellipse(rgba, (width // 2, height // 2), (width // 3, height // 3), 0, 0, 360,
                (0, 0, 0, 255), 2)
    return rgba


def write_rgba(path: Path, rgba: np.ndarray) -> None:
    """Write an RGBA array as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))


def build_fake_stamps(root: Path) -> Path:
    """Write the fake stamps folder under ``root``; return it."""
    rng = np.random.default_rng(123)
    for folder, (hue, count) in PHOTO_FOLDERS.items():
        for i in range(count):
            write_rgba(root / folder / f"photo{i}.png", photo_stamp(rng, hue))
    # Things the builder must skip:
    write_rgba(root / "animals/birds/drawn.png", drawn_stamp((200, 60, 60)))
    write_rgba(root / "animals/birds/cartoon/toon.png", photo_stamp(rng, 10))
    write_rgba(root / "animals/birds/photo0_mirror.png",
               cv2.imread(str(root / "animals/birds/photo0.png"), cv2.IMREAD_UNCHANGED)[:, ::-1]
               [:, :, [2, 1, 0, 3]])
    write_rgba(root / "food/fruit/vector.png", photo_stamp(rng, 60))
    (root / "food/fruit/vector.svg").write_text("<svg/>")
    write_rgba(root / "food/fruit/icon.png", photo_stamp(rng, 60, size=(24, 20)))
    rgb_only = photo_stamp(rng, 60)[:, :, :3]
    cv2.imwrite(str(root / "food/fruit/opaque.png"), rgb_only)
    # A category with too few photos, in a top folder that has a big category of its own
    # (a hard benchmark's distractors: two photos, so that each split gets one).
    write_rgba(root / "animals/fish/photo0.png", photo_stamp(rng, 100))
    write_rgba(root / "animals/fish/photo1.png", photo_stamp(rng, 100))
    return root


@pytest.fixture(scope="session")
def fake_stamps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a generated stamps folder (see :func:`build_fake_stamps`)."""
    return build_fake_stamps(tmp_path_factory.mktemp("stamps"))


@pytest.fixture(scope="session")
def tiny_benchmark(fake_stamps: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a 12-image benchmark made from the fake stamps."""
    from sam_detect.evaluation.benchmark import make_benchmark

    out = tmp_path_factory.mktemp("bench") / "tiny"
    make_benchmark(out, images=12, seed=0, min_per_class=MIN_PER_CLASS, size=(200, 150),
                   objects_per_image=(2, 3), stamps_root=fake_stamps)
    return out
