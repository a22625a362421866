# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Teaching you can see: the overlay of exactly the stored mask, and an ambiguous choice named."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.cli import main
from sam_detect.vector_store import EdgeVectorStore

FAST = ["--embedder", "average", "--segmenter", "naive", "-q"]


@pytest.fixture
def two_objects(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Return a picture of two objects of about one size, and the two masks."""
    image = np.full((160, 240, 3), 40, np.uint8)
    left, right = np.zeros((160, 240), bool), np.zeros((160, 240), bool)
    left[30:110, 20:100] = True   # 80 x 80: the largest
    right[40:115, 130:205] = True  # 75 x 75
    image[left] = (220, 30, 30)
    image[right] = (30, 30, 220)
    path = tmp_path / "two.png"
    cv2.imwrite(str(path), image[:, :, ::-1])
    return path, left, right


def stored_vectors(store_path: Path, label: str) -> np.ndarray:
    with EdgeVectorStore(str(store_path)) as store:
        found = store.list_examples(label=label, with_vectors=True)
    return np.stack([e.vector for e in found])


def test_the_overlay_shows_exactly_the_stored_mask_and_a_guess_is_named(
        tmp_path: Path, two_objects: tuple, capsys: pytest.CaptureFixture) -> None:
    path, left, right = two_objects
    store, out = tmp_path / "store", tmp_path / "out"
    assert main([str(path), "--label", "cup", "--output", str(out), "--store-path", str(store),
                 *FAST]) == 0
    err = capsys.readouterr().err
    # One line: the choice was a guess, and how to make another.
    (note,) = [line for line in err.splitlines() if "similar size" in line]
    assert "--mask" in note and "sam-detect annotate" in note and "(20, 30, 100, 110)" in note
    overlay = cv2.imread(str(out / "two.png"))[:, :, ::-1]
    original = cv2.imread(str(path))[:, :, ::-1]
    changed = np.any(overlay != original, axis=2)
    assert changed[left].mean() > 0.9  # the stored object is drawn ...
    inner = np.zeros_like(right)
    inner[44:111, 134:201] = True
    assert not changed[inner].any()  # ... and nothing else is
    # What was drawn is what was stored: the same mask embedded gives the stored vector.
    detector = SAMDetect(embedder="average", segmenter="naive")
    expected = detector.embed_masks(original, [left])
    assert stored_vectors(store, "cup") == pytest.approx(expected, abs=1e-5)


def test_mask_teaches_the_object_it_marks(tmp_path: Path, two_objects: tuple,
                                          capsys: pytest.CaptureFixture) -> None:
    path, _, right = two_objects
    mask_path = tmp_path / "mask.png"
    cv2.imwrite(str(mask_path), right.astype(np.uint8) * 255)
    store, out = tmp_path / "store", tmp_path / "out"
    assert main([str(path), "--label", "mug", "--mask", str(mask_path), "--output", str(out),
                 "--store-path", str(store), *FAST]) == 0
    assert "similar size" not in capsys.readouterr().err  # the person chose: nothing to note
    original = cv2.imread(str(path))[:, :, ::-1]
    detector = SAMDetect(embedder="average", segmenter="naive")
    assert stored_vectors(store, "mug") == pytest.approx(
        detector.embed_masks(original, [right]), abs=1e-5)
    overlay = cv2.imread(str(out / "two.png"))[:, :, ::-1]
    assert np.any(overlay != original, axis=2)[right].mean() > 0.9


def test_mask_needs_one_image_and_a_label(tmp_path: Path, two_objects: tuple,
                                          capsys: pytest.CaptureFixture) -> None:
    path, _, right = two_objects
    mask_path = tmp_path / "mask.png"
    cv2.imwrite(str(mask_path), right.astype(np.uint8) * 255)
    assert main([str(path), "--mask", str(mask_path), *FAST, "--store", "memory"]) != 0
    assert "give --label" in capsys.readouterr().err
    assert main([str(path), str(path), "--label", "x", "--mask", str(mask_path), *FAST,
                 "--store", "memory"]) != 0
    assert "ONE image" in capsys.readouterr().err
