# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Check a COCO annotation before pycocotools decodes it.

pycocotools trusts its input: a string image id, an unknown category, a one-point polygon or
RLE counts that do not add up to the image's pixels end in a ``KeyError``, an ``IndexError`` or,
for compressed counts whose runs overflow the mask, a write past the end of the mask buffer in
its C decoder. :func:`annotation_problem` says what is wrong with an annotation in one phrase (or
None when pycocotools can decode it safely), so that :class:`~sam_detect.evaluation.CocoDataset`
refuses the file with one line naming the annotation (:func:`image_problem` does the same for
an ``images`` entry).

Example:
    >>> images = {1: {"id": 1, "width": 4, "height": 2}}
    >>> annotation_problem({"id": 7, "image_id": 1, "category_id": 1,
    ...                     "segmentation": [[0, 0, 1]]}, images, {1})
    'polygon 0 has 3 coordinates; a polygon is at least 3 points (6 numbers), in x, y pairs'
    >>> annotation_problem({"id": 7, "image_id": 1, "category_id": 1,
    ...                     "segmentation": {"size": [2, 4], "counts": [3, 2, 3]}}, images, {1})
    >>> rle_runs("52203")
    [5, 2, 2, 2, 5]
"""

from __future__ import annotations

import math
from typing import Any, Collection


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def rle_runs(counts: str) -> list[int] | None:
    """Return the run lengths of COCO's compressed RLE string, or None when it is not one.

    The inverse of pycocotools' ``rleToString`` (six-bit groups offset by 48, a continuation bit,
    runs after the second stored as differences to the run two before), read only to check the
    runs before pycocotools decodes them.
    """
    runs: list[int] = []
    position = 0
    while position < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(counts):
                return None  # ends inside a run
            code = ord(counts[position]) - 48
            if not 0 <= code < 64:
                return None
            value |= (code & 0x1F) << shift
            more = bool(code & 0x20)
            position += 1
            shift += 5
            if not more and code & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        if value < 0:
            return None
        runs.append(value)
    return runs


def _polygon_problem(polygons: list[Any]) -> str | None:
    if not polygons:
        return "has an empty polygon list"
    for index, polygon in enumerate(polygons):
        if not isinstance(polygon, list) or not all(_is_number(v) for v in polygon):
            return f"polygon {index} is not a list of finite numbers"
        if len(polygon) < 6 or len(polygon) % 2:
            return (f"polygon {index} has {len(polygon)} coordinates; a polygon is at least 3 "
                    "points (6 numbers), in x, y pairs")
    return None


def _rle_problem(rle: dict[str, Any], image: dict[str, Any]) -> str | None:
    size, counts = rle.get("size"), rle.get("counts")
    if not (isinstance(size, list) and len(size) == 2
            and all(_is_int(v) and v >= 0 for v in size)):
        return "has an RLE without a [height, width] size"
    expected = [image.get("height"), image.get("width")]
    if all(_is_int(v) for v in expected) and size != expected:
        return (f"has an RLE of size {size[0]}x{size[1]} (height x width) on an image of "
                f"{expected[0]}x{expected[1]}")
    if isinstance(counts, list):
        if not all(_is_int(v) and v >= 0 for v in counts):
            return "has RLE counts that are not non-negative integers"
        runs: list[int] | None = counts
    elif isinstance(counts, str):
        runs = rle_runs(counts)
        if runs is None:
            return "has garbage RLE counts (not COCO's compressed RLE string)"
    else:
        return "has RLE counts that are neither a list nor a string"
    if sum(runs) != size[0] * size[1]:
        return (f"has RLE counts covering {sum(runs)} pixels where its size has "
                f"{size[0] * size[1]}")
    return None


def image_problem(image: Any) -> str | None:
    """Return what makes a COCO ``images`` entry unusable in one phrase, or None."""
    if not isinstance(image, dict):
        return "is not a JSON object"
    if not _is_int(image.get("id")):
        return f"has id {image.get('id')!r}; image ids are integers"
    if not isinstance(image.get("file_name"), str):
        return "has no file_name"
    if not all(_is_int(image.get(k)) and image[k] > 0 for k in ("width", "height")):
        return "has no positive integer width and height"
    return None


def annotation_problem(ann: Any, images: dict[Any, dict[str, Any]],
                       category_ids: Collection[Any]) -> str | None:
    """Return what makes ``ann`` unusable in one phrase, or None when it can be decoded.

    An annotation whose (integer) image id is missing from ``images`` is not a problem here:
    the caller drops it and counts it.
    """
    if not isinstance(ann, dict):
        return "is not a JSON object"
    if not _is_int(ann.get("id")):
        return f"has id {ann.get('id')!r}; ids are integers"
    image_id = ann.get("image_id")
    if not _is_int(image_id):
        return f"has image_id {image_id!r}; image ids are integers"
    category = ann.get("category_id")
    if not _is_int(category) or category not in category_ids:
        return f"has category_id {category!r}, which is not in the dataset's categories"
    if "segmentation" not in ann:
        return "has no segmentation (a polygon list or an RLE)"
    segmentation = ann["segmentation"]
    if isinstance(segmentation, list):
        return _polygon_problem(segmentation)
    if isinstance(segmentation, dict):
        return _rle_problem(segmentation, images.get(image_id) or {})
    return (f"has a segmentation of type {type(segmentation).__name__}; give a polygon list or "
            "an RLE")


def check_dataset(data: dict[str, Any]) -> tuple[str | None, list[int]]:
    """Check a loaded COCO instances JSON: return ``(problem, dropped annotation ids)``.

    ``problem`` names the first unusable image, category or annotation (``annotation 7 has
    category_id 99, which is not in the dataset's categories``), or is None. Annotations whose
    image is not among ``images`` are not a problem: their ids are returned to be dropped.
    Annotations without ``iscrowd`` get ``iscrowd: 0`` (optional in hand-made files).
    """
    images: dict[Any, dict[str, Any]] = {}
    for image in data["images"]:
        problem = image_problem(image)
        if problem:
            return f"image {_shown(image)} {problem}", []
        images[image["id"]] = image
    category_ids = set()
    for category in data["categories"]:
        if not isinstance(category, dict) or not _is_int(category.get("id")) or not isinstance(
                category.get("name"), str):
            return (f"category {_shown(category)} needs an integer id and a name", [])
        category_ids.add(category["id"])
    dropped: list[int] = []
    for ann in data["annotations"]:
        problem = annotation_problem(ann, images, category_ids)
        if problem:
            return f"annotation {_shown(ann)} {problem}", []
        if ann["image_id"] not in images:
            dropped.append(ann["id"])
        ann.setdefault("iscrowd", 0)
    return None, dropped


def _shown(entry: Any) -> str:
    return repr(entry.get("id")) if isinstance(entry, dict) else "?"


__all__ = ["annotation_problem", "check_dataset", "image_problem", "rle_runs"]
