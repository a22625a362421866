# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The instance-level benchmark: one object per label, disjoint splits, every view change."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sam_detect.errors import SamDetectError
from sam_detect.evaluation.coco import CocoDataset, GroundTruth
import sam_detect.evaluation.instance_benchmark as ib
from sam_detect.evaluation.instance_split import dataset_kind, split_views, teaching_images

from .conftest import MIN_PER_CLASS

SIZE = (320, 240)
OPTIONS = dict(min_per_class=MIN_PER_CLASS, size=SIZE, taught_objects=3, never_taught=2,
               teach_views=3, unseen_categories=0)


@pytest.fixture(scope="module")
def instance(fake_stamps: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return an instance benchmark (both splits, 24 scenes each) made from the fake stamps."""
    out = tmp_path_factory.mktemp("instance") / "bench"
    ib.make_instance_benchmark(out, images=24, seed=1, stamps_root=fake_stamps, **OPTIONS)
    return out


def _data(root: Path) -> dict:
    return json.loads((root / "annotations.json").read_text())


def _views(root: Path, role: str) -> list[dict]:
    return [a for a in _data(root)["annotations"] if a["view"]["role"] == role]


def test_tune_and_validation_share_no_object(instance: Path) -> None:
    tune, validation = _data(instance / "tune"), _data(instance / "validation")
    assert not {c["name"] for c in tune["categories"]} & {
        c["name"] for c in validation["categories"]}
    assert not {a["source"] for a in tune["annotations"]} & {
        a["source"] for a in validation["annotations"]}


@pytest.mark.parametrize("split", ["tune", "validation"])
def test_each_label_is_one_photographed_object(instance: Path, split: str) -> None:
    data = _data(instance / split)
    sources: dict[int, set[str]] = {}
    for ann in data["annotations"]:
        sources.setdefault(ann["category_id"], set()).add(ann["source"])
    assert all(len(s) == 1 for s in sources.values())  # one stamp per label
    names = {c["id"]: c["name"] for c in data["categories"]}
    assert all(names[c] + ".png" == s.pop() for c, s in sources.items())
    info = data["info"]
    assert info["kind"] == "instance" and info["split"] == split
    taught = [c for c in data["categories"] if c["taught"]]
    never = [c for c in data["categories"] if not c["taught"]]
    assert len(taught) == 3 and len(never) == 2
    assert sorted(c["name"] for c in never) == sorted(info["distractor_categories"])
    # Another object of a taught one's kind is among the never taught (another apple).
    same = [c for c in never if c["same_kind"]]
    assert same and info["never_taught_same_kind"] == [c["name"] for c in same]
    assert all(c["kind"] in {t["kind"] for t in taught} for c in same)


@pytest.mark.parametrize("split", ["tune", "validation"])
def test_teaching_pictures_show_one_taught_object_each(instance: Path, split: str) -> None:
    data = _data(instance / split)
    teach_images = {i["id"] for i in data["images"] if i["role"] == "teach"}
    taught = {c["id"] for c in data["categories"] if c["taught"]}
    views = _views(instance / split, "teach")
    assert len(teach_images) == len(views) == 3 * len(taught)
    assert Counter(a["image_id"] for a in views) == Counter(dict.fromkeys(teach_images, 1))
    assert Counter(a["category_id"] for a in views) == Counter(dict.fromkeys(taught, 3))
    assert all(a["visible"] == 1.0 and abs(a["view"]["rotation"]) <= 10 for a in views)
    # Scenes never hold one object twice, and every object has scene views to be asked on.
    scenes = _views(instance / split, "scene")
    per_scene = Counter((a["image_id"], a["category_id"]) for a in scenes)
    assert max(per_scene.values()) == 1
    assert {a["category_id"] for a in scenes} == {c["id"] for c in data["categories"]}


@pytest.mark.parametrize("split", ["tune", "validation"])
def test_every_view_transform_is_present(instance: Path, split: str) -> None:
    found: Counter[str] = Counter()
    for ann in _views(instance / split, "scene"):
        found.update(ib.view_transforms(ann["view"]))
    assert set(found) == set(ib.VIEW_TRANSFORMS), set(ib.VIEW_TRANSFORMS) - set(found)
    assert all(a["view"]["rotation"] != 0 for a in _views(instance / split, "scene"))


def test_same_seed_same_bytes(fake_stamps: Path, instance: Path, tmp_path: Path) -> None:
    ib.make_instance_benchmark(tmp_path / "same", images=24, seed=1, splits=["validation"],
                               stamps_root=fake_stamps, **OPTIONS)
    ib.make_instance_benchmark(tmp_path / "other", images=24, seed=2, splits=["validation"],
                               stamps_root=fake_stamps, **OPTIONS)
    first, same = instance / "validation", tmp_path / "same/validation"
    assert (same / "annotations.json").read_bytes() == (first / "annotations.json").read_bytes()
    for image in sorted((first / "images").iterdir()):
        assert image.read_bytes() == (same / "images" / image.name).read_bytes()
    assert (tmp_path / "other/validation/annotations.json").read_bytes() != \
        (first / "annotations.json").read_bytes()


@pytest.mark.parametrize("angle, mirror, shape", [
    (0.0, False, (40, 80)), (90.0, False, (80, 40)), (0.0, True, (40, 80)), (45.0, False, None)])
def test_transform_view(angle: float, mirror: bool, shape: tuple[int, int] | None) -> None:
    rgba = np.zeros((40, 80, 4), np.uint8)
    rgba[:, :, 3] = 255
    rgba[:, :40, 0] = 255  # left half red
    view = ib.transform_view(rgba, 80, angle, mirror)
    if shape is not None:
        assert view.shape[:2] == shape
    else:  # a rectangle turned by 45 degrees: a wider, taller box, empty corners
        assert view.shape[0] > 70 and view.shape[1] > 70 and view[0, 0, 3] == 0
    if angle == 0.0:
        assert (view[20, 5, 0] == 255) != mirror  # mirrored: red on the right


def test_too_many_objects_is_a_clear_error(fake_stamps: Path, tmp_path: Path) -> None:
    with pytest.raises(SamDetectError, match="fewer than 40 taught objects"):
        ib.make_instance_benchmark(tmp_path, images=1, stamps_root=fake_stamps,
                                   **{**OPTIONS, "taught_objects": 40})


def _gts(spec: str) -> list[GroundTruth]:
    """Return ground truth from ``label:image`` pairs (annotation id = position)."""
    pairs = [p.split(":") for p in spec.split()]
    return [GroundTruth(i, int(image), label, label, 1.0) for i, (label, image) in
            enumerate(pairs, start=1)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_split_views_never_asks_a_taught_view(instance: Path, seed: int) -> None:
    dataset = CocoDataset(instance / "validation")
    teach = teaching_images(dataset)
    instances = dataset.instances()
    by_id = {g.id: g for g in instances}
    split = split_views(instances, teach, max_shots=3, seed=seed,
                        never_taught=dataset.info["distractor_categories"])
    taught = {i for ids in split.support.values() for i in ids}
    asked = set(split.query) | set(split.unknown)
    assert not taught & asked
    assert all(by_id[i].image_id in teach for i in taught)  # support: teaching pictures
    assert not asked & split.teach_only and all(by_id[i].image_id not in teach for i in asked)
    assert set(split.support) == {c["name"] for c in _data(instance / "validation")["categories"]
                                  if c["taught"]}
    assert {by_id[i].category for i in split.unknown} == set(
        dataset.info["distractor_categories"])


def test_split_views_draws_support_per_seed_and_holds_out_objects() -> None:
    gts = _gts(" ".join([f"mug:{i}" for i in range(1, 6)] + [f"mug:{i}" for i in range(10, 20)]
                        + [f"cup:{i}" for i in range(10, 20)] + ["pen:10", "pen:11"]
                        + [f"box:{i}" for i in range(10, 14)]))
    teach = set(range(1, 6))
    supports = {tuple(split_views(gts, teach, 2, seed).support["mug"]) for seed in range(6)}
    assert len(supports) > 1  # seeds draw different teaching pictures
    split = split_views(gts, teach, 2, seed=0)
    # No teaching picture: taught from its own views, keeping 30 % (at least one) to ask.
    assert len(split.support["cup"]) == 2 and len(split.support["pen"]) == 1
    pens = {g.id for g in gts if g.category == "pen"}
    assert len(pens & set(split.query)) == 1 and not set(split.support["pen"]) & set(split.query)
    held = split_views(gts, teach, 2, seed=0, held_out=1, never_taught=["pen"])
    assert len(held.held_out) == 2 and "pen" in held.held_out
    assert {gts[i - 1].category for i in held.unknown} == set(held.held_out)
    assert not set(held.held_out) & set(held.support)
    assert dataset_kind({"kind": "instance"}) == "instance" == dataset_kind(
        {"kind": "instance", "x": 1})
    assert dataset_kind({}) == "category"


def test_evaluate_at_instance_level(instance: Path, capsys: pytest.CaptureFixture[str],
                                    tmp_path: Path) -> None:
    from sam_detect.cli import main

    out = tmp_path / "r.json"
    assert main(["evaluate", str(instance / "validation"), "--embedder", "average",
                 "--segmenter", "naive", "--shots", "1,3", "--seeds", "2", "--latency-images",
                 "1", "--json", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "(instance level, validation split)" in printed.splitlines()[0]
    report = json.loads(out.read_text())
    data = _data(instance / "validation")
    scenes = [a for a in data["annotations"] if a["view"]["role"] == "scene"]
    assert report["dataset"]["kind"] == "instance"
    assert report["dataset"]["teaching_images"] == 9
    assert report["config"]["support"] == "teaching pictures"
    assert report["segmentation"]["instances"] == len(scenes)  # teaching pictures not scenes
    assert [row["shots"] for row in report["few_shot"]] == [1, 3]
    taught_scene_views = [a for a in scenes if a["category_id"] in {
        c["id"] for c in data["categories"] if c["taught"]}]
    assert report["few_shot"][0]["queries"] == len(taught_scene_views)
    assert report["few_shot"][0]["unknown_rejection"]["mean"] is not None


def test_open_set_scores_at_instance_level(instance: Path) -> None:
    """The open-set fit's scores (bench/tune_open_set.py) use the instance split too."""
    from sam_detect import SAMDetect
    from sam_detect.evaluation.evaluator import open_set_scores

    data = _data(instance / "tune")
    never = {c["name"] for c in data["categories"] if not c["taught"]}
    scenes = _views(instance / "tune", "scene")
    names = {c["id"]: c["name"] for c in data["categories"]}
    with SAMDetect(embedder="average", segmenter="naive") as detector:
        rows = open_set_scores(detector, instance / "tune", shots=1, seeds=2, held_out=0)
    assert len(rows) == 2 * len(scenes)  # every scene view asked once per seed, no teach view
    assert {r["truth"] for r in rows if r["never_taught"]} == never
    assert sorted(r["truth"] for r in rows if r["seed"] == 0) == sorted(
        names[a["category_id"]] for a in scenes)
