# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Known background: stored evidence of what taught labels are *not*.

When an object is taught by pointing at it in a frame (``~/label_instance``, ``teach``) or from a
whole picture (the largest segment), the frame's other segments were seen next to it and not
chosen. They are stored under the reserved label :data:`BACKGROUND_LABEL` (payload
``{"background": true, "background_for": label}``): the classifier never returns that label,
``labels`` never lists it, and a background example at least as close as a taught one makes the
answer unknown. Stores made before background existed simply hold none.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

BACKGROUND_LABEL = "__background__"


def is_background(label: str | None) -> bool:
    """Return whether ``label`` is the reserved background label.

    Example:
        >>> is_background("__background__"), is_background("mug")
        (True, False)
    """
    return label == BACKGROUND_LABEL


def visible_labels(counts: Mapping[str, int]) -> dict[str, int]:
    """Return ``counts`` without the background entry, as ``labels`` shows them.

    Example:
        >>> visible_labels({"__background__": 4, "mug": 2})
        {'mug': 2}
    """
    return {label: count for label, count in counts.items() if not is_background(label)}


def refuse_reserved(label: str) -> str:
    """Return ``label``, or raise when it is the reserved background label.

    Known background is the store's own evidence: a user can neither teach, forget nor
    relabel it by name.

    Raises:
        InvalidLabelError: for :data:`BACKGROUND_LABEL`.
    """
    if is_background(label):
        from sam_detect.errors import InvalidLabelError

        raise InvalidLabelError(f"'{BACKGROUND_LABEL}' is reserved for known background; "
                                "choose another label")
    return label


def background_boxes(taught: tuple[int, int, int, int],
                     others: list[tuple[int, int, int, int]],
                     max_overlap: float = 0.2) -> list[int]:
    """Return the indices of ``others`` that may serve as background, judged by boxes alone.

    For instances whose masks were not kept (a node's frame history): a box that overlaps the
    taught box by more than ``max_overlap`` of the smaller box is taken for the same object.

    Example:
        >>> background_boxes((0, 0, 4, 4), [(1, 1, 3, 3), (6, 0, 9, 4)])
        [1]
    """
    def area(box: tuple[int, int, int, int]) -> int:
        return max(0, box[2] - box[0]) * max(0, box[3] - box[1])

    keep = []
    for index, box in enumerate(others):
        width = min(taught[2], box[2]) - max(taught[0], box[0])
        height = min(taught[3], box[3]) - max(taught[1], box[1])
        shared = max(0, width) * max(0, height)
        if area(box) and shared <= max_overlap * max(1, min(area(taught), area(box))):
            keep.append(index)
    return keep


def background_masks(taught: np.ndarray, others: list[np.ndarray],
                     max_overlap: float = 0.2) -> list[int]:
    """Return the indices of ``others`` that may serve as background for the ``taught`` mask.

    A segment that overlaps the taught object (a part of it, or a mask containing it) by more
    than ``max_overlap`` of its own or the taught area is the same object, not background.

    Example:
        >>> taught = np.zeros((4, 8), bool); taught[:, :4] = True
        >>> part = np.zeros((4, 8), bool); part[:2, :2] = True
        >>> apart = np.zeros((4, 8), bool); apart[:, 5:] = True
        >>> background_masks(taught, [part, apart])
        [1]
    """
    area = max(int(taught.sum()), 1)
    keep = []
    for index, mask in enumerate(others):
        mask = np.asarray(mask, bool)
        if mask.shape != taught.shape or not mask.any():
            continue
        shared = int(np.logical_and(mask, taught).sum())
        if shared <= max_overlap * min(area, int(mask.sum())):
            keep.append(index)
    return keep
