# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""How the evaluator teaches and asks on an instance-level dataset.

A dataset says what it measures in ``info["kind"]``: ``"category"`` (the default: teach some
photos of "fruit", recognise other fruit) or ``"instance"`` (``make-benchmark --instance``: each
label is one physical object). At category level support and query never share a source photo
(:func:`~sam_detect.evaluation.evaluator.split_instances`). At instance level every view of a
label IS the same source, so the unit is the *view* (one annotation), and:

* **support** is drawn from the object's teaching pictures (images with ``"role": "teach"``: the
  object alone, upright, as a user shows it to the robot), shuffled per seed; k shots are the
  first k. An object without teaching pictures is taught from its own other scene views instead
  (at most ``max_shots``, keeping at least ``query_fraction`` of its views, and one, for queries).
* **query** is every other view of the object: its scene views. A view is never both taught and
  asked, and teaching pictures are never asked.
* **never taught** are the dataset's ``info["distractor_categories"]`` (for ``--instance``: the
  never-taught objects, half of them of a taught object's kind) plus ``held_out`` objects drawn
  per seed from the taught ones; their scene views are the unknown queries.

Teaching pictures are not scenes: segmentation recall, end-to-end accuracy and latency are
measured on the scene images only.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from sam_detect.errors import SamDetectError

TEACH_ROLE = "teach"
SPLIT_STREAM = 20261  # the category-level split uses 20260


def dataset_kind(info: dict[str, Any]) -> str:
    """Return what a dataset measures: ``"instance"`` or ``"category"`` (the default)."""
    return "instance" if info.get("kind") == "instance" else "category"


def teaching_images(dataset: Any) -> set[int]:
    """Return the ids of an instance dataset's teaching pictures (none for other kinds)."""
    if dataset_kind(dataset.info) != "instance":
        return set()
    return {i for i in dataset.image_ids if dataset.image_info(i).get("role") == TEACH_ROLE}


def split_views(instances: Sequence[Any], teach_images: set[int], max_shots: int, seed: int,
                held_out: int = 0, query_fraction: float = 0.3,
                never_taught: Sequence[str] = ()) -> Any:
    """Split an instance-level dataset's views into support and query (see the module doc).

    Args:
        instances: The dataset's ground truth (:class:`~sam_detect.evaluation.GroundTruth`).
        teach_images: Ids of the teaching pictures.
        max_shots: The largest shot count that will be taught.
        seed: Random seed of the shuffle and of the held-out choice.
        held_out: Objects never taught, drawn per seed, besides ``never_taught``.
        query_fraction: For an object taught from its scene views: least share kept for queries.
        never_taught: Objects never taught whatever the seed.

    Returns:
        A :class:`~sam_detect.evaluation.evaluator.Split` whose ``teach_only`` holds the views
        that are never asked (the teaching pictures).

    Example:
        >>> from sam_detect.evaluation.coco import GroundTruth
        >>> views = [GroundTruth(i, i, "mug" if i < 6 else "cup", "x", 1.0) for i in range(10)]
        >>> s = split_views(views, {0, 1, 2}, max_shots=2, seed=0)
        >>> sorted(s.support["mug"]) < [3], s.query[:3], len(s.support["cup"])
        (True, [3, 4, 5], 2)
    """
    from sam_detect.evaluation.evaluator import Split

    rng = np.random.default_rng([seed, SPLIT_STREAM])
    labels = sorted({g.category for g in instances})
    fixed = sorted(set(labels) & set(never_taught))
    candidates = [c for c in labels if c not in fixed]
    if held_out < 0 or held_out > len(candidates) - 2:
        raise SamDetectError(
            f"--held-out {held_out} leaves fewer than 2 of the {len(candidates)} objects to "
            "teach; lower it")
    drawn = rng.choice(candidates, size=held_out, replace=False) if held_out else []
    held = sorted(fixed + [str(c) for c in drawn])
    teach_views: dict[str, list[int]] = defaultdict(list)
    scene_views: dict[str, list[int]] = defaultdict(list)
    for gt in sorted(instances, key=lambda g: g.id):
        (teach_views if gt.image_id in teach_images else scene_views)[gt.category].append(gt.id)
    support: dict[str, list[int]] = {}
    query: list[int] = []
    for label in labels:
        if label in held:
            continue
        teach = teach_views.get(label, [])
        scenes = scene_views.get(label, [])
        if teach:
            support[label] = [teach[i] for i in rng.permutation(len(teach))][:max_shots]
            query += scenes
            continue
        shuffled = [scenes[i] for i in rng.permutation(len(scenes))]
        keep = max(1, math.ceil(query_fraction * len(shuffled)))
        count = max(0, min(max_shots, len(shuffled) - keep))
        if count:  # one view alone cannot be both taught and asked
            support[label] = shuffled[:count]
            query += shuffled[count:]
    unknown = [i for label in held for i in scene_views.get(label, [])]
    teach_only = frozenset(i for ids in teach_views.values() for i in ids)
    return Split(held, support, sorted(query), sorted(unknown), teach_only)


__all__ = ["TEACH_ROLE", "dataset_kind", "split_views", "teaching_images"]
