# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The hard benchmark: distractors, overlap, splits that differ, reproducibility (fake stamps)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from sam_detect.errors import SamDetectError
from sam_detect.evaluation.coco import CocoDataset
import sam_detect.evaluation.hard_benchmark as hb
import sam_detect.evaluation.hard_scenes as hs

from .conftest import EXPECTED_CATEGORIES, MIN_PER_CLASS

SIZE = (256, 192)


@pytest.fixture(scope="module")
def hard(fake_stamps: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a hard benchmark (both splits, 10 images each) made from the fake stamps."""
    out = tmp_path_factory.mktemp("hard") / "bench"
    hb.make_hard_benchmark(out, images=10, seed=1, min_per_class=MIN_PER_CLASS, size=SIZE,
                           stamps_root=fake_stamps)
    return out


def _annotations(root: Path) -> dict:
    return json.loads((root / "annotations.json").read_text())


@pytest.mark.parametrize("split", ["tune", "validation"])
def test_split_is_coco_with_marked_distractors(hard: Path, split: str) -> None:
    ds = CocoDataset(hard / split)
    assert len(ds.image_ids) == 10
    data = _annotations(hard / split)
    distractors = {c["name"] for c in data["categories"] if c["distractor"]}
    few_shot = {c["name"] for c in data["categories"] if not c["distractor"]}
    unseen = set(ds.info["photo_pool"]["unseen_categories"])
    assert len(unseen) == 1  # a quarter of the 4 categories
    assert few_shot == set(EXPECTED_CATEGORIES) - (unseen if split == "tune" else set())
    assert distractors == {"fish"} == set(ds.info["distractor_categories"])
    categories = [g.category for g in ds.instances()]
    assert "fish" in categories and set(categories) & few_shot
    assert ds.info["split"] == split
    assert all(ds.image_info(i)["split"] == split for i in ds.image_ids)


@pytest.mark.parametrize("split", ["tune", "validation"])
def test_scenes_have_overlap_or_cuts_and_exact_masks(hard: Path, split: str) -> None:
    ds = CocoDataset(hard / split)
    data = _annotations(hard / split)
    assert any(a["visible"] < 0.99 for a in data["annotations"])
    for image_id in ds.image_ids:
        masks = [ds.mask(a) for a in ds.annotation_ids(image_id)]
        total = np.sum(masks, axis=0) if masks else np.zeros(1)
        assert total.max() <= 1  # visible masks never overlap: occluded parts are removed
    settings = hs.SPLITS[split]
    assert all(a["visible"] >= 1 - settings.max_occlusion - settings.max_outside - 1e-3
               for a in data["annotations"])


def test_splits_differ(hard: Path) -> None:
    tune, validation = CocoDataset(hard / "tune"), CocoDataset(hard / "validation")
    assert tune.info["settings"] != validation.info["settings"]
    assert (hard / "tune/images/000001.png").read_bytes() != \
        (hard / "validation/images/000001.png").read_bytes()
    # The splits' photo and texture backgrounds are disjoint: tuning never sees validation's.
    assert not set(hs.TUNE.photos + hs.TUNE.textures) & set(
        hs.VALIDATION.photos + hs.VALIDATION.textures)
    assert hs.TUNE.stream != hs.VALIDATION.stream


def _photos(root: Path) -> dict[str, set[str]]:
    """Return the stamp files pasted in a split, per category."""
    data = _annotations(root)
    names = {c["id"]: c["name"] for c in data["categories"]}
    found: dict[str, set[str]] = {}
    for ann in data["annotations"]:
        found.setdefault(names[ann["category_id"]], set()).add(ann["source"])
    return found


def test_splits_share_no_photo_and_unseen_categories_are_validation_only(hard: Path) -> None:
    tune, validation = _photos(hard / "tune"), _photos(hard / "validation")
    tune_info = CocoDataset(hard / "tune").info["photo_pool"]
    validation_info = CocoDataset(hard / "validation").info["photo_pool"]
    unseen = set(tune_info["unseen_categories"])
    assert unseen == set(validation_info["unseen_categories"])
    assert not set().union(*tune.values()) & set().union(*validation.values())
    assert not unseen & set(tune) and not unseen & set(tune_info["photos_per_category"])
    assert unseen <= set(validation)  # 10 scenes draw every category of the 4
    # Each other category is divided: its photos are in both splits, none in both.
    for category in set(EXPECTED_CATEGORIES) - unseen:
        assert tune_info["photos_per_category"][category] >= 1
        assert validation_info["photos_per_category"][category] >= \
            tune_info["photos_per_category"][category]
    # Every unseen category keeps all its 5 photos for validation.
    assert all(validation_info["photos_per_category"][c] == 5 for c in unseen)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_photo_division_is_disjoint_and_deterministic(fake_stamps: Path, seed: int) -> None:
    from sam_detect.evaluation.benchmark import scan_photo_stamps
    from sam_detect.evaluation.photo_pool import divide_photos

    main, distractors = hb.split_stamps(scan_photo_stamps(fake_stamps), MIN_PER_CLASS,
                                        fake_stamps)
    pool = divide_photos(main, distractors, seed)
    assert pool == divide_photos(main, distractors, seed)
    for kind in (0, 1):  # few-shot photos, distractor photos
        tune = {s.source for s in pool.tune[kind]}
        validation = {s.source for s in pool.validation[kind]}
        assert not tune & validation
        assert tune | validation == {s.source for s in (main, distractors)[kind]}
    assert {s.category for s in pool.tune[1]} == {s.category for s in pool.validation[1]} \
        == {"fish"}
    assert not set(pool.unseen_categories) & {s.category for s in pool.tune[0]}


@pytest.mark.parametrize("unseen, tune_categories", [(0, 4), (1, 3), (2, 2)])
def test_unseen_category_count(fake_stamps: Path, unseen: int, tune_categories: int) -> None:
    from sam_detect.evaluation.benchmark import scan_photo_stamps
    from sam_detect.evaluation.photo_pool import divide_photos

    main, distractors = hb.split_stamps(scan_photo_stamps(fake_stamps), MIN_PER_CLASS,
                                        fake_stamps)
    pool = divide_photos(main, distractors, 1, unseen_categories=unseen)
    assert len(pool.unseen_categories) == unseen
    assert len({s.category for s in pool.tune[0]}) == tune_categories
    assert len({s.category for s in pool.validation[0]}) == 4


def test_too_many_unseen_categories_is_a_clear_error(fake_stamps: Path, tmp_path: Path) -> None:
    with pytest.raises(SamDetectError, match="--unseen-categories 3 leaves fewer than 2"):
        hb.make_hard_benchmark(tmp_path, images=1, stamps_root=fake_stamps,
                               min_per_class=MIN_PER_CLASS, unseen_categories=3)


def test_same_seed_same_bytes(fake_stamps: Path, hard: Path, tmp_path: Path) -> None:
    hb.make_hard_benchmark(tmp_path / "same", images=10, seed=1, splits=["validation"],
                           min_per_class=MIN_PER_CLASS, size=SIZE, stamps_root=fake_stamps)
    hb.make_hard_benchmark(tmp_path / "other", images=2, seed=2, splits=["validation"],
                           min_per_class=MIN_PER_CLASS, size=SIZE, stamps_root=fake_stamps)
    same, first = tmp_path / "same/validation", hard / "validation"
    assert (same / "annotations.json").read_bytes() == (first / "annotations.json").read_bytes()
    for image in sorted((first / "images").iterdir()):
        assert image.read_bytes() == (same / "images" / image.name).read_bytes()
    assert (tmp_path / "other/validation/images/000001.png").read_bytes() != \
        (first / "images/000001.png").read_bytes()


@pytest.mark.parametrize("family", hs.FAMILIES)
@pytest.mark.parametrize("settings", [hs.TUNE, hs.VALIDATION], ids=["tune", "validation"])
def test_every_background_family(family: str, settings: hs.SceneSettings) -> None:
    only = dataclasses.replace(settings, families=((family, 1.0),))
    texture = np.random.default_rng(0).integers(0, 256, (100, 120, 3), np.uint8)
    image, name = hs.make_background(np.random.default_rng(3), only, (96, 64),
                                     lambda _name: texture)
    assert image.shape == (64, 96, 3) and np.isfinite(image).all()
    assert name.split(":")[0] == family
    assert image.std() > 1.0  # never a flat colour


@pytest.mark.parametrize("max_occlusion", [0.0, 0.3])
def test_find_place_respects_occlusion(max_occlusion: float) -> None:
    settings = dataclasses.replace(hs.TUNE, max_occlusion=max_occlusion,
                                   edge_cut_probability=0.0)
    rng = np.random.default_rng(0)
    stamp = np.zeros((30, 30, 4), np.uint8)
    stamp[:, :, 3] = 255
    placed: list[tuple[np.ndarray, int]] = []
    for _ in range(6):
        place = hs.find_place(rng, settings, (100, 130), stamp, placed)
        if place is None:
            continue
        _, _, mask = place
        for visible, _ in placed:
            visible &= ~mask
        placed.append((mask, int(mask.sum())))
    assert len(placed) >= 2
    for visible, area in placed:
        assert visible.sum() >= (1 - max_occlusion) * area - 1e-6
        assert area == 900  # no edge cut: every object entirely in the frame


def test_unknown_split_is_a_clear_error(fake_stamps: Path, tmp_path: Path) -> None:
    with pytest.raises(SamDetectError, match="unknown split 'test'"):
        hb.make_hard_benchmark(tmp_path, images=1, splits=["test"], stamps_root=fake_stamps,
                               min_per_class=MIN_PER_CLASS)


def test_cli_writes_both_splits(fake_stamps: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    from sam_detect.evaluation.cli import make_benchmark_main

    status = make_benchmark_main([str(tmp_path / "b"), "--hard", "--images", "2", "--size",
                                  "128x96", "--min-per-class", str(MIN_PER_CLASS),
                                  "--stamps-dir", str(fake_stamps), "-q"])
    assert status == 0
    out = capsys.readouterr().out
    assert "tune: wrote 2 images" in out and "validation: wrote 2 images" in out
    assert "no photo is in both splits; categories in validation only: " in out
    assert (tmp_path / "b/tune/annotations.json").is_file()
    assert (tmp_path / "b/validation/annotations.json").is_file()
