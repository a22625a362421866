# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Read and write COCO instance-segmentation datasets.

A dataset is a folder holding ``annotations.json`` (COCO "instances" format: ``images``,
``categories``, ``annotations`` with polygon or RLE ``segmentation``) and the images, either in
``images/`` or beside the JSON. Reading goes through :mod:`pycocotools` (``COCO``, ``annToMask``),
so polygons, uncompressed and compressed RLE all work.

Annotations written by ``sam-detect make-benchmark`` carry one extra key, ``"source"``: the stamp
file the object was cut from. The evaluation groups instances by it so that one physical object is
never both taught and queried; datasets without it fall back to grouping by image.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sam_detect.errors import SamDetectError
from sam_detect.evaluation.coco_checks import check_dataset
from sam_detect.image_io import load_image
from sam_detect.results import encode_rle, mask_to_bbox

ANNOTATIONS_FILE = "annotations.json"
IMAGES_DIR = "images"


@dataclass(frozen=True)
class GroundTruth:
    """One annotated object.

    Attributes:
        id: The annotation id.
        image_id: The id of the image it is in.
        category: Its category name (the label the detector should give it).
        source: What it was made from: the annotation's ``"source"`` when present, else
            ``"image:<image_id>"``; instances that share a source are one group when splitting.
        area: Mask area in pixels, as annotated.
    """

    id: int
    image_id: int
    category: str
    source: str
    area: float


class CocoDataset:
    """A COCO instances dataset on disk.

    Args:
        path: The dataset folder (holding ``annotations.json``) or the JSON file itself.

    Raises:
        SamDetectError: when the annotations are missing or not COCO instances JSON, or one
            annotation cannot be decoded (the message names it and says why; see
            :mod:`~sam_detect.evaluation.coco_checks`). Annotations of an image the file does
            not list are dropped and their ids kept in ``dropped``.

    Example:
        >>> import numpy as np, tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "images").mkdir()
        >>> Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "images" / "a.png")
        >>> m = np.zeros((8, 8), bool); m[2:5, 2:6] = True
        >>> write_coco(root, [{"id": 1, "file_name": "a.png", "width": 8, "height": 8}],
        ...            ["cup"], [annotation_from_mask(1, 1, 1, m, source="cup.png")]).name
        'annotations.json'
        >>> ds = CocoDataset(root)
        >>> ds.instances()[0].category, int(ds.mask(1).sum())
        ('cup', 12)
    """

    def __init__(self, path: str | os.PathLike) -> None:  # noqa: D107 - documented on the class
        path = Path(path)
        json_path = path / ANNOTATIONS_FILE if path.is_dir() else path
        if not json_path.is_file():
            raise SamDetectError(
                f"no COCO annotations at {json_path}; give a folder holding {ANNOTATIONS_FILE} "
                "or the JSON file (sam-detect make-benchmark OUT makes one)"
            )
        self.json_path = json_path
        self.root = json_path.parent
        try:
            from pycocotools.coco import COCO

            # pycocotools prints progress lines to stdout; keep the CLI's output clean.
            with contextlib.redirect_stdout(io.StringIO()):
                self.coco = COCO(str(json_path))
        except (ValueError, KeyError, TypeError, AssertionError) as error:
            raise SamDetectError(
                f"{json_path} is not a COCO instances file ({type(error).__name__}: {error})"
            ) from None
        for key in ("images", "annotations", "categories"):
            if key not in self.coco.dataset:
                raise SamDetectError(f"{json_path} has no '{key}' list; it is not COCO instances")
        problem, dropped = check_dataset(self.coco.dataset)
        if problem:
            raise SamDetectError(f"{json_path}: {problem}")
        #: Ids of the annotations dropped because their image is not in ``images``.
        self.dropped: list[int] = dropped
        self.categories: dict[int, str] = {
            int(c["id"]): str(c["name"]) for c in self.coco.dataset["categories"]
        }
        info = self.coco.dataset.get("info")
        self.info: dict[str, Any] = dict(info) if isinstance(info, dict) else {}

    @property
    def image_ids(self) -> list[int]:
        """All image ids, sorted."""
        return sorted(int(i) for i in self.coco.imgs)

    def image_info(self, image_id: int) -> dict[str, Any]:
        """Return the COCO ``images`` entry of ``image_id``."""
        return self.coco.imgs[image_id]

    def image_path(self, image_id: int) -> Path:
        """Return the file of ``image_id``: under ``images/`` or relative to the JSON's folder."""
        name = self.coco.imgs[image_id]["file_name"]
        for candidate in (self.root / IMAGES_DIR / name, self.root / name):
            if candidate.is_file():
                return candidate
        raise SamDetectError(
            f"image {name} of {self.json_path} not found in {self.root / IMAGES_DIR} "
            f"or {self.root}"
        )

    def load_image(self, image_id: int) -> np.ndarray:
        """Return image ``image_id`` as RGB ``uint8``."""
        return load_image(self.image_path(image_id))

    def annotation_ids(self, image_id: int | None = None) -> list[int]:
        """Return the ids of the (non-crowd) annotations, of one image or of all, sorted."""
        ids = self.coco.getAnnIds(imgIds=[] if image_id is None else [image_id], iscrowd=False)
        dropped = set(self.dropped)
        return sorted(int(i) for i in ids if i not in dropped)

    def mask(self, annotation_id: int) -> np.ndarray:
        """Return the boolean full-frame mask of an annotation (polygon or RLE)."""
        return self.coco.annToMask(self.coco.anns[annotation_id]).astype(bool)

    def instances(self) -> list[GroundTruth]:
        """Return every non-crowd annotation as a :class:`GroundTruth`, sorted by id."""
        found = []
        for ann_id in self.annotation_ids():
            ann = self.coco.anns[ann_id]
            source = ann.get("source") or f"image:{ann['image_id']}"
            found.append(
                GroundTruth(
                    id=int(ann_id),
                    image_id=int(ann["image_id"]),
                    category=self.categories[int(ann["category_id"])],
                    source=str(source),
                    area=float(ann.get("area", 0.0)),
                )
            )
        return found


def annotation_from_mask(
    annotation_id: int,
    image_id: int,
    category_id: int,
    mask: np.ndarray,
    source: str | None = None,
) -> dict[str, Any]:
    """Return a COCO annotation for a boolean mask, with exact compressed RLE segmentation.

    ``bbox`` is COCO's ``[x, y, width, height]``; ``source`` is added when given.
    """
    x0, y0, x1, y1 = mask_to_bbox(mask)
    ann: dict[str, Any] = {
        "id": int(annotation_id),
        "image_id": int(image_id),
        "category_id": int(category_id),
        "segmentation": encode_rle(mask),
        "area": int(np.count_nonzero(mask)),
        "bbox": [x0, y0, x1 - x0, y1 - y0],
        "iscrowd": 0,
    }
    if source is not None:
        ann["source"] = source
    return ann


def write_coco(
    path: str | os.PathLike,
    images: list[dict[str, Any]],
    categories: list[str] | list[dict[str, Any]],
    annotations: list[dict[str, Any]],
    info: dict[str, Any] | None = None,
) -> Path:
    """Write a COCO instances JSON; return its path.

    Args:
        path: A folder (``annotations.json`` is written in it) or a ``.json`` file path.
        images: COCO ``images`` entries (``id``, ``file_name``, ``width``, ``height``).
        categories: Category names (ids 1..n in order) or full COCO category dicts.
        annotations: COCO annotations, e.g. from :func:`annotation_from_mask`.
        info: Optional ``info`` record.

    The output is deterministic (fixed key order, no timestamps), so equal inputs give
    byte-identical files.
    """
    path = Path(path)
    json_path = path if path.suffix == ".json" else path / ANNOTATIONS_FILE
    json_path.parent.mkdir(parents=True, exist_ok=True)
    cats = [
        c if isinstance(c, dict) else {"id": i, "name": c, "supercategory": c}
        for i, c in enumerate(categories, start=1)
    ]
    data = {
        "info": info or {},
        "images": images,
        "categories": cats,
        "annotations": annotations,
    }
    json_path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    return json_path
