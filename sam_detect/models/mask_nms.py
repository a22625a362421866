# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Mask boxes, stability scores and mask non-maximum suppression in plain torch.

Segment-everything yields many overlapping candidates (several grid points land on one object).
SAM's reference generator removes duplicates with *box* NMS from torchvision, which cannot be
imported beside the CPU torch build here and also wrongly merges objects that share a box (a ring
and the disc it surrounds). :func:`mask_nms` compares the masks themselves: boxes decide which
pairs can overlap at all, and one matrix product gives the intersections of those pairs, so the
whole step is a few batched tensor operations on the GPU and a short greedy pass on the CPU.
"""

from __future__ import annotations

import numpy as np
import torch


def masks_to_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Return ``(N, 4)`` int64 ``(x0, y0, x1, y1)`` boxes (exclusive ends) of ``(N, H, W)`` masks.

    Empty masks get ``(0, 0, 0, 0)``.

    Example:
        >>> m = torch.zeros(1, 5, 6, dtype=torch.bool); m[0, 1:3, 2:5] = True
        >>> masks_to_boxes(m).tolist()
        [[2, 1, 5, 3]]
    """
    n, height, width = masks.shape
    if n == 0:
        return torch.zeros(0, 4, dtype=torch.int64, device=masks.device)
    rows = masks.any(dim=2)
    cols = masks.any(dim=1)
    ys = torch.arange(height, device=masks.device)
    xs = torch.arange(width, device=masks.device)
    y0 = torch.where(rows, ys, height).amin(dim=1)
    y1 = torch.where(rows, ys + 1, 0).amax(dim=1)
    x0 = torch.where(cols, xs, width).amin(dim=1)
    x1 = torch.where(cols, xs + 1, 0).amax(dim=1)
    boxes = torch.stack([x0, y0, x1, y1], dim=1)
    empty = ~rows.any(dim=1)
    return torch.where(empty[:, None], torch.zeros_like(boxes), boxes)


def stability_score(
    logits: torch.Tensor, threshold: float = 0.0, offset: float = 1.0
) -> torch.Tensor:
    """Return SAM's stability score of each mask: IoU of the masks at ``threshold +- offset``.

    A mask whose extent barely changes when the logit threshold moves is stable; one that grows
    or shrinks a lot is uncertain. ``logits`` is ``(N, H, W)``; the result is ``(N,)`` float32.

    Example:
        >>> x = torch.full((1, 4, 4), -5.0); x[0, :2] = 5.0
        >>> stability_score(x).tolist()
        [1.0]
    """
    flat = logits.flatten(1)
    inner = (flat > threshold + offset).sum(dim=1, dtype=torch.int64)
    outer = (flat > threshold - offset).sum(dim=1, dtype=torch.int64)
    return torch.where(outer > 0, inner.float() / outer.clamp(min=1).float(), 0.0)


def _boxes_overlap(boxes: torch.Tensor) -> torch.Tensor:
    """Return ``(N, N)`` bool: True where two boxes share at least one pixel."""
    x0, y0, x1, y1 = boxes.unbind(dim=1)
    return (
        (torch.maximum(x0[:, None], x0[None, :]) < torch.minimum(x1[:, None], x1[None, :]))
        & (torch.maximum(y0[:, None], y0[None, :]) < torch.minimum(y1[:, None], y1[None, :]))
    )


def mask_iou_matrix(masks: torch.Tensor, boxes: torch.Tensor | None = None) -> torch.Tensor:
    """Return the ``(N, N)`` float32 IoU of every pair of ``(N, H, W)`` boolean masks.

    Only masks whose boxes overlap some other box go through the matrix product; the others
    have IoU 0 with everything but themselves.

    Example:
        >>> m = torch.zeros(2, 4, 4, dtype=torch.bool); m[0, :2] = True; m[1, :] = True
        >>> mask_iou_matrix(m)[0, 1].item()
        0.5
    """
    n = masks.shape[0]
    iou = torch.eye(n, dtype=torch.float32, device=masks.device)
    if n < 2:
        return iou
    if boxes is None:
        boxes = masks_to_boxes(masks)
    overlap = _boxes_overlap(boxes)
    overlap.fill_diagonal_(False)
    involved = torch.nonzero(overlap.any(dim=1)).flatten()
    if involved.numel() == 0:
        return iou
    # float32 counts are exact up to 2**24 pixels per mask (a 4096x4096 mask), well above the
    # low-resolution masks this runs on; fp16 would round counts above 2048.
    flat = masks[involved].flatten(1).to(torch.float32)
    inter = flat @ flat.T
    areas = flat.sum(dim=1)
    union = areas[:, None] + areas[None, :] - inter
    sub = torch.where(union > 0, inter / union.clamp(min=1.0), 0.0)
    sub = torch.where(overlap[involved][:, involved], sub, 0.0)
    sub.fill_diagonal_(1.0)
    iou[involved[:, None], involved[None, :]] = sub
    return iou


def mask_nms(
    masks: torch.Tensor,
    scores: torch.Tensor,
    iou_threshold: float = 0.7,
    max_keep: int | None = None,
) -> torch.Tensor:
    """Greedy non-maximum suppression on masks; return kept indices, best score first.

    A mask is dropped when its IoU with an already kept, higher-scoring mask exceeds
    ``iou_threshold``.

    Args:
        masks: ``(N, H, W)`` boolean masks.
        scores: ``(N,)`` scores; higher is better.
        iou_threshold: IoU above which the lower-scoring mask is a duplicate.
        max_keep: Stop after this many masks (None keeps all survivors).

    Returns:
        ``(K,)`` int64 indices into ``masks`` (on ``masks.device``), in descending score order.

    Example:
        >>> m = torch.zeros(3, 8, 8, dtype=torch.bool)
        >>> m[0, :4, :4] = True; m[1, :4, :4] = True; m[1, 4, 0] = True; m[2, 5:, 5:] = True
        >>> mask_nms(m, torch.tensor([0.8, 0.9, 0.5])).tolist()
        [1, 2]
    """
    n = masks.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.int64, device=masks.device)
    order = torch.argsort(scores.float(), descending=True, stable=True)
    iou = mask_iou_matrix(masks[order]).cpu().numpy()
    # the greedy pass is inherently sequential; on an (N, N) matrix in host memory it is a
    # few microseconds per kept mask, far cheaper than N tiny GPU kernels with a sync each
    duplicate = iou > iou_threshold
    suppressed = np.zeros(n, dtype=bool)
    keep: list[int] = []
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(i)
        if max_keep is not None and len(keep) >= max_keep:
            break
        suppressed |= duplicate[i]
    return order[torch.as_tensor(keep, dtype=torch.int64, device=order.device)]
