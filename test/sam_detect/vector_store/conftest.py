# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Fixtures shared by the vector store tests: store factories and clustered unit vectors."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from sam_detect.vector_store import MemoryVectorStore, VectorStore

BACKENDS = ["memory", "edge", "qdrant"]


def open_backend(kind: str, path: Path, dim: int | None = None) -> VectorStore:
    """Open a store of ``kind``; the persistent ones live under ``path``."""
    if kind == "memory":
        return MemoryVectorStore(dim=dim)
    if kind == "edge":
        from sam_detect.vector_store.edge import EdgeVectorStore

        return EdgeVectorStore(path / "edge", dim=dim)
    from sam_detect.vector_store.qdrant import QdrantVectorStore

    return QdrantVectorStore(path=path / "qdrant", dim=dim)


def clustered(n_per_label: int, labels: list[str], dim: int = 8, seed: int = 0):
    """Return unit vectors around one random centre per label, and their labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(labels), dim))
    vectors, names = [], []
    for centre, label in zip(centres, labels):
        vectors.append(centre + 0.1 * rng.normal(size=(n_per_label, dim)))
        names += [label] * n_per_label
    vectors = np.concatenate(vectors).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), names


@pytest.fixture(name="clustered")
def clustered_fixture():
    """Return the :func:`clustered` builder: ``clustered(n_per_label, labels, dim=8, seed=0)``."""
    return clustered


@pytest.fixture
def store_dir(tmp_path) -> Iterator[Path]:
    """Return an empty directory for stores, on tmpfs (``/dev/shm``) when there is one.

    The persistent stores fsync on every write; on a disk shared with busy neighbours that made
    this suite ten times slower. Killing a process does not drop the page cache, so the crash
    tests mean the same on tmpfs.
    """
    shm = Path("/dev/shm")
    usable = shm.is_dir() and os.access(shm, os.W_OK)
    if not usable or shutil.disk_usage(shm).free < 256 * 2**20:  # ~3 MB per store
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="sam_detect_store_test_", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def store_factory(store_dir) -> Callable[..., VectorStore]:
    """Return ``open(kind, dim=None)``; every store it opened is closed after the test."""
    opened: list[VectorStore] = []

    def factory(kind: str, dim: int | None = None) -> VectorStore:
        store = open_backend(kind, store_dir, dim)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture(params=BACKENDS)
def store(request, store_factory) -> VectorStore:
    """Return a fresh, empty store of each backend."""
    return store_factory(request.param)
