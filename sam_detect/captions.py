# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Where the captions go: one per object, none over another, at any image size.

A caption reads ``mug 0.87`` (``#7 mug 0.87`` when tracked) and ``?`` for an unknown object:
an unknown's confidence says nothing a person can use, so it is left out. Placement, for each
object in turn (taught labels first, larger objects first, unknowns last):

1. **Near its object**: above the box, inside its top, below it, at its left or right edge.
2. **Stacked**: further up or down the same column, one caption height at a time.
3. **Shortened**: the same places with a shorter text (the confidence dropped, then the track
   id, then the label cut to six letters and ``..``).
4. **Anywhere free**, nearest first, with a leader line to its object (``Caption.detached``).
5. Nowhere: the caption is left out rather than drawn over another one.

Captions never overlap each other and never leave the picture. The caption size follows the
image's size (:meth:`CaptionStyle.for_image`). The same layout serves the overlays
(:func:`sam_detect.visualize.draw_instances`) and the annotation page, which draws the texts
in the boxes the server sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class CaptionStyle:
    """Font size of the captions of one picture (OpenCV's Hershey simplex).

    Attributes:
        scale: OpenCV font scale (1.0 is about 22 pixels tall).
        thickness: Stroke width in pixels.
        pad: Pixels between the text and the edge of its box.
        gap: Pixels kept free between two captions.
    """

    scale: float
    thickness: int
    pad: int
    gap: int = 1

    @classmethod
    def for_image(cls, shape: Sequence[int]) -> "CaptionStyle":
        """Return the style for an image of ``shape`` (rows, columns, ...).

        Example:
            >>> [CaptionStyle.for_image(shape).scale for shape in ((480, 640), (2160, 3840))]
            [0.53, 2.4]
        """
        scale = round(max(0.35, min(shape[0], shape[1]) / 900.0), 2)
        return cls(scale=scale, thickness=max(1, round(scale * 2)), pad=max(1, round(scale * 3)))

    def size(self, text: str) -> tuple[int, int, int]:
        """Return ``(width, height, text_height)`` of ``text``'s box in pixels."""
        (width, height), baseline = cv2.getTextSize(text, FONT, self.scale, self.thickness)
        return width + 2 * self.pad, height + baseline + 2 * self.pad, height


@dataclass(frozen=True)
class Caption:
    """A placed caption.

    Attributes:
        text: What it reads (maybe shortened).
        box: Its background ``x0, y0, x1, y1`` (exclusive ends) in image pixels.
        origin: Where OpenCV's ``putText`` starts the text (bottom-left of the letters).
        anchor: The box of the object it names.
    """

    text: str
    box: Box
    origin: tuple[int, int]
    anchor: Box

    @property
    def detached(self) -> bool:
        """Whether the caption was moved away from its object (draw a leader line)."""
        x0, y0, x1, y1 = self.box
        a0, b0, a1, b1 = self.anchor
        return x1 < a0 - 1 or x0 > a1 + 1 or y1 < b0 - 1 or y0 > b1 + 1


def caption_texts(label: str | None, confidence: float = 0.0, track_id: int = 0) -> list[str]:
    """Return a caption's texts, longest first (each later one a shortening).

    Example:
        >>> caption_texts("coffee mug", 0.87, track_id=7)
        ['#7 coffee mug 0.87', '#7 coffee mug', 'coffee mug', 'coffee..']
        >>> caption_texts(None, 0.0), caption_texts(None, 0.3, track_id=7)
        (['?'], ['#7 ?', '?'])
    """
    prefix = f"#{track_id} " if track_id else ""
    if not label:
        texts = [f"{prefix}?", "?"]
    else:
        texts = [f"{prefix}{label} {confidence:.2f}", f"{prefix}{label}", label]
        if len(label) > 8:
            texts.append(f"{label[:6]}..")
    return list(dict.fromkeys(texts))


def _near(anchor: Box, width: int, height: int, shape: tuple[int, int]) -> np.ndarray:
    """Return candidate top-left corners near ``anchor``, best first."""
    x0, y0, x1, y1 = anchor
    rows = shape[0]
    spots = [(x0, y0 - height), (x0, y0), (x0, y1), (x1 - width, y0 - height),
             (x1 - width, y0), (x0, y1 - height), (x1 - width, y1)]
    # Stacked in the same column: up from above the box, down through it and below it.
    steps = max(1, rows // max(1, height))
    for k in range(1, steps + 1):
        spots.append((x0, y0 - height - k * height))
        spots.append((x0, y0 + k * height))
    return np.array(spots, np.int64)


def _anywhere(anchor: Box, width: int, height: int, shape: tuple[int, int]) -> np.ndarray:
    """Return every grid position of the picture, nearest to ``anchor`` first."""
    rows, cols = shape
    xs = np.unique(np.r_[np.arange(0, cols - width + 1, max(1, width // 4)), cols - width])
    ys = np.unique(np.r_[np.arange(0, rows - height + 1, max(1, height // 2)), rows - height])
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    x0, y0, x1, y1 = anchor
    dx = np.maximum(0, np.maximum(x0 - (grid[:, 0] + width), grid[:, 0] - x1))
    dy = np.maximum(0, np.maximum(y0 - (grid[:, 1] + height), grid[:, 1] - y1))
    return grid[np.argsort(dx * dx + dy * dy, kind="stable")]


def _first_free(corners: np.ndarray, width: int, height: int, shape: tuple[int, int],
                placed: np.ndarray, gap: int) -> tuple[int, int] | None:
    """Return the first corner whose box stays in the picture and clear of ``placed``."""
    rows, cols = shape
    corners = corners.copy()
    corners[:, 0] = np.clip(corners[:, 0], 0, cols - width)
    corners[:, 1] = np.clip(corners[:, 1], 0, rows - height)
    if len(placed):
        x0, y0 = corners[:, :1], corners[:, 1:]
        clash = ((x0 < placed[None, :, 2] + gap) & (placed[None, :, 0] - gap < x0 + width)
                 & (y0 < placed[None, :, 3] + gap) & (placed[None, :, 1] - gap < y0 + height))
        free = ~clash.any(axis=1)
    else:
        free = np.ones(len(corners), bool)
    hits = np.flatnonzero(free)
    return (int(corners[hits[0], 0]), int(corners[hits[0], 1])) if len(hits) else None


def _place(texts: Sequence[str], anchor: Box, shape: tuple[int, int], style: CaptionStyle,
           placed: np.ndarray) -> Caption | None:
    """Return the first caption that fits: near, then shortened, then anywhere; else None."""
    sized: list[tuple[str, int, int, int]] = []
    for search in (_near, _anywhere):
        for k, text in enumerate(texts):
            if k == len(sized):  # measured once, and only when the longer texts did not fit
                sized.append((text, *style.size(text)))
            _, width, height, text_height = sized[k]
            if width > shape[1] or height > shape[0]:
                continue
            spot = _first_free(search(anchor, width, height, shape), width, height, shape,
                               placed, style.gap)
            if spot is not None:
                x, y = spot
                return Caption(text, (x, y, x + width, y + height),
                               (x + style.pad, y + style.pad + text_height), anchor)
    return None


def layout_captions(entries: Sequence[tuple[Sequence[str], Sequence[int]]],
                    shape: Sequence[int], style: CaptionStyle | None = None,
                    order: Sequence[int] | None = None) -> list[Caption | None]:
    """Place one caption per entry so that no two overlap; ``None`` where none fits.

    Args:
        entries: Per object, its caption texts (longest first, see :func:`caption_texts`) and
            its box ``x0, y0, x1, y1``.
        shape: The picture's shape (rows, columns, ...).
        style: Font size; :meth:`CaptionStyle.for_image` by default.
        order: Which entries are placed first (they get the best spots); by default the
            order given.

    Returns:
        One :class:`Caption` or ``None`` per entry, in the order of ``entries``.

    Example:
        >>> boxes = [(10, 40, 60, 90), (12, 42, 58, 88)]  # two objects at one place
        >>> a, b = layout_captions([(["mug 0.90"], boxes[0]), (["cup 0.80"], boxes[1])],
        ...                        (200, 300))
        >>> a.box[3] <= b.box[1] or b.box[3] <= a.box[1]  # stacked, not on top of each other
        True
    """
    rows, cols = int(shape[0]), int(shape[1])
    style = style or CaptionStyle.for_image((rows, cols))
    placed = np.zeros((0, 4), np.int64)
    out: list[Caption | None] = [None] * len(entries)
    for index in (range(len(entries)) if order is None else order):
        texts, anchor = entries[index]
        anchor = tuple(int(v) for v in anchor)
        found = _place(texts, anchor, (rows, cols), style, placed)
        if found is None:
            continue
        out[index] = found
        placed = np.vstack([placed, np.array([found.box], np.int64)])
    return out


def caption_order(labels: Sequence[str | None], areas: Sequence[int]) -> list[int]:
    """Return the placement order: labelled objects before unknown ones, larger boxes first.

    Example:
        >>> caption_order(["mug", None, "cup"], [10, 500, 40])
        [2, 0, 1]
    """
    return sorted(range(len(labels)), key=lambda i: (not labels[i], -int(areas[i]), i))


__all__ = ["Caption", "CaptionStyle", "caption_order", "caption_texts", "layout_captions"]
