# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The benchmark builder: stamp filtering, reproducibility and exact masks (fake stamps)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sam_detect.errors import SamDetectError
import sam_detect.evaluation.benchmark as mb
from sam_detect.evaluation.core.coco import CocoDataset

from .conftest import EXPECTED_CATEGORIES, MIN_PER_CLASS, drawn_stamp, photo_stamp


def test_photo_filter_keeps_photos_and_merges_small_folders(fake_stamps: Path) -> None:
    stamps = mb.find_photo_stamps(fake_stamps, MIN_PER_CLASS)
    assert mb.category_counts(stamps) == {"birds": 5, "flowers": 5, "fruit": 5, "vehicles": 5}
    sources = {s.source for s in stamps}
    for skipped in ("animals/birds/drawn.png", "animals/birds/cartoon/toon.png",
                    "animals/birds/photo0_mirror.png", "food/fruit/vector.png",
                    "food/fruit/icon.png", "food/fruit/opaque.png", "animals/fish/photo0.png"):
        assert skipped not in sources


@pytest.mark.parametrize("make, expected", [
    (lambda rng: photo_stamp(rng, 30), True),
    (lambda rng: drawn_stamp((20, 200, 20)), False),
    (lambda rng: photo_stamp(rng, 30, size=(30, 30)), False),  # an icon: too small
])
def test_is_photographic(make, expected) -> None:
    assert mb.is_photographic(make(np.random.default_rng(0))) is expected


def test_missing_stamps_folder_says_how_to_install(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mb.STAMPS_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(SamDetectError, match="apt-get install tuxpaint-stamps-default"):
        mb.make_benchmark(tmp_path / "out", images=1)


def test_too_few_categories(fake_stamps: Path, tmp_path: Path) -> None:
    with pytest.raises(SamDetectError, match="fewer than two categories"):
        mb.make_benchmark(tmp_path / "out", images=1, min_per_class=50, stamps_root=fake_stamps)


def _build(root: Path, stamps: Path, seed: int) -> Path:
    mb.make_benchmark(root, images=4, seed=seed, min_per_class=MIN_PER_CLASS, size=(160, 120),
                      objects_per_image=(2, 3), stamps_root=stamps)
    return root


def test_same_seed_same_bytes(fake_stamps: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    first = _build(tmp_path / "a", fake_stamps, 3)
    monkeypatch.setenv(mb.STAMPS_ENV, str(fake_stamps))  # the env var is used when no root given
    second = tmp_path / "b"
    mb.make_benchmark(second, images=4, seed=3, min_per_class=MIN_PER_CLASS, size=(160, 120),
                      objects_per_image=(2, 3))
    other = _build(tmp_path / "c", fake_stamps, 4)
    json_a = (first / "annotations.json").read_bytes()
    assert json_a == (second / "annotations.json").read_bytes()
    assert json_a != (other / "annotations.json").read_bytes()
    for image in sorted((first / "images").iterdir()):
        assert image.read_bytes() == (second / "images" / image.name).read_bytes()


def test_dataset_contents(tiny_benchmark: Path) -> None:
    ds = CocoDataset(tiny_benchmark)
    assert len(ds.image_ids) == 12
    gts = ds.instances()
    assert sorted({g.category for g in gts}) <= EXPECTED_CATEGORIES
    assert all(g.source.endswith(".png") and "/" in g.source for g in gts)
    assert all(2 <= len(ds.annotation_ids(i)) <= 3 for i in ds.image_ids)
    assert ds.image_info(1)["background"] in mb.TEXTURES
    assert ds.info["seed"] == 0


def test_masks_are_exact(fake_stamps: Path, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    # On a black background every pasted pixel is stamp colour times alpha; the fake stamps are
    # bright (max channel >= 230), so a pixel brighter than 127 has alpha > 127: it must be in a
    # mask, and every mask pixel must be one of those.
    monkeypatch.setattr(mb, "load_texture", lambda name: np.zeros((64, 64, 3), np.uint8))
    root = _build(tmp_path / "black", fake_stamps, 1)
    ds = CocoDataset(root)
    for image_id in ds.image_ids:
        image = ds.load_image(image_id)
        masks = [ds.mask(a) for a in ds.annotation_ids(image_id)]
        union = np.sum(masks, axis=0)
        assert union.max() == 1, "masks overlap"
        for ann_id, mask in zip(ds.annotation_ids(image_id), masks):
            ann = ds.coco.anns[ann_id]
            assert ann["area"] == mask.sum()
            ys, xs = np.nonzero(mask)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                   ys.max() - ys.min() + 1]
        brightness = image.max(axis=2)
        inside = union.astype(bool)
        assert (brightness[inside] >= 115).all()
        bright = brightness > 128
        assert not (bright & ~inside).any()
        # The rim between "bright" and "in the mask" is one or two pixels wide, not more.
        ring = inside & ~bright
        assert ring.sum() <= cv2.dilate(bright.astype(np.uint8), np.ones((3, 3))).sum() * 0.5


@pytest.mark.parametrize("text, expected", [("640x480", (640, 480)), ("32X16", (32, 16))])
def test_parse_size(text: str, expected: tuple[int, int]) -> None:
    assert mb.parse_size(text) == expected


@pytest.mark.parametrize("text, expected", [("2-5", (2, 5)), ("3", (3, 3))])
def test_parse_range(text: str, expected: tuple[int, int]) -> None:
    assert mb.parse_range(text) == expected


@pytest.mark.parametrize("parser, text", [
    (mb.parse_size, "640"), (mb.parse_size, "0x10"), (mb.parse_range, "5-2"),
    (mb.parse_range, "a-b"), (mb.parse_range, "0-1"),
])
def test_parse_errors(parser, text: str) -> None:
    with pytest.raises(SamDetectError):
        parser(text)
