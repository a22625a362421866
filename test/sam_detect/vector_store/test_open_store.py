# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""open_store and default_store_path."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sam_detect.arguments import render_error
from sam_detect.errors import MissingDependencyError, SamDetectError
from sam_detect.vector_store import (
    EdgeVectorStore,
    MemoryVectorStore,
    QdrantVectorStore,
    default_store_path,
    open_store,
)


@pytest.mark.parametrize(
    "kind, cls",
    [("memory", MemoryVectorStore), ("edge", EdgeVectorStore), (" Qdrant ", QdrantVectorStore)],
)
def test_open_store_picks_the_backend(store_dir, kind, cls):
    store = open_store(kind, path=store_dir / "s", dim=4)
    try:
        assert isinstance(store, cls)
        assert store.dim == 4
    finally:
        store.close()


def test_edge_defaults_to_the_default_store_path(store_dir, monkeypatch):
    monkeypatch.setenv("SAM_DETECT_HOME", str(store_dir))
    store = open_store("edge")
    try:
        assert store.path == store_dir / "store"
    finally:
        store.close()


def test_unknown_kind_lists_the_choices():
    with pytest.raises(SamDetectError, match="unknown store 'faiss'; choose one of: memory, edge"):
        open_store("faiss")


@pytest.mark.parametrize(
    "kind, module, match",
    [
        ("qdrant", "qdrant_client", r"^store qdrant .*pip install 'sam_detect_ros\[qdrant\]'"),
        ("edge", "qdrant_edge", r"^store edge .*pip install qdrant-edge-py"),
    ],
)
def test_a_missing_client_names_what_to_install(monkeypatch, store_dir, kind, module, match):
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == module else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingDependencyError, match=match) as excinfo:
        open_store(kind, path=store_dir, url="http://127.0.0.1:1")
    assert render_error(excinfo.value).startswith(f"--store {kind} needs")
    assert list(store_dir.iterdir()) == []


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"SAM_DETECT_HOME": "/data/sd", "XDG_DATA_HOME": "/xdg"}, "/data/sd/store"),
        ({"XDG_DATA_HOME": "/xdg"}, "/xdg/sam_detect/store"),
        ({"HOME": "/home/robot"}, "/home/robot/.local/share/sam_detect/store"),
    ],
)
def test_default_store_path(monkeypatch, env, expected):
    for name in ("SAM_DETECT_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert default_store_path() == Path(expected)
