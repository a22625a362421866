# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Keeping the decision fitted: off the frame path, incremental, swapped as a whole."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.classifier import fitting
from sam_detect.embedding import AverageEmbedder


@pytest.fixture
def taught(scene):
    """Return a detector that knows the red disc and has fitted its decision once."""
    image, truth = scene
    detector = SAMDetect(embedder=AverageEmbedder(), segmenter="naive")
    detector.add_example(image, "red_disc", mask=truth["red_disc"])
    detector.wait_for_open_set()
    yield detector, image, truth
    detector.close()


@pytest.mark.timeout(120)  # a frame that waited for the blocked refit would hang here
def test_frames_never_wait_for_a_refit_and_see_it_once_swapped_in(taught, monkeypatch) -> None:
    detector, image, truth = taught
    detector.open_set.background = True  # as the node runs it
    fitted_before = detector.open_set.current()
    release, started = threading.Event(), threading.Event()
    real_fit = fitting.fit_decision

    def slow_fit(*args, **kwargs):
        started.set()
        release.wait()
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(fitting, "fit_decision", slow_fit)
    detector.add_example(image, "blue_square", mask=truth["blue_square"])
    assert started.wait(60)  # the refit runs, in its own thread, and is stuck ...
    labels = {i.label for i in detector.detect(image)}  # ... while a frame goes through
    assert detector.open_set.current() is fitted_before  # with the decision it had
    assert "blue_square" in labels  # the new example is scored at once all the same
    assert not detector.wait_for_open_set(timeout=0.05)
    release.set()
    assert detector.wait_for_open_set(timeout=60)
    swapped = detector.open_set.current()
    assert swapped is not fitted_before and swapped.model.summary["labels"] == 2


def test_teaching_updates_the_mirror_without_reading_the_store_again(taught,
                                                                     monkeypatch) -> None:
    detector, image, truth = taught
    reads = []
    real = detector.vector_store.list_examples

    def counted(*args, **kwargs):
        if kwargs.get("with_vectors"):
            reads.append(kwargs.get("ids"))
        return real(*args, **kwargs)

    monkeypatch.setattr(detector.vector_store, "list_examples", counted)
    fits = detector.open_set.fits
    for _ in range(3):  # a burst of changes ...
        detector.add_example(image, "blue_square", mask=truth["blue_square"])
    detector.relabel_examples(detector.add_example(image, "ring", mask=truth["yellow_ring"]),
                              "yellow_ring")
    detector.detect(image)
    assert detector.open_set.fits == fits + 1  # ... costs one fit, when next needed,
    assert reads == []  # and the mirror was updated in place, not read again.
    # A change behind the detector's back (another process, a script) is found and read.
    detector.vector_store.add(np.ones((1, detector.embedder.dim), np.float32), ["stray"])
    detector.detect(image)
    assert reads and detector.open_set.current().model.summary["labels"] == 4
