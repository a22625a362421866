# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""QdrantVectorStore specifics: local-mode persistence, UUID ids, errors for servers."""

from __future__ import annotations

import socket
import uuid

import numpy as np
import pytest

from sam_detect.arguments import render_error
from sam_detect.errors import IncompatibleStoreError, StoreError
from sam_detect.vector_store import check_compatible
from sam_detect.vector_store.qdrant import METADATA_KEY, QdrantVectorStore


DIM = 8


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_close_and_reopen_restores_everything(store_dir, clustered):
    vectors, labels = clustered(4, ["cup", "pen"])
    record = {"name": "average-v1", "dim": DIM, "fade": None}
    with QdrantVectorStore(path=store_dir) as store:
        store.set_metadata(record)
        ids = store.add(vectors, labels, [{"i": i} for i in range(8)])
        before = store.search(vectors[:2], k=3)
    with QdrantVectorStore(path=store_dir) as store:
        assert store.dim == DIM
        assert store.count() == 8
        assert store.labels() == {"cup": 4, "pen": 4}
        assert store.get_metadata() == record
        after = store.search(vectors[:2], k=3)
        # Local mode keeps float32 on disk but float64 in memory: equal up to rounding.
        assert [[(h.id, h.payload) for h in r] for r in after] == [
            [(h.id, h.payload) for h in r] for r in before
        ]
        scores = [[[h.score for h in r] for r in hits] for hits in (after, before)]
        np.testing.assert_allclose(*scores, atol=1e-6)
        assert store.search(vectors[3], k=1)[0][0].id == ids[3]


def test_ids_are_uuids_and_metadata_lives_in_the_collection(store_dir):
    from qdrant_client import QdrantClient

    with QdrantVectorStore(path=store_dir, collection_name="robots") as store:
        ids = store.add(np.eye(DIM)[:3], ["a", "b", "c"])
        store.set_metadata({"name": "x", "dim": DIM})
    assert all(str(uuid.UUID(i)) == i for i in ids)
    client = QdrantClient(path=str(store_dir))
    try:
        info = client.get_collection("robots")
        assert info.config.metadata[METADATA_KEY] == {"name": "x", "dim": DIM}
        assert info.points_count == 3
    finally:
        client.close()


def test_metadata_set_before_the_collection_exists_is_kept(store_dir):
    with QdrantVectorStore(path=store_dir) as store:
        store.set_metadata({"name": "nodim"})
        assert store.get_metadata() == {"name": "nodim"}
        store.add(np.eye(DIM)[:1], ["a"])
    with QdrantVectorStore(path=store_dir) as store:
        assert store.get_metadata() == {"name": "nodim"}


@pytest.mark.parametrize("emptied", [False, True])
def test_dim_mismatch_at_open_is_refused(store_dir, emptied):
    with QdrantVectorStore(path=store_dir) as store:
        store.add(np.eye(DIM)[:1], ["a"])
        if emptied:
            store.remove(label="a")
    with pytest.raises(IncompatibleStoreError, match="holds 8-d vectors, not 4-d") as excinfo:
        QdrantVectorStore(path=store_dir, dim=4)
    assert "'sam_detect'" in str(excinfo.value) and "another collection" in str(excinfo.value)
    assert "another --collection" in render_error(excinfo.value)
    with QdrantVectorStore(path=store_dir) as store:
        assert store.dim == DIM
        assert store.count() == (0 if emptied else 1)


def test_an_empty_collection_of_another_dim_is_never_deleted(store_dir):
    # On a shared server count() == 0 can be stale by the time a delete would run.
    record = {"name": "average-v1", "dim": DIM}
    with QdrantVectorStore(path=store_dir) as store:
        store.set_metadata(record)
        store.add(np.eye(DIM)[:1], ["a"])
        store.remove(label="a")
        with pytest.raises(IncompatibleStoreError, match="never deletes a collection"):
            store.set_metadata({"name": "clip", "dim": 4})
        with pytest.raises(IncompatibleStoreError, match="holds 8-d vectors, not 4-d"):
            check_compatible(store, {"name": "clip", "dim": 4})
        assert store.dim == DIM and store.get_metadata() == record
        assert store.add(np.eye(DIM)[:2], ["b", "c"]) != []
    with QdrantVectorStore(path=store_dir) as store:
        assert store.labels() == {"b": 1, "c": 1}


@pytest.mark.parametrize("size, fits", [(DIM, True), (4, False)])
def test_a_collection_created_by_another_client_meanwhile_is_used_not_replaced(
    store_dir, monkeypatch, size, fits
):
    from qdrant_client import models

    with QdrantVectorStore(path=store_dir) as store:
        assert store.dim is None
        # Another process creates the collection between our open and our first add; the
        # first existence check still misses it, so create_collection itself finds it taken.
        store._client.create_collection(
            "sam_detect",
            vectors_config=models.VectorParams(size=size, distance=models.Distance.COSINE),
        )
        store._client.upsert("sam_detect", [models.PointStruct(
            id=str(uuid.uuid4()), vector=[1.0] * size, payload={"label": "theirs"}
        )])
        real = store._client.collection_exists
        answers = iter([False])
        monkeypatch.setattr(
            store._client, "collection_exists", lambda name: next(answers, None) or real(name)
        )
        if fits:
            store.add(np.eye(DIM)[:1], ["ours"])
            assert store.labels() == {"ours": 1, "theirs": 1}
        else:
            with pytest.raises(IncompatibleStoreError, match="holds 4-d vectors, not 8-d"):
                store.add(np.eye(DIM)[:1], ["ours"])
            assert store.dim == 4 and store.labels() == {"theirs": 1}


def test_local_path_in_use_is_refused(store_dir):
    with QdrantVectorStore(path=store_dir):
        with pytest.raises(StoreError, match="is in use by another process"):
            QdrantVectorStore(path=store_dir)


def test_unreachable_url_fails_fast_with_a_hint():
    url = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(StoreError) as excinfo:
        QdrantVectorStore(url=url, timeout=2)
    message = str(excinfo.value)
    assert message.startswith(f"cannot reach Qdrant at {url}: ")
    assert "docker run -p 6333:6333 qdrant/qdrant" in message and "check qdrant_url" in message
    assert render_error(excinfo.value).endswith("check --qdrant-url")
    assert "\n" not in message


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_url_and_key_come_from_the_environment(monkeypatch):
    url = f"http://127.0.0.1:{unused_port()}"
    monkeypatch.setenv("QDRANT_URL", url)
    monkeypatch.setenv("QDRANT_API_KEY", "secret")
    with pytest.raises(StoreError, match=f"cannot reach Qdrant at {url}"):
        QdrantVectorStore(timeout=2)


def test_memory_location_works_without_a_path():
    with QdrantVectorStore(path=":memory:") as store:
        store.add(np.eye(DIM)[:2], ["a", "b"])
        assert store.labels() == {"a": 1, "b": 1}
