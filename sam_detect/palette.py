# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The one palette for labels: distinct, colour-blind-aware colours, assigned stably.

Every picture the project draws takes its label colours from here: the CLI's overlays
(:mod:`sam_detect.visualize`), the node's ``overlay`` topic and RViz markers, the tracking
video and the annotation page (which receives them from the server, never from a palette of
its own).

**The colours.** The first seven are Okabe and Ito's palette (*Color Universal Design*, 2008)
without its black: they stay apart for people with red-green and blue-yellow colour blindness.
Three colours of Paul Tol's muted and light schemes extend it to ten, picked by a greedy
max-min search of CIEDE2000 distances, seen normally and under simulated deuteranopia and
protanopia (Machado et al. 2009). Any two palette colours are at least 15.7 CIEDE2000 apart
(11.6 under simulated deuteranopia or protanopia), and every one is at least 20 from the neutral
grey that marks unknown objects (``test/sam_detect/test_palette.py`` measures all three).

**Stable and distinct at once.** A label's colour must stay the same across frames, runs and
front ends, and two labels of one picture must never share one while the palette has room.
A hash alone gives the first and breaks the second (ten slots: two labels share one 10% of
the time); a per-scene assignment gives the second and breaks the first (a label's colour
would hang on its neighbours). So:

1. Each label ranks all ten colours by a stable hash of its name (rendezvous hashing with
   BLAKE2b, never Python's salted ``hash``): its first choice is the same in every process.
2. Colours are dealt over a *context*: the labels the store knows plus the picture's own, when
   they fit in the palette, else the picture's labels alone. Labels take their colours in
   alphabetical order, each its first choice not yet taken.

With the store's labels as the context (what :meth:`sam_detect.SAMDetect.visualize`, the node
and the annotation page pass), every taught label has one colour, distinct from every other
taught label's, for as long as the store's set of labels stays the same: across frames, runs
and the UI alike. Teaching a new label can move an older one only when both rank the same
colour first and the new name sorts first. Beyond ten labels in one picture colours repeat
(the captions still name them).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Iterable

RGB = tuple[int, int, int]

#: The label colours, RGB. Okabe-Ito (orange, sky blue, bluish green, yellow, blue, vermillion,
#: reddish purple), then Tol's muted indigo and wine and Tol's light pink.
PALETTE: tuple[RGB, ...] = (
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
    (51, 34, 136),
    (136, 34, 85),
    (255, 170, 187),
)

#: Unknown objects: one neutral grey, drawn with a ``?`` caption.
UNKNOWN_COLOUR: RGB = (160, 160, 160)

BLACK: RGB = (0, 0, 0)
WHITE: RGB = (255, 255, 255)


@functools.lru_cache(maxsize=4096)
def preferences(label: str) -> tuple[int, ...]:
    """Return the palette indices in ``label``'s order of preference (a stable hash).

    Example:
        >>> preferences("mug") == preferences("mug"), sorted(preferences("mug")) == list(range(10))
        (True, True)
    """
    def weight(slot: int) -> bytes:
        return hashlib.blake2b(f"{label}\x00{slot}".encode("utf-8"), digest_size=8).digest()

    return tuple(sorted(range(len(PALETTE)), key=weight, reverse=True))


def assign_colours(labels: Iterable[str | None], known: Iterable[str] = ()) -> dict[str, RGB]:
    """Return ``{label: RGB}`` for the labels of one picture (unknown ``None`` is left out).

    Args:
        labels: The picture's labels (repeats and ``None`` allowed).
        known: Every label the store knows; with them as context a label keeps its colour
            whatever else the picture holds (see the module's docstring).

    Example:
        >>> colours = assign_colours(["orange", "pepper", None, "orange"])
        >>> sorted(colours), colours["orange"] != colours["pepper"]
        (['orange', 'pepper'], True)
        >>> assign_colours(["pepper"], known=["orange", "pepper"])["pepper"] == (
        ...     assign_colours(["orange", "pepper"], known=["orange", "pepper"])["pepper"])
        True
    """
    scene = {label for label in labels if label}
    context = scene | {label for label in known if label}
    if len(context) > len(PALETTE):
        context = scene  # no room for every taught label: keep this picture's apart
    slots: dict[str, int] = {}
    taken: set[int] = set()
    for label in sorted(context):
        ranked = preferences(label)
        slot = next((s for s in ranked if s not in taken), ranked[0])  # full: colours repeat
        slots[label] = slot
        taken.add(slot)
    return {label: PALETTE[slots[label]] for label in scene}


def label_colour(label: str | None, known: Iterable[str] = ()) -> RGB:
    """Return one label's colour (grey for unknown), ``known`` as in :func:`assign_colours`.

    Example:
        >>> label_colour(None), label_colour("cup") in PALETTE
        ((160, 160, 160), True)
    """
    if not label:
        return UNKNOWN_COLOUR
    return assign_colours([label], known)[label]


def text_colour(background: RGB) -> RGB:
    """Return black or white, whichever reads better on ``background`` (WCAG contrast).

    Example:
        >>> text_colour((240, 228, 66)), text_colour((51, 34, 136))
        ((0, 0, 0), (255, 255, 255))
    """
    def linear(c: int) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    luminance = (0.2126 * linear(background[0]) + 0.7152 * linear(background[1])
                 + 0.0722 * linear(background[2]))
    # Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05); equal at L = 0.179.
    return BLACK if luminance > 0.179 else WHITE


def hex_colour(rgb: RGB) -> str:
    """Return ``#rrggbb`` for an RGB triple (what the annotation page draws with).

    Example:
        >>> hex_colour((230, 159, 0))
        '#e69f00'
    """
    return "#{:02x}{:02x}{:02x}".format(*rgb)


__all__ = ["PALETTE", "UNKNOWN_COLOUR", "assign_colours", "hex_colour", "label_colour",
           "preferences", "text_colour"]
