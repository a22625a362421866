# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Caption layout: never one caption over another, never outside the picture, at any size."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sam_detect.captions import CaptionStyle, caption_order, caption_texts, layout_captions
from sam_detect.results import Instance
from sam_detect.visualize import draw_instances

LABELS = ["orange", "pepper", None, "mug", "a rather long label for a kettle", "wrench", None]


def scene(rows: int, cols: int, count: int, seed: int, clustered: bool):
    """Return ``(entries, labels, areas)`` of ``count`` random boxes (all near one spot)."""
    rng = np.random.default_rng(seed)
    entries, labels, areas = [], [], []
    side = max(2, min(rows, cols) // 6)
    for k in range(count):
        if clustered:  # a busy shelf: every object within a few pixels of the centre
            x0 = cols // 2 - side // 2 + int(rng.integers(-3, 4))
            y0 = rows // 2 - side // 2 + int(rng.integers(-3, 4))
        else:
            x0, y0 = int(rng.integers(0, cols - side)), int(rng.integers(0, rows - side))
        box = (max(0, x0), max(0, y0), min(cols, x0 + side), min(rows, y0 + side))
        label = LABELS[k % len(LABELS)]
        entries.append((caption_texts(label, float(rng.random()), track_id=k + 1), box))
        labels.append(label)
        areas.append((box[2] - box[0]) * (box[3] - box[1]))
    return entries, labels, areas


def overlapping(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("rows, cols", [(16, 16), (40, 60), (240, 320), (480, 640),
                                        (1080, 1920), (4000, 6000), (2000, 90)])
@pytest.mark.parametrize("count", [1, 5, 16, 40])
@pytest.mark.parametrize("clustered", [False, True])
def test_captions_never_overlap_and_stay_in_the_picture(rows, cols, count, clustered):
    entries, labels, areas = scene(rows, cols, count, seed=count + rows, clustered=clustered)
    placed = layout_captions(entries, (rows, cols), order=caption_order(labels, areas))
    boxes = [c.box for c in placed if c is not None]
    for a, b in itertools.combinations(boxes, 2):
        assert not overlapping(a, b), (a, b)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= cols and 0 <= y0 < y1 <= rows
    for caption, (texts, _) in zip(placed, entries):
        assert caption is None or caption.text in texts
    if min(rows, cols) >= 240:  # room for all of them: every object keeps a caption
        assert all(c is not None for c in placed)


def test_a_busy_picture_keeps_every_caption_by_stacking_and_shortening():
    """16 tracks on a 640x480 frame (the issue's unreadable tracking overlay)."""
    entries, labels, areas = scene(480, 640, 16, seed=3, clustered=True)
    placed = layout_captions(entries, (480, 640), order=caption_order(labels, areas))
    assert all(c is not None for c in placed)
    assert sum(c.detached for c in placed) >= 1  # some had to move away from the crowd


def test_a_tiny_picture_shortens_before_dropping():
    texts = caption_texts("a rather long label", 0.91, track_id=12)
    (caption,) = layout_captions([(texts, (2, 2, 30, 20))], (24, 64))
    assert caption is not None and caption.text == "a rath.."


def test_unknown_captions_have_no_number_and_known_ones_their_confidence():
    assert caption_texts(None, 0.0)[0] == "?"
    assert caption_texts("", 0.42)[0] == "?"
    assert caption_texts("mug", 0.873)[0] == "mug 0.87"
    assert caption_texts("mug", 0.873, track_id=4)[0] == "#4 mug 0.87"


def test_labelled_objects_get_the_best_spots_before_unknown_ones():
    assert caption_order([None, "mug", None, "cup"], [900, 10, 5, 40]) == [3, 1, 0, 2]


@pytest.mark.parametrize("rows, cols", [(32, 48), (480, 640), (3000, 4000)])
def test_the_drawn_overlay_uses_the_same_layout(rows, cols):
    """The caption boxes are painted where the layout puts them, in the label's colour."""
    image = np.zeros((rows, cols, 3), np.uint8)
    side = min(rows, cols) // 4
    instances = []
    for k, label in enumerate(["orange", "pepper", "mug"]):
        mask = np.zeros((rows, cols), bool)
        y0, x0 = rows // 3, cols // 3 + k * 2
        mask[y0:y0 + side, x0:x0 + side] = True
        instances.append(Instance(mask, (x0, y0, x0 + side, y0 + side), label=label,
                                  confidence=0.5))
    overlay = draw_instances(image, instances)
    style = CaptionStyle.for_image(image.shape)
    placed = layout_captions(
        [(caption_texts(i.label, i.confidence), i.bbox) for i in instances], image.shape, style,
        caption_order([i.label for i in instances], [i.area for i in instances]))
    from sam_detect.visualize import instance_colours

    for caption, colour in zip(placed, instance_colours(instances)):
        if caption is None:
            continue
        x0, y0, x1, y1 = caption.box
        assert tuple(int(v) for v in overlay[y0, x0]) == colour  # the box's corner: no text
