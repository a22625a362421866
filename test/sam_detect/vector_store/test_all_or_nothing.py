# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""An ``add`` split into several requests stores all of its examples or none of them."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

from sam_detect.errors import StoreError
from sam_detect.vector_store.base import upload_in_chunks

DIM = 8
CHUNK = 4


class FlakyShard:
    """Stand-in for a qdrant-edge shard whose ``update`` fails once, on a chosen call."""

    def __init__(self, shard: Any, fail_on: int, applied: bool) -> None:
        self._shard = shard
        self.fail_on = fail_on
        self.applied = applied
        self.calls = 0

    def update(self, operation: Any) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            if self.applied:  # like a request that timed out after the shard took it
                self._shard.update(operation)
            raise RuntimeError("Service internal error: disk full")
        self._shard.update(operation)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shard, name)


def fail_second_write(kind: str, store: Any, monkeypatch, applied: bool) -> Callable[[], None]:
    """Make ``store``'s 2nd write request fail (after taking effect when ``applied``).

    Returns:
        A function that takes the fault away again.
    """
    if kind == "edge":
        from sam_detect.vector_store import edge

        monkeypatch.setattr(edge, "UPSERT_CHUNK", CHUNK)
        real = store._shard
        store._shard = FlakyShard(real, fail_on=2, applied=applied)

        def heal() -> None:
            store._shard = real

        return heal
    from sam_detect.vector_store import qdrant

    monkeypatch.setattr(qdrant, "UPSERT_CHUNK", CHUNK)
    upsert = store._client.upsert
    calls = []

    def flaky_upsert(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            if applied:
                upsert(*args, **kwargs)
            raise RuntimeError("Service internal error: disk full")
        return upsert(*args, **kwargs)

    monkeypatch.setattr(store._client, "upsert", flaky_upsert)
    return lambda: monkeypatch.setattr(store._client, "upsert", upsert)


def state(store: Any, vectors: np.ndarray) -> tuple:
    hits = store.search(vectors, k=1)
    return store.count(), store.labels(), [(h[0].id, h[0].payload) for h in hits]


@pytest.mark.parametrize("applied", [False, True])
@pytest.mark.parametrize("kind", ["edge", "qdrant"])
def test_a_failed_later_chunk_leaves_nothing_and_a_retry_stores_each_once(
    store_factory, clustered, monkeypatch, kind, applied
):
    store = store_factory(kind)
    old, old_labels = clustered(3, ["cup", "pen"], seed=1)
    old_ids = store.add(old, old_labels, [{"n": i} for i in range(6)])
    before = state(store, old)
    new, new_labels = clustered(5, ["tape", "cup"], seed=2)  # 10 examples: chunks of 4, 4, 2
    heal = fail_second_write(kind, store, monkeypatch, applied)

    with pytest.raises(StoreError, match="cannot write to|could not write to") as excinfo:
        store.add(new, new_labels)
    assert "disk full" in str(excinfo.value) and "\n" not in str(excinfo.value)
    assert state(store, old) == before
    assert all(h[0].label in ("cup", "pen") for h in store.search(new, k=1))

    heal()
    new_ids = store.add(new, new_labels)
    assert store.count() == 16
    assert store.labels() == {"cup": 8, "pen": 3, "tape": 5}
    assert state(store, old)[2] == before[2]  # the old examples were not overwritten
    assert not set(new_ids) & set(old_ids) and len(set(new_ids)) == 10
    assert [h[0].id for h in store.search(new, k=1)] == new_ids
    if kind == "edge":
        # The failed add's ids are spent, here and after a reopen.
        assert new_ids == list(range(old_ids[-1] + 11, old_ids[-1] + 21))


def test_edge_ids_of_a_failed_add_are_not_reused_after_reopen(store_dir, monkeypatch):
    from sam_detect.vector_store.edge import EdgeVectorStore

    with EdgeVectorStore(store_dir) as store:
        assert store.add(np.eye(DIM)[:2], ["a", "b"]) == [1, 2]
        fail_second_write("edge", store, monkeypatch, applied=True)
        with pytest.raises(StoreError):
            store.add(np.ones((10, DIM)), ["c"] * 10)
        assert store.labels() == {"a": 1, "b": 1}
    with EdgeVectorStore(store_dir) as store:
        assert store.labels() == {"a": 1, "b": 1}
        assert store.add(np.ones((1, DIM)), ["c"]) == [13]


def test_edge_a_failed_flush_undoes_the_whole_add(store_factory, monkeypatch):
    store = store_factory("edge")
    store.add(np.eye(DIM)[:1], ["a"])
    real = store._shard
    flushes = []

    class FailingFlush(FlakyShard):
        def flush(self) -> None:
            flushes.append(1)
            if len(flushes) == 1:
                raise RuntimeError("fsync failed")
            real.flush()

    store._shard = FailingFlush(real, fail_on=0, applied=False)
    with pytest.raises(StoreError, match="fsync failed"):
        store.add(np.ones((3, DIM)), ["b"] * 3)
    store._shard = real
    assert store.labels() == {"a": 1}


def test_an_undo_that_fails_too_is_reported_with_both_errors():
    def write(start: int, stop: int) -> None:
        if start:
            raise StoreError("cannot write to the store: disk full")

    def undo(ids: list) -> None:
        raise StoreError("cannot undo a failed write to the store: gone")

    with pytest.raises(StoreError) as excinfo:
        upload_in_chunks(write, undo, list(range(5)), chunk_size=2)
    message = str(excinfo.value)
    assert message.startswith("cannot write to the store: disk full; removing the 4 new examples")
    assert "gone" in message and "'sam-detect labels'" in message


def test_undo_gets_every_id_sent_including_the_failed_chunk():
    undone: list[list[int]] = []

    def write(start: int, stop: int) -> None:
        if start == 4:
            raise KeyboardInterrupt  # Ctrl-C mid-add is undone too

    with pytest.raises(KeyboardInterrupt):
        upload_in_chunks(write, undone.append, list(range(10, 20)), chunk_size=2)
    assert undone == [[10, 11, 12, 13, 14, 15]]
