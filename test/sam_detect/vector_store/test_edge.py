# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""EdgeVectorStore specifics: persistence, crash safety, the one-process lock, ids, layout."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sam_detect.errors import IncompatibleStoreError, StoreError
from sam_detect.arguments import render_error
from sam_detect.vector_store.edge import META_FILE, SHARD_DIR, EdgeVectorStore

DIM = 8

REPO = Path(__file__).resolve().parents[3]
IN_USE = (
    "is in use by another process (a running node or CLI); stop it or use another store_path"
)


def run_python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def snapshot(store: EdgeVectorStore, queries: np.ndarray):
    hits = store.search(queries, k=4)
    return [[(h.id, h.label, round(h.score, 5), h.payload) for h in row] for row in hits]


def test_close_and_reopen_restores_everything(store_dir, clustered):
    vectors, labels = clustered(5, ["cup", "pen"])
    record = {"name": "average-v1", "dim": DIM, "fade": {"sigma": 30}}
    with EdgeVectorStore(store_dir) as store:
        store.set_metadata(record)
        ids = store.add(vectors, labels, [{"i": i} for i in range(10)])
        before = snapshot(store, vectors[:3])
    with EdgeVectorStore(store_dir) as store:
        assert store.dim == DIM
        assert store.count() == 10
        assert store.labels() == {"cup": 5, "pen": 5}
        assert store.get_metadata() == record
        assert snapshot(store, vectors[:3]) == before
        assert store.add(vectors[:1], ["cup"]) == [ids[-1] + 1]


def test_layout_is_a_shard_and_an_atomic_json_file(store_dir):
    with EdgeVectorStore(store_dir, dim=DIM) as store:
        store.set_metadata({"name": "x", "dim": DIM})
    assert (store_dir / SHARD_DIR / "edge_config.json").is_file()
    state = json.loads((store_dir / META_FILE).read_text())
    assert state["dim"] == DIM and state["metadata"] == {"name": "x", "dim": DIM}
    assert [p.name for p in store_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_ids_are_never_reused_after_removal_and_reopen(store_dir, clustered):
    vectors, labels = clustered(3, ["cup"])
    with EdgeVectorStore(store_dir) as store:
        ids = store.add(vectors, labels)
        assert ids == [1, 2, 3]
        store.remove(ids=[3])
    with EdgeVectorStore(store_dir) as store:
        assert store.add(vectors[:1], ["cup"]) == [4]


def test_sigkill_right_after_add_loses_nothing(store_dir):
    child = run_python(
        """
        import os, signal, sys
        import numpy as np
        from sam_detect.vector_store.edge import EdgeVectorStore
        store = EdgeVectorStore(sys.argv[1])
        rng = np.random.default_rng(0)
        ids = store.add(rng.normal(size=(300, 8)), ["a"] * 200 + ["b"] * 100,
                        [{"n": i} for i in range(300)])
        store.remove(ids=ids[:5])
        ids += store.add(rng.normal(size=(2, 8)), ["c", "c"])
        print(ids[-1], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit
        """,
        str(store_dir),
    )
    out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err
    assert out.strip() == "302"
    with EdgeVectorStore(store_dir) as store:
        assert store.count() == 297
        assert store.labels() == {"a": 195, "b": 100, "c": 2}
        vectors = np.random.default_rng(0).normal(size=(300, DIM))
        top = store.search(vectors[250], k=1)[0][0]
        assert (top.id, top.payload) == (251, {"n": 250, "label": "b"})
        assert top.score == pytest.approx(1, abs=1e-5)
        assert store.add(np.ones((1, DIM)), ["d"]) == [303]


def test_second_open_in_the_same_process_is_refused(store_dir):
    with EdgeVectorStore(store_dir):
        with pytest.raises(StoreError) as excinfo:
            EdgeVectorStore(store_dir)
    assert str(excinfo.value) == f"store at {store_dir} {IN_USE}"
    # The library names the option; the command line renders it as its flag.
    assert render_error(excinfo.value).endswith("use another --store-path")
    with EdgeVectorStore(store_dir) as store:  # released by close()
        assert store.count() == 0


def test_open_while_another_process_holds_the_store_is_refused(store_dir):
    child = run_python(
        """
        import sys
        from sam_detect.vector_store.edge import EdgeVectorStore
        store = EdgeVectorStore(sys.argv[1], dim=8)
        store.add([[1.0] * 8], ["cup"])
        print("ready", flush=True)
        sys.stdin.read()
        store.close()
        """,
        str(store_dir),
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match=re.escape(IN_USE)):
            EdgeVectorStore(store_dir)
    finally:
        child.communicate(input="", timeout=60)
    assert child.returncode == 0
    with EdgeVectorStore(store_dir) as store:
        assert store.labels() == {"cup": 1}


def test_a_failed_open_releases_the_lock(store_dir):
    with EdgeVectorStore(store_dir) as store:
        store.add(np.ones((1, DIM)), ["cup"])
    with pytest.raises(IncompatibleStoreError, match="holds 8-d vectors, not 4-d"):
        EdgeVectorStore(store_dir, dim=4)
    with EdgeVectorStore(store_dir, dim=DIM) as store:
        assert store.count() == 1


@pytest.mark.parametrize(
    "setup, match",
    [
        (lambda p: p.write_text("x"), "is a file"),
        (lambda p: (p.mkdir(), (p / META_FILE).write_text("{broken")), "cannot read"),
        (lambda p: (p.mkdir(), (p / META_FILE).write_text('{"format": 99}')), "not a sam_detect"),
    ],
)
def test_unusable_paths_raise_store_error(store_dir, setup, match):
    path = store_dir / "store"
    setup(path)
    with pytest.raises(StoreError, match=match):
        EdgeVectorStore(path)


def test_optimize_keeps_results_and_batches_match_single_queries(store_dir, clustered):
    vectors, labels = clustered(50, ["a", "b", "c", "d"])
    with EdgeVectorStore(store_dir, hnsw_ef=64) as store:
        store.add(vectors, labels)
        queries = vectors[::37] + 0.01
        before = store.search(queries, k=5)
        assert isinstance(store.optimize(), bool)
        after = store.search(queries, k=5)
        singles = [store.search(q, k=5)[0] for q in queries]
    as_ids = lambda rows: [[h.id for h in row] for row in rows]  # noqa: E731
    assert as_ids(after) == as_ids(before) == as_ids(singles)
