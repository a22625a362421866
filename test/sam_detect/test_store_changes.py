# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Store changes go through the facade: reserved background, tracker votes, embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.classifier import BACKGROUND_LABEL
from sam_detect.errors import InvalidLabelError


def scene() -> np.ndarray:
    image = np.full((120, 160, 3), 200, np.uint8)
    image[20:60, 20:60] = (220, 30, 30)
    image[70:110, 100:140] = (30, 30, 220)
    return image


@pytest.mark.parametrize("call", [
    lambda d: d.remove_label(BACKGROUND_LABEL),
    lambda d: d.relabel_examples([0], BACKGROUND_LABEL),
    lambda d: d.add_embeddings(np.ones((1, d.embedder.dim), np.float32), [BACKGROUND_LABEL]),
])
def test_the_background_label_is_the_store_s_own(call) -> None:
    detector = SAMDetect(embedder="average", segmenter="naive")
    with pytest.raises(InvalidLabelError, match="reserved"):
        call(detector)


def test_removing_and_relabelling_examples_forget_the_tracks_votes() -> None:
    detector = SAMDetect(embedder="average", segmenter="naive")
    image = scene()
    first = detector.track(image)
    ids = detector.teach(first[0], "red")
    detector.track(image)
    assert "red" in {i.label for i in detector.track(image)}
    assert detector.remove_examples(ids) == 1
    assert "red" not in {i.label for i in detector.track(image)}  # no stale vote carries it
    ids = detector.teach(detector.track(image)[0], "red")
    assert "red" in {i.label for i in detector.track(image)}  # the track votes for it again
    assert detector.relabel_examples(ids, "crimson") == 1
    assert detector.labels() == {"crimson": 1}
    labels = {i.label for i in detector.track(image)}
    # The object keeps its example under the new name, at once: no stale vote, nothing lost.
    assert "red" not in labels and "crimson" in labels


def test_tracking_embeds_through_the_cache_and_never_reuses_another_fade() -> None:
    detector = SAMDetect(embedder="average", segmenter="naive", embedding_cache_size=50,
                         keyframe_interval=1)
    image = scene()
    detector.track(image)
    misses = detector.embedding_cache.misses
    assert misses > 0
    detector.reset_tracking()
    detector.track(image)  # new tracks: the same crops come from the cache
    assert detector.embedding_cache.hits == misses
    detector.update(fade="gaussian", sigma=5)
    detector.track(image)  # the tracks' embeddings were of the hard crop: embedded again
    assert detector.embedding_cache.misses > misses
