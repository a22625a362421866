# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""MemoryVectorStore specifics: increasing ids, buffer growth, exactness on larger stores."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect.errors import StoreError
from sam_detect.vector_store import MemoryVectorStore


def test_ids_increase_and_are_never_reused():
    store = MemoryVectorStore()
    assert store.add(np.eye(3), ["a", "b", "c"]) == [1, 2, 3]
    assert store.remove(ids=[3, 99, "x"]) == 1
    assert store.add(np.eye(3)[:1], ["a"]) == [4]


def test_many_small_adds_match_brute_force():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(700, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = MemoryVectorStore(dim=16)
    for i in range(0, 700, 7):  # grows the buffers many times
        store.add(vectors[i: i + 7], [f"l{j % 5}" for j in range(i, i + 7)])
    queries = rng.normal(size=(10, 16))
    hits = store.search(queries, k=10)
    expected = np.argsort(-(queries @ vectors.T), axis=1)[:, :10] + 1
    assert [[h.id for h in row] for row in hits] == expected.tolist()


@pytest.mark.parametrize("dim", [0, -3, 2.5, "8"])
def test_bad_dim_is_rejected(dim):
    with pytest.raises(StoreError, match="dim must be a positive integer"):
        MemoryVectorStore(dim=dim)
