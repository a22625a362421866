# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Divide the object photos between a benchmark's TUNE and VALIDATION splits.

Scenes and backgrounds that differ between the splits are not enough: when both splits paste the
same photographed objects, validation measures objects the settings were already tuned on. So the
photo pool is split too:

* a few **unseen categories** (by default a quarter of the few-shot categories, drawn per seed)
  are held out of tuning altogether: all their photos go to validation, none to tune;
* every other few-shot category's photos are divided, the smaller half to tune and the larger one
  to validation (validation is what gets reported);
* every distractor folder's photos are divided the same way (a folder's odd photo goes to either
  split at random, so a one-photo folder lives in one split only).

No photo is in both splits. The division depends only on the seed and the stamps (never on which
splits are written), so ``--split tune`` and ``--split validation`` written apart match the pair
written together. The instance-level benchmark draws its objects from the same division, so one
seed's tune data, category or instance level, never holds a validation photo.

Example:
    >>> from pathlib import Path
    >>> stamps = [Stamp(Path(f"{c}{i}.png"), f"{c}/{i}.png", c, c) for c in "abcd"
    ...           for i in range(6)]
    >>> pool = divide_photos(stamps, [], seed=1)
    >>> len(pool.unseen_categories), len(pool.tune[0]), len(pool.validation[0])
    (1, 9, 15)
    >>> {s.source for s in pool.tune[0]} & {s.source for s in pool.validation[0]}
    set()
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from sam_detect.errors import SamDetectError
from sam_detect.evaluation.benchmark import Stamp

POOL_STREAM = 303  # mixed with the user's seed: the division has a random stream of its own
TUNE_SHARE = 0.5  # a divided category gives tune floor(n * share) photos, validation the rest


@dataclass(frozen=True)
class PhotoPool:
    """The photos of each split: ``(few-shot stamps, distractor stamps)`` per split.

    Attributes:
        tune: ``(few-shot, distractors)`` stamps for the tune split.
        validation: ``(few-shot, distractors)`` stamps for the validation split.
        unseen_categories: Few-shot categories held out of tuning (validation only).
        seed: The seed that drew the division.
    """

    tune: tuple[list[Stamp], list[Stamp]]
    validation: tuple[list[Stamp], list[Stamp]]
    unseen_categories: tuple[str, ...]
    seed: int

    def split(self, name: str) -> tuple[list[Stamp], list[Stamp]]:
        """Return ``(few-shot, distractors)`` of split ``name`` (``tune`` or ``validation``)."""
        if name not in ("tune", "validation"):
            raise SamDetectError(f"unknown split '{name}'; choose from tune, validation")
        return self.tune if name == "tune" else self.validation

    def describe(self, name: str) -> dict[str, Any]:
        """Return what the dataset records about the division (its ``info["photo_pool"]``)."""
        main, distractors = self.split(name)
        return {
            "rule": "photos divided between tune and validation (none in both); unseen "
                    "categories are in validation only",
            "seed": self.seed,
            "unseen_categories": list(self.unseen_categories),
            "photos": len(main),
            "distractor_photos": len(distractors),
            "photos_per_category": _counts(main),
        }


def _counts(stamps: Sequence[Stamp]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for stamp in stamps:
        counts[stamp.category] += 1
    return dict(sorted(counts.items()))


def divide_photos(main: Sequence[Stamp], distractors: Sequence[Stamp], seed: int,
                  unseen_categories: int | None = None) -> PhotoPool:
    """Divide the few-shot and distractor photos between tune and validation.

    Args:
        main: Few-shot stamps (their ``category`` is the few-shot category).
        distractors: Distractor stamps (their ``category`` is their folder's).
        seed: Random seed of the division.
        unseen_categories: Few-shot categories held out of tuning (validation only); default a
            quarter of them, rounded down.

    Raises:
        SamDetectError: when fewer than two few-shot categories would be left to tune on, or a
            category to divide has fewer than two photos.
    """
    rng = np.random.default_rng([seed, POOL_STREAM])
    by_category: dict[str, list[Stamp]] = defaultdict(list)
    for stamp in main:
        by_category[stamp.category].append(stamp)
    categories = sorted(by_category)
    count = len(categories) // 4 if unseen_categories is None else int(unseen_categories)
    if count < 0 or len(categories) - count < 2:
        raise SamDetectError(
            f"--unseen-categories {count} leaves fewer than 2 of the {len(categories)} "
            "few-shot categories to tune on; lower it")
    unseen = sorted(str(c) for c in rng.choice(categories, size=count, replace=False))
    tune_main: list[Stamp] = []
    validation_main: list[Stamp] = []
    for category in categories:
        photos = _shuffled(rng, by_category[category])
        if category in unseen:
            validation_main += photos
            continue
        if len(photos) < 2:
            raise SamDetectError(f"category '{category}' has one photo: it cannot be divided "
                                 "between tune and validation")
        cut = max(1, int(len(photos) * TUNE_SHARE))
        tune_main += photos[:cut]
        validation_main += photos[cut:]
    tune_other: list[Stamp] = []
    validation_other: list[Stamp] = []
    folders: dict[str, list[Stamp]] = defaultdict(list)
    for stamp in distractors:
        folders[stamp.category].append(stamp)
    for folder in sorted(folders):
        photos = _shuffled(rng, folders[folder])
        cut = len(photos) // 2 + (len(photos) % 2 if rng.random() < 0.5 else 0)
        tune_other += photos[:cut]
        validation_other += photos[cut:]
    return PhotoPool((_ordered(tune_main), _ordered(tune_other)),
                     (_ordered(validation_main), _ordered(validation_other)),
                     tuple(unseen), seed)


def _shuffled(rng: np.random.Generator, stamps: list[Stamp]) -> list[Stamp]:
    ordered = sorted(stamps, key=lambda s: s.source)
    return [ordered[i] for i in rng.permutation(len(ordered))]


def _ordered(stamps: list[Stamp]) -> list[Stamp]:
    """Return the stamps in file order (what the scene generator expects: stable, seed-free)."""
    return sorted(stamps, key=lambda s: (s.category, s.source))


__all__ = ["PhotoPool", "divide_photos"]
