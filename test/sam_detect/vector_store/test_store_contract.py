# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The VectorStore contract, checked against every backend (memory, edge, qdrant local mode)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from sam_detect.errors import (
    IncompatibleStoreError,
    InvalidLabelError,
    SamDetectError,
    StoreError,
)
from sam_detect.vector_store import VectorStore, check_compatible

BACKENDS = ["memory", "edge", "qdrant"]
DIM = 8
LABELS = ["cup", "pen", "tape"]


@pytest.fixture
def fill(clustered):
    """Return a function that adds 4 examples of each of LABELS, with payloads, to a store."""

    def fill(store: VectorStore):
        vectors, labels = clustered(4, LABELS)
        payloads = [{"source": f"img{i}.png", "box": [i, 0, i + 1, 1]} for i in range(12)]
        ids = store.add(vectors, labels, payloads)
        return vectors, labels, payloads, ids

    return fill


def test_is_a_vector_store(store):
    assert isinstance(store, VectorStore)


def test_round_trip_returns_the_stored_example_first(store, fill):
    vectors, labels, payloads, ids = fill(store)
    assert len(set(ids)) == len(ids) == 12
    results = store.search(vectors, k=1)
    assert len(results) == len(vectors)
    for i, hits in enumerate(results):
        assert hits[0].id == ids[i]
        assert hits[0].label == labels[i]
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert hits[0].payload == {**payloads[i], "label": labels[i]}


def test_scores_are_cosine_similarities_best_first(store, fill):
    vectors, _, _, ids = fill(store)
    rng = np.random.default_rng(5)
    query = rng.normal(size=(2, DIM)) * 7.0  # not unit length: scores must still be cosine
    hits = store.search(query, k=5)
    unit = query / np.linalg.norm(query, axis=1, keepdims=True)
    expected = unit @ vectors.T
    for row, row_hits in enumerate(hits):
        scores = [h.score for h in row_hits]
        assert scores == sorted(scores, reverse=True)
        np.testing.assert_allclose(scores, np.sort(expected[row])[::-1][:5], atol=1e-5)
        for h in row_hits:
            assert h.score == pytest.approx(expected[row, ids.index(h.id)], abs=1e-5)


@pytest.mark.parametrize("k, expected", [(1, 1), (12, 12), (50, 12)])
def test_k_is_capped_by_the_number_of_examples(store, k, expected, fill):
    vectors, *_ = fill(store)
    assert [len(h) for h in store.search(vectors[:2], k=k)] == [expected, expected]


def test_a_single_1d_query_is_one_row(store, fill):
    vectors, labels, *_ = fill(store)
    hits = store.search(vectors[5], k=2)
    assert len(hits) == 1 and hits[0][0].label == labels[5]


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("dim", [None, DIM])
def test_empty_store_answers_empty_lists(store_factory, kind, dim):
    store = store_factory(kind, dim=dim)
    assert store.count() == 0
    assert store.labels() == {}
    assert store.search(np.ones((2, DIM), np.float32), k=3) == [[], []]
    assert store.search(np.ones((2, DIM), np.float32), k=3, label_filter=["cup"]) == [[], []]


@pytest.mark.parametrize(
    "label_filter, allowed",
    [(["pen"], {"pen"}), (["pen", "tape"], {"pen", "tape"}), (["nope"], set()), ([], set())],
)
def test_label_filter_keeps_only_those_labels(store, label_filter, allowed, fill):
    vectors, *_ = fill(store)
    results = store.search(vectors[:3], k=20, label_filter=label_filter)
    for hits in results:
        assert {h.label for h in hits} == allowed
        assert len(hits) == 4 * len(allowed)


def test_labels_counts(store, clustered):
    vectors, labels = clustered(3, LABELS)
    store.add(vectors[:7], labels[:7])
    assert store.labels() == {"cup": 3, "pen": 3, "tape": 1}
    assert store.count() == 7


def test_remove_by_label(store, fill):
    vectors, *_ = fill(store)
    assert store.remove(label="pen") == 4
    assert store.labels() == {"cup": 4, "tape": 4}
    assert store.count() == 8
    assert all(h.label != "pen" for hits in store.search(vectors, k=12) for h in hits)
    assert store.remove(label="pen") == 0


def test_remove_by_ids_and_label_together(store, fill):
    _, _, _, ids = fill(store)
    # ids[0:2] are "cup"; ids[4] is "pen": removing label "tape" plus those ids.
    assert store.remove(ids=[ids[0], ids[1], ids[4]]) == 3
    assert store.labels() == {"cup": 2, "pen": 3, "tape": 4}
    assert store.remove(label="tape", ids=[ids[5]]) == 5
    assert store.labels() == {"cup": 2, "pen": 2}
    remaining = {h.id for h in store.search(np.ones(DIM), k=20)[0]}
    assert remaining == {ids[2], ids[3], ids[6], ids[7]}


def test_list_examples_returns_ids_labels_and_payloads(store, fill):
    _, labels, payloads, ids = fill(store)
    listed = store.list_examples()
    assert sorted(map(str, (e.id for e in listed))) == sorted(map(str, ids))
    by_id = {e.id: e for e in listed}
    for i, point_id in enumerate(ids):
        assert by_id[point_id].label == labels[i]
        assert by_id[point_id].payload == {**payloads[i], "label": labels[i]}


@pytest.mark.parametrize("label, picks, limit, expected", [
    ("pen", None, None, {4, 5, 6, 7}),
    (None, [0, 5, 11], None, {0, 5, 11}),
    ("pen", [0, 5, 11], None, {5}),
    ("cup", None, 2, 2),
    (None, None, 0, 0),
    ("nothing", None, None, set()),
])
def test_list_examples_filters(store, fill, label, picks, limit, expected):
    _, _, _, ids = fill(store)
    listed = store.list_examples(label=label, ids=None if picks is None else
                                 [ids[i] for i in picks], limit=limit)
    if isinstance(expected, int):
        assert len(listed) == expected
        assert all(e.label == label for e in listed if label)
    else:
        assert {e.id for e in listed} == {ids[i] for i in expected}


@pytest.mark.parametrize("bogus", [["not-an-id"], [10**6], [-1]])
def test_list_examples_skips_unknown_ids(store, fill, bogus):
    fill(store)
    assert store.list_examples(ids=bogus) == []


def test_list_examples_on_an_empty_store(store):
    assert store.list_examples() == []


def test_removed_examples_are_no_longer_listed(store, fill):
    _, _, _, ids = fill(store)
    assert store.remove(ids=[ids[3]]) == 1
    assert ids[3] not in {e.id for e in store.list_examples()}
    assert store.list_examples(ids=[ids[3]]) == []


def test_relabel_moves_examples_to_another_label(store, fill):
    vectors, _, payloads, ids = fill(store)
    assert store.relabel([ids[0], ids[1], "unknown-id"], "mug") == 2
    assert store.labels() == {"cup": 2, "mug": 2, "pen": 4, "tape": 4}
    hit = store.search(vectors[0], k=1)[0][0]
    assert (hit.id, hit.label) == (ids[0], "mug")
    assert hit.payload == {**payloads[0], "label": "mug"}
    assert {e.id for e in store.list_examples(label="mug")} == {ids[0], ids[1]}
    assert [h.label for h in store.search(vectors[:1], k=12, label_filter=["mug"])[0]] == [
        "mug", "mug"]


@pytest.mark.parametrize("label", ["", "   ", 3])
def test_relabel_refuses_a_bad_label_and_changes_nothing(store, fill, label):
    _, _, _, ids = fill(store)
    with pytest.raises(InvalidLabelError):
        store.relabel([ids[0]], label)
    assert store.labels() == {"cup": 4, "pen": 4, "tape": 4}


def test_remove_needs_a_label_or_ids(store, fill):
    fill(store)
    with pytest.raises(SamDetectError, match="label or a list of ids"):
        store.remove()
    assert store.count() == 12


def test_metadata_round_trip(store, fill):
    assert store.get_metadata() is None
    record = {"name": "average-v1", "dim": DIM, "kind": "average", "fade": {"sigma": 30.0}}
    store.set_metadata(record)
    assert store.get_metadata() == record
    fill(store)
    assert store.get_metadata() == record


def test_check_compatible(store, fill):
    record = {"name": "average-v1", "dim": DIM, "fade": {"kind": "gaussian", "sigma": 30}}
    assert check_compatible(store, record) == []
    fill(store)
    assert check_compatible(store, dict(record)) == []
    # The hint names a value the embedder option accepts ('average', not 'average-v1').
    with pytest.raises(IncompatibleStoreError, match="from 'average-v1'") as raised:
        check_compatible(store, {**record, "name": "clip"})
    assert raised.value.option == "embedder"
    assert raised.value.render("--embedder").startswith("--embedder must be 'average' for")
    with pytest.raises(IncompatibleStoreError, match=f"{DIM}-d"):
        check_compatible(store, {**record, "dim": DIM * 2})
    warnings = check_compatible(store, {**record, "fade": {"kind": "gaussian", "sigma": 10}})
    assert len(warnings) == 1 and "fade" in warnings[0]
    assert store.get_metadata() == record


# Qdrant never re-creates a collection (another process may share it): see test_qdrant.py.
@pytest.mark.parametrize("kind", ["memory", "edge"])
def test_empty_store_takes_the_dim_of_new_metadata(store_factory, kind):
    store = store_factory(kind)
    store.add(np.eye(DIM, dtype=np.float32)[:1], ["cup"])
    store.remove(label="cup")
    store.set_metadata({"name": "other", "dim": 4})
    ids = store.add(np.eye(4, dtype=np.float32), ["a", "b", "c", "d"])
    assert len(ids) == 4 and store.labels() == {"a": 1, "b": 1, "c": 1, "d": 1}
    with pytest.raises(IncompatibleStoreError):
        store.set_metadata({"name": "other", "dim": DIM})


@pytest.mark.parametrize(
    "vectors, labels, payloads, error, match",
    [
        (np.ones((2, DIM + 1)), ["a", "b"], None, IncompatibleStoreError, "9 dimensions"),
        (np.ones((2, DIM)), ["a"], None, StoreError, "2 vectors but 1 labels"),
        (np.ones((1, DIM)), ["a"], [{}, {}], StoreError, "1 labels but 2 payloads"),
        (np.full((1, DIM), np.nan), ["a"], None, StoreError, "NaN"),
        (np.zeros((1, DIM)), ["a"], None, StoreError, "all-zero"),
        (np.ones((1, DIM)), ["  "], None, InvalidLabelError, "empty"),
        (np.ones((1, DIM)), "a", None, StoreError, "not a string"),
        (np.ones((1, DIM)), ["a"], [{"x": object()}], StoreError, "JSON"),
        (np.ones((1, DIM)), ["a"], ["x"], StoreError, "must be a dict"),
        (np.ones((1, 2, DIM)), ["a"], None, StoreError, r"\(n, d\)"),
    ],
)
def test_bad_add_writes_nothing(store, vectors, labels, payloads, error, match, fill):
    fill(store)
    before = (store.count(), store.labels())
    with pytest.raises(error, match=match):
        store.add(vectors, labels, payloads)
    assert (store.count(), store.labels()) == before


def test_wrong_dim_query_is_rejected(store, fill):
    fill(store)
    with pytest.raises(IncompatibleStoreError, match="query vectors have 3 dimensions"):
        store.search(np.ones((1, 3)), k=1)


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3"])
def test_bad_k_is_rejected(store, k, fill):
    fill(store)
    with pytest.raises(SamDetectError, match="top-k"):
        store.search(np.ones((1, DIM)), k=k)


def test_adding_nothing_returns_no_ids(store):
    assert store.add(np.zeros((0, DIM), np.float32), []) == []
    assert store.count() == 0


def test_closed_store_refuses_work(store, fill):
    fill(store)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.search(np.ones((1, DIM)), k=1)
    with pytest.raises(StoreError, match="closed"):
        store.add(np.ones((1, DIM)), ["a"])


def test_concurrent_adds_searches_and_removes_keep_every_other_example(store, clustered):
    # The ROS node calls one store from several callbacks; each store serialises its methods.
    vectors, labels = clustered(20, ["a", "b", "c", "d"])
    store.add(np.eye(DIM, dtype=np.float32)[:2], ["old", "old"])
    errors: list[BaseException] = []
    removed: list[list] = [[] for _ in range(4)]
    kept: list[list] = [[] for _ in range(4)]

    def worker(part: int) -> None:
        try:
            rows = slice(part * 20, part * 20 + 20)
            for i in range(0, 20, 5):
                ids = store.add(vectors[rows][i: i + 5], labels[rows][i: i + 5])
                store.search(vectors[rows][i: i + 2], k=3)
                assert store.remove(ids=ids[:1]) == 1
                removed[part].append(ids[0])
                kept[part] += ids[1:]
                store.labels()
            if part == 0:
                assert store.remove(label="old") == 2
        except BaseException as exc:  # surfaced below, in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(part,)) for part in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.labels() == {"a": 16, "b": 16, "c": 16, "d": 16}
    assert store.count() == 64
    all_kept = [i for ids in kept for i in ids]
    assert len(set(all_kept)) == 64
    assert not set(all_kept) & {i for ids in removed for i in ids}
    left = [i for i in range(80) if i % 5]  # the first of every batch of 5 was removed
    hits = store.search(vectors[left], k=1)
    assert [h[0].label for h in hits] == [labels[i] for i in left]
    assert [h[0].id for h in hits] == [kept[i // 20][(i % 20) - 1 - (i % 20) // 5] for i in left]
