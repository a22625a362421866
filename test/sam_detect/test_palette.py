# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The label palette: far-apart colours, distinct within a picture, stable everywhere."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from sam_detect.palette import (
    PALETTE,
    UNKNOWN_COLOUR,
    assign_colours,
    hex_colour,
    label_colour,
    preferences,
    text_colour,
)
from sam_detect.results import Instance
from sam_detect.visualize import draw_instances

color = pytest.importorskip("skimage.color")

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]])
PROTANOPIA = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                       [-0.003882, -0.048116, 1.051998]])

#: Far apart: CIEDE2000 of 10 is a clearly different colour at a glance; 2.3 is "just noticeable".
FAR_APART = 15.0

WORDS = ["orange", "pepper", "apple", "mug", "kettle", "wrench", "hammer", "lemon", "pear",
         "banana", "cup", "bottle", "screwdriver", "tape", "box", "can", "bowl", "spoon",
         "tomato", "onion", "Tasse à café", "ball", "sign", "bird"]


def ciede2000(a, b, matrix=None) -> float:
    """Return the CIEDE2000 distance of two RGB colours (seen through ``matrix``)."""
    rgb = np.array([a, b], float) / 255.0
    if matrix is not None:
        linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        linear = np.clip(linear @ matrix.T, 0, 1)
        rgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    lab = color.rgb2lab(rgb[None])[0]
    return float(color.deltaE_ciede2000(lab[0], lab[1]))


@pytest.mark.parametrize("vision, matrix, floor", [
    ("normal", None, 15.5), ("deuteranopia", DEUTERANOPIA, 11.5),
    ("protanopia", PROTANOPIA, 11.5)])
def test_any_two_palette_colours_are_far_apart(vision, matrix, floor):
    distances = [ciede2000(a, b, matrix) for a, b in itertools.combinations(PALETTE, 2)]
    assert min(distances) >= floor, vision


def test_unknown_grey_is_far_from_every_label_colour():
    assert min(ciede2000(UNKNOWN_COLOUR, c) for c in PALETTE) >= 20
    assert label_colour(None) == label_colour("") == UNKNOWN_COLOUR


@pytest.mark.parametrize("first, second", [("orange", "pepper"), ("apple", "orange")]
                         + list(itertools.combinations(WORDS[:8], 2)))
def test_two_labels_of_one_scene_get_colours_far_apart(first, second):
    colours = assign_colours([first, second])
    assert ciede2000(colours[first], colours[second]) >= FAR_APART


@pytest.mark.parametrize("seed", range(30))
def test_every_label_of_a_scene_gets_its_own_colour_while_the_palette_has_room(seed):
    rng = np.random.default_rng(seed)
    scene = list(rng.choice(WORDS, size=int(rng.integers(2, len(PALETTE) + 1)), replace=False))
    known = list(rng.choice(WORDS, size=int(rng.integers(0, 20)), replace=False))
    colours = assign_colours(scene + [None, scene[0]], known=known)
    assert sorted(colours) == sorted(scene)
    assert len(set(colours.values())) == len(scene)
    assert min(ciede2000(a, b) for a, b in itertools.combinations(colours.values(), 2)) >= 15


def test_a_taught_label_keeps_its_colour_whatever_else_the_picture_holds():
    known = ["orange", "pepper", "apple", "mug", "kettle", "wrench"]
    alone = {label: assign_colours([label], known)[label] for label in known}
    for size in range(2, len(known) + 1):
        for scene in itertools.combinations(known, size):
            assert assign_colours(scene, known) == {label: alone[label] for label in scene}
    assert len(set(alone.values())) == len(known)  # and no two taught labels share one


def test_a_label_keeps_its_first_choice_unless_another_label_takes_it():
    for label in WORDS:
        assert label_colour(label) == PALETTE[preferences(label)[0]]


def test_the_same_label_gets_the_same_colour_in_another_process():
    """Python's hash() is salted per process; the palette must not depend on it."""
    code = ("import json; from sam_detect.palette import assign_colours; "
            f"print(json.dumps(assign_colours({WORDS[:10]!r}, {WORDS!r})))")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    theirs = {label: tuple(rgb) for label, rgb in json.loads(out).items()}
    assert theirs == assign_colours(WORDS[:10], WORDS)
    assert assign_colours(WORDS[:10], WORDS) == assign_colours(WORDS[:10], WORDS)


def test_beyond_the_palette_colours_repeat_but_every_label_has_one():
    colours = assign_colours(WORDS)
    assert sorted(colours) == sorted(WORDS) and set(colours.values()) == set(PALETTE)


@pytest.mark.parametrize("background", PALETTE + (UNKNOWN_COLOUR,))
def test_caption_text_is_readable_on_every_colour(background):
    def luminance(rgb):
        c = np.array(rgb) / 255.0
        c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(c @ [0.2126, 0.7152, 0.0722])

    light, dark = sorted([luminance(background), luminance(text_colour(background))])[::-1]
    assert (light + 0.05) / (dark + 0.05) >= 4.5  # WCAG AA for text
    assert hex_colour(background).startswith("#") and len(hex_colour(background)) == 7


def test_the_overlay_fills_two_labels_of_one_scene_in_far_apart_colours():
    """What a person sees: the fill drawn over the picture, measured from the pixels."""
    image = np.full((200, 300, 3), 128, np.uint8)
    masks = []
    for x0 in (40, 170):
        mask = np.zeros(image.shape[:2], bool)
        mask[80:180, x0:x0 + 90] = True
        masks.append(mask)
    instances = [Instance(masks[0], (40, 80, 130, 180), label="orange", confidence=0.9),
                 Instance(masks[1], (170, 80, 260, 180), label="pepper", confidence=0.9)]
    overlay = draw_instances(image, instances, alpha=0.6)
    fills = [overlay[150, 85], overlay[150, 215]]  # inside each mask, clear of caption and edge
    assert ciede2000(*fills) >= 10  # blended with grey: still far apart
    unknown = draw_instances(image, [Instance(masks[0], (40, 80, 130, 180))], alpha=0.6)
    r, g, b = (int(v) for v in unknown[150, 85])
    assert max(r, g, b) - min(r, g, b) <= 2  # unknown: neutral grey


def test_the_detector_colours_overlays_with_the_stores_labels_and_sees_new_ones_at_once():
    from sam_detect import SAMDetect

    with SAMDetect(embedder="average") as detector:
        rng = np.random.default_rng(0)

        def teach(label):
            vector = rng.normal(size=(1, detector.embedder.dim)).astype(np.float32)
            detector.add_embeddings(vector / np.linalg.norm(vector), [label])

        for label in ("orange", "pepper", "apple"):
            teach(label)
        assert sorted(detector.palette_labels()) == ["apple", "orange", "pepper"]
        teach("mug")  # through the facade: the cached context is dropped at once
        known = detector.palette_labels()
        assert "mug" in known
        mask = np.zeros((60, 80), bool)
        mask[20:50, 10:40] = True
        overlay = detector.visualize(np.zeros((60, 80, 3), np.uint8),
                                     [Instance(mask, (10, 20, 40, 50), label="pepper",
                                               confidence=0.9)])
        expected = assign_colours(["pepper"], known)["pepper"]
        fill = overlay[40, 25].astype(float)  # inside the mask: 0.45 of the colour on black
        assert np.abs(fill - 0.45 * np.array(expected)).max() <= 2
