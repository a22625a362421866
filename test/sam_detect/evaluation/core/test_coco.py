# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""COCO reading and writing: RLE and polygon masks survive a round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sam_detect.errors import SamDetectError
from sam_detect.evaluation.core.coco import CocoDataset, annotation_from_mask, write_coco


def _dataset(root: Path, images_dir: bool = True) -> tuple[np.ndarray, np.ndarray]:
    folder = root / "images" if images_dir else root
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(folder / "a.png")
    rle_mask = np.zeros((20, 30), bool)
    rle_mask[3:9, 4:15] = True
    rle_mask[12, 20] = True
    polygon = {  # a 10x6 axis-aligned rectangle as a COCO polygon
        "id": 2, "image_id": 1, "category_id": 2, "iscrowd": 0, "area": 60,
        "bbox": [18, 10, 10, 6], "segmentation": [[18, 10, 28, 10, 28, 16, 18, 16]],
    }
    write_coco(root, [{"id": 1, "file_name": "a.png", "width": 30, "height": 20}],
               ["cup", "pen"],
               [annotation_from_mask(1, 1, 1, rle_mask, source="stamps/cup.png"), polygon])
    poly_mask = np.zeros((20, 30), bool)
    poly_mask[10:16, 18:28] = True
    return rle_mask, poly_mask


@pytest.mark.parametrize("images_dir", [True, False])
def test_round_trip_rle_and_polygon(tmp_path: Path, images_dir: bool) -> None:
    rle_mask, poly_mask = _dataset(tmp_path, images_dir)
    ds = CocoDataset(tmp_path)
    assert ds.image_ids == [1]
    assert ds.load_image(1).shape == (20, 30, 3)
    np.testing.assert_array_equal(ds.mask(1), rle_mask)
    # pycocotools rasterises polygon edges inclusively on one side; allow one border column/row.
    iou = (ds.mask(2) & poly_mask).sum() / (ds.mask(2) | poly_mask).sum()
    assert iou > 0.8
    gts = ds.instances()
    assert [(g.id, g.category, g.source) for g in gts] == [
        (1, "cup", "stamps/cup.png"), (2, "pen", "image:1")]
    assert gts[0].area == rle_mask.sum()


def test_annotation_fields() -> None:
    mask = np.zeros((10, 10), bool)
    mask[2:5, 3:9] = True
    ann = annotation_from_mask(7, 3, 2, mask)
    assert ann["bbox"] == [3, 2, 6, 3]
    assert ann["area"] == 18
    assert isinstance(ann["segmentation"]["counts"], str)
    assert "source" not in ann


def test_json_file_path_and_determinism(tmp_path: Path) -> None:
    _dataset(tmp_path / "one")
    _dataset(tmp_path / "two")
    first = (tmp_path / "one" / "annotations.json").read_bytes()
    assert first == (tmp_path / "two" / "annotations.json").read_bytes()
    assert CocoDataset(tmp_path / "one" / "annotations.json").image_ids == [1]


@pytest.mark.parametrize("content, message", [
    (None, "no COCO annotations"),
    ("[1, 2]", "not a COCO"),
    (json.dumps({"images": [], "annotations": []}), "no 'categories'"),
])
def test_bad_datasets(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "annotations.json").write_text(content)
    with pytest.raises(SamDetectError, match=message):
        CocoDataset(tmp_path)


def test_missing_image_file(tmp_path: Path) -> None:
    _dataset(tmp_path)
    (tmp_path / "images" / "a.png").unlink()
    with pytest.raises(SamDetectError, match="a.png"):
        CocoDataset(tmp_path).load_image(1)
