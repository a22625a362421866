# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A small folder of photos and a detector for the annotation UI tests."""

from __future__ import annotations

import cv2
import pytest

#: name -> objects; every picture holds a red disc, so teaching it once suggests it later.
PHOTOS = {
    "a.png": [("red_disc", (80, 90), 32), ("blue_square", (230, 150), 30)],
    "b.png": [("red_disc", (220, 80), 30), ("yellow_ring", (90, 160), 32)],
    "sub/c.png": [("red_disc", (160, 120), 34), ("striped_box", (60, 60), 28)],
}


@pytest.fixture
def photos(tmp_path, make_scene):
    """Write :data:`PHOTOS` into ``tmp_path/photos``; return ``(folder, {name: masks})``."""
    folder = tmp_path / "photos"
    masks = {}
    for seed, (name, objects) in enumerate(PHOTOS.items()):
        image, masks[name] = make_scene(objects, seed=seed)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image[:, :, ::-1])
    return folder, masks


@pytest.fixture
def detector():
    """Return a fast offline detector: classical segmenter, average embedder, memory store."""
    from sam_detect import SAMDetect

    with SAMDetect(embedder="average") as detector:
        yield detector
