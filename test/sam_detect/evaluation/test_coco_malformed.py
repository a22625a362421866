# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Malformed COCO files: one line, exit 2, naming the annotation; orphans dropped and counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from PIL import Image

from sam_detect.cli import main
from sam_detect.errors import SamDetectError
from sam_detect.evaluation.coco import annotation_from_mask, CocoDataset


def _dataset(folder: Path, change: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Write a 2-image dataset (a square and a disc, both valid), changed by ``change``."""
    (folder / "images").mkdir(parents=True)
    data: dict[str, Any] = {"info": {}, "images": [], "categories": [
        {"id": 1, "name": "square"}, {"id": 2, "name": "disc"}], "annotations": []}
    for image_id in (1, 2):
        image = np.full((40, 48, 3), 90, np.uint8)
        mask = np.zeros((40, 48), bool)
        mask[10:25, 12:30] = True
        image[mask] = (230, 40, 40)
        Image.fromarray(image).save(folder / "images" / f"{image_id}.png")
        data["images"].append({"id": image_id, "file_name": f"{image_id}.png", "width": 48,
                               "height": 40})
        data["annotations"].append(annotation_from_mask(image_id, image_id, image_id, mask))
    data["annotations"][0]["segmentation"] = [[12, 10, 30, 10, 30, 25, 12, 25]]  # a polygon
    if change:
        change(data)
    (folder / "annotations.json").write_text(json.dumps(data))
    return folder


def _set(index: int, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["annotations"][index][key] = value
    return change


def _drop_segmentation(data: dict[str, Any]) -> None:
    del data["annotations"][1]["segmentation"]


def _rle(counts: Any, size: list[int] | None = None) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["annotations"][1]["segmentation"] = {"size": size or [40, 48], "counts": counts}
    return change


@pytest.mark.parametrize("change, message", [
    (_set(1, "category_id", 99), "annotation 2 has category_id 99, which is not in"),
    (_drop_segmentation, "annotation 2 has no segmentation"),
    (_rle("\x7f\x7f\x7fgarbage~~~"), "annotation 2 has garbage RLE counts"),
    (_rle("P`0"), "annotation 2 has RLE counts covering"),  # a valid string, wrong total
    (_rle([100, 1000], [40, 48]), "annotation 2 has RLE counts covering 1100 pixels where its "
                                  "size has 1920"),
    (_rle([1920], [48, 40]), "annotation 2 has an RLE of size 48x40 (height x width) on an "
                             "image of 40x48"),
    (_set(0, "segmentation", [[12, 10]]), "annotation 1 polygon 0 has 2 coordinates"),
    (_set(0, "segmentation", []), "annotation 1 has an empty polygon list"),
    (_set(0, "segmentation", "a square"), "annotation 1 has a segmentation of type str"),
    (_set(0, "image_id", "1"), "annotation 1 has image_id '1'; image ids are integers"),
    (_set(0, "id", "one"), "annotation 'one' has id 'one'"),
    (lambda data: data["images"][0].update(id="x"), "image 'x' has id 'x'"),
    (lambda data: data["categories"][0].update(id="square"), "category 'square' needs"),
    (lambda data: data["images"][1].pop("height"), "image 2 has no positive integer width"),
])
def test_malformed_annotation_is_one_line_exit_2(tmp_path: Path, change: Any, message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = _dataset(tmp_path / "ds", change)
    with pytest.raises(SamDetectError, match="annotations.json: "):
        CocoDataset(folder)
    status = main(["evaluate", str(folder), "--metrics", "segmentation", "--segmenter", "naive",
                   "--embedder", "average", "--latency-images", "0", "-q"])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_annotations_of_missing_images_are_dropped_and_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def orphan(data: dict[str, Any]) -> None:
        extra = dict(data["annotations"][1], id=3, image_id=7)
        data["annotations"].append(extra)
        for ann in data["annotations"]:
            ann.pop("iscrowd")  # optional in hand-made files

    folder = _dataset(tmp_path / "ds", orphan)
    dataset = CocoDataset(folder)
    assert dataset.dropped == [3] and dataset.annotation_ids() == [1, 2]
    assert [g.id for g in dataset.instances()] == [1, 2]
    assert main(["evaluate", str(folder), "--metrics", "segmentation", "--segmenter", "naive",
                 "--embedder", "average", "--latency-images", "0", "-q"]) == 0
    out = capsys.readouterr().out
    assert "dropped 1 annotation(s) whose image is not in the dataset's images" in out


def test_a_valid_dataset_still_loads(tmp_path: Path) -> None:
    dataset = CocoDataset(_dataset(tmp_path / "ds"))
    assert dataset.dropped == [] and int(dataset.mask(1).sum()) > 0
    assert int(dataset.mask(2).sum()) == 15 * 18
