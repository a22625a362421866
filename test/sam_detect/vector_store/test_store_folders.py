# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A store folder holds one kind of store and says which; damaged store files are one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sam_detect.arguments import render_error
from sam_detect.errors import StoreError
from sam_detect.vector_store.edge import EdgeVectorStore, META_FILE
from sam_detect.vector_store.folder_kind import folder_kind
from sam_detect.vector_store.qdrant import QdrantVectorStore


def edge_store(path: Path) -> Path:
    with EdgeVectorStore(path) as store:
        store.add(np.eye(3, dtype=np.float32), ["cup", "cup", "pen"])
    return path


def qdrant_local_store(path: Path) -> Path:
    with QdrantVectorStore(path=path) as store:
        store.add(np.eye(3, dtype=np.float32), ["cup", "cup", "pen"])
    return path


def test_each_folder_says_which_kind_it_holds(tmp_path) -> None:
    assert folder_kind(edge_store(tmp_path / "e")) == "edge"
    assert json.loads((tmp_path / "e" / META_FILE).read_text())["kind"] == "edge"
    assert folder_kind(qdrant_local_store(tmp_path / "q")) == "qdrant"
    assert folder_kind(tmp_path / "new") is None and folder_kind(tmp_path) is None


@pytest.mark.parametrize(("make", "open_as", "hint"), [
    (edge_store, lambda p: QdrantVectorStore(path=p), "store edge"),
    (qdrant_local_store, EdgeVectorStore, "store qdrant"),
])
def test_a_folder_of_the_other_kind_is_refused_and_left_alone(tmp_path, make, open_as, hint):
    folder = make(tmp_path / "store")
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    with pytest.raises(StoreError, match=f"open it with {hint},") as excinfo:
        open_as(folder)
    assert f"open it with --{hint}, or give another --store-path" in render_error(excinfo.value)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_a_shard_without_its_store_file_is_refused_not_emptied(tmp_path) -> None:
    folder = edge_store(tmp_path / "store")
    (folder / META_FILE).unlink()
    with pytest.raises(StoreError, match=f"lost {META_FILE}"):
        EdgeVectorStore(folder)
    assert (folder / "shard" / "edge_config.json").exists()


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("next_id", "abc", "next_id must be a whole number >= 1, got 'abc'"),
    ("next_id", 0, "next_id must be"), ("next_id", 1.5, "next_id must be"),
    ("next_id", True, "next_id must be"), ("next_id", -3, "next_id must be"),
    ("dim", "512", "dim must be"), ("dim", 0, "dim must be"),
    ("metadata", [1], "metadata must be an object"), ("kind", "qdrant", "kind is 'qdrant'"),
])
def test_a_damaged_store_file_is_one_line(tmp_path, field, value, problem) -> None:
    folder = edge_store(tmp_path / "store")
    state = json.loads((folder / META_FILE).read_text())
    (folder / META_FILE).write_text(json.dumps({**state, field: value}))
    with pytest.raises(StoreError, match="is damaged: " + problem.replace("(", r"\(")) as raised:
        EdgeVectorStore(folder)
    assert "\n" not in str(raised.value)
