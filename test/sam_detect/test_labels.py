# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The one label rule: printable text on one line, bounded, rejected with an escaped message."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.errors import InvalidLabelError
from sam_detect.labels import display_label, MAX_LABEL_LENGTH, validate_label
from sam_detect.vector_store import MemoryVectorStore


@pytest.mark.parametrize(("label", "stored"), [
    ("cup", "cup"), ("  red cup ", "red cup"), ("tasse à café", "tasse à café"),
    ("赤いマグ", "赤いマグ"), ("M6 bolt (zinc) #2", "M6 bolt (zinc) #2"), ("🙂 mug", "🙂 mug"),
    ("x" * MAX_LABEL_LENGTH, "x" * MAX_LABEL_LENGTH), ("a  b", "a  b"),
])
def test_accepted_labels(label, stored) -> None:
    assert validate_label(label) == stored


@pytest.mark.parametrize(("label", "problem"), [
    ("mug\n[INFO] [0.0] [sam_detect]: forged line", "line break"),
    ("mug\r[INFO] forged", "line break"),
    ("mug\tpen", "a tab"),
    ("mug\x1b[31mred", "an escape character"),
    ("mug\x00", "a control character"),
    ("mug\x7f", "a control character"),
    ("abc\u202etxt.exe", "an invisible format character"),  # right-to-left override
    ("zero\u200bwidth", "an invisible format character"),
    ("mug\u2028pen", "a line break"),
    ("x" * (MAX_LABEL_LENGTH + 1), "the limit is 256"),
    ("", "empty"), ("   ", "empty"), (None, "must be a string"), (3, "must be a string"),
])
def test_rejected_labels_get_one_escaped_line(label, problem) -> None:
    with pytest.raises(InvalidLabelError, match=problem) as raised:
        validate_label(label)
    message = str(raised.value)
    assert message.isprintable(), message  # the error line itself forges nothing
    assert len(message) < 200


def test_every_add_path_applies_the_rule() -> None:
    hostile = "mug\n[INFO] [0.0] [sam_detect]: forged line"
    image = np.full((40, 40, 3), 90, np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    detector = SAMDetect(embedder="average")
    for add in (lambda: detector.add_example(image, hostile, mask=mask),
                lambda: detector.add_embeddings(np.ones((1, detector.embedder.dim)), [hostile]),
                lambda: MemoryVectorStore().add(np.ones((1, 4)), [hostile]),
                lambda: detector.add_examples(image, hostile, masks=mask)):
        with pytest.raises(InvalidLabelError, match="line break"):
            add()
    assert detector.labels() == {}


@pytest.mark.parametrize(("stored", "shown"), [
    ("cup", "cup"), ("cup\tmug", "'cup\\tmug'"), ("a\nb", "'a\\nb'"), (" pad", "' pad'"),
])
def test_labels_already_stored_are_displayed_escaped(stored, shown) -> None:
    assert display_label(stored) == shown
