# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""An in-process vector store: exact numpy brute force, nothing on disk.

Rows are unit vectors, so cosine similarity is one matrix product. This is the fastest exact
store below ~10k examples and the default when no persistence is wanted; everything is lost when
the process ends.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from sam_detect.errors import IncompatibleStoreError, StoreError
from sam_detect.results import Neighbour
from sam_detect.vector_store.base import (
    PointId,
    StoreBase,
    StoredExample,
    check_k,
    check_remove_args,
    prepare_examples,
    prepare_vectors,
)


class MemoryVectorStore(StoreBase):
    """Exact cosine k-NN over numpy arrays held in memory; thread-safe.

    Args:
        dim: Vector length; ``None`` takes it from the first :meth:`add`.

    Ids are increasing integers starting at 1 and never reused by this instance.

    Example:
        >>> import numpy as np
        >>> store = MemoryVectorStore()
        >>> store.add(np.eye(3, dtype=np.float32), ["cup", "cup", "pen"])
        [1, 2, 3]
        >>> [n.label for n in store.search(np.array([[0.0, 0.1, 1.0]]), k=2)[0]]
        ['pen', 'cup']
        >>> store.labels()
        {'cup': 2, 'pen': 1}
    """

    def __init__(self, dim: int | None = None) -> None:
        if dim is not None and (not isinstance(dim, int) or dim < 1):
            raise StoreError(f"dim must be a positive integer, got {dim!r}")
        self._dim = dim
        self._lock = threading.RLock()
        self._vectors = np.zeros((0, dim or 0), np.float32)
        self._size = 0
        self._ids = np.zeros(0, np.int64)
        self._codes = np.zeros(0, np.int32)  # index into self._names, per row
        self._names: list[str] = []
        self._name_code: dict[str, int] = {}
        self._payloads: list[dict[str, Any]] = []
        self._next_id = 1
        self._metadata: dict[str, Any] | None = None
        self._closed = False

    @property
    def dim(self) -> int | None:
        """Vector length, or ``None`` while the store is empty and no dim was given."""
        return self._dim

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the vector store is closed; open a new one")

    def _code(self, label: str) -> int:
        if label not in self._name_code:
            self._name_code[label] = len(self._names)
            self._names.append(label)
        return self._name_code[label]

    def _reserve(self, extra: int) -> None:
        """Grow the row buffers geometrically so repeated adds stay amortised O(1)."""
        needed = self._size + extra
        if needed <= len(self._vectors):
            return
        capacity = max(needed, 2 * len(self._vectors), 64)
        vectors = np.zeros((capacity, self._dim), np.float32)
        vectors[: self._size] = self._vectors[: self._size]
        ids = np.zeros(capacity, np.int64)
        ids[: self._size] = self._ids[: self._size]
        codes = np.zeros(capacity, np.int32)
        codes[: self._size] = self._codes[: self._size]
        self._vectors, self._ids, self._codes = vectors, ids, codes

    def add(self, vectors: np.ndarray, labels: list[str],
            payloads: list[dict[str, Any]] | None = None) -> list[PointId]:
        """Store ``(n, d)`` vectors with their labels; return their new ids."""
        with self._lock:
            self._check_open()
            array, labels, payloads = prepare_examples(vectors, labels, payloads, self._dim)
            if not len(array):
                return []
            if self._dim is None:
                self._dim = array.shape[1]
                self._vectors = np.zeros((0, self._dim), np.float32)
            self._reserve(len(array))
            start, stop = self._size, self._size + len(array)
            new_ids = list(range(self._next_id, self._next_id + len(array)))
            self._vectors[start:stop] = array
            self._ids[start:stop] = new_ids
            self._codes[start:stop] = [self._code(label) for label in labels]
            self._payloads.extend(payloads)
            self._size = stop
            self._next_id += len(array)
            return new_ids

    def search(
        self, vectors: np.ndarray, k: int, label_filter: list[str] | None = None
    ) -> list[list[Neighbour]]:
        """Return, for each query row, up to ``k`` neighbours best first."""
        k = check_k(k)
        with self._lock:
            self._check_open()
            queries = prepare_vectors(vectors, self._dim, what="query vectors")
            n = self._size
            if n == 0 or not len(queries):
                return [[] for _ in range(len(queries))]
            rows = np.arange(n)
            if label_filter is not None:
                wanted = [self._name_code[x] for x in label_filter if x in self._name_code]
                rows = np.flatnonzero(np.isin(self._codes[:n], wanted))
                if not len(rows):
                    return [[] for _ in range(len(queries))]
            candidates = self._vectors[rows] if label_filter is not None else self._vectors[:n]
            scores = queries @ candidates.T
            k = min(k, len(rows))
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            results = []
            for qi, cols in enumerate(top):
                cols = cols[np.argsort(-scores[qi, cols], kind="stable")]
                hits = []
                for col in cols:
                    row = rows[col]
                    hits.append(
                        Neighbour(
                            label=self._names[self._codes[row]],
                            score=float(scores[qi, col]),
                            id=int(self._ids[row]),
                            payload=dict(self._payloads[row]),
                        )
                    )
                results.append(hits)
            return results

    def remove(self, label: str | None = None, ids: list[PointId] | None = None) -> int:
        """Delete every example of ``label`` and/or the given ids; return how many went."""
        check_remove_args(label, ids)
        with self._lock:
            self._check_open()
            n = self._size
            doomed = np.zeros(n, bool)
            if label is not None and label in self._name_code:
                doomed |= self._codes[:n] == self._name_code[label]
            if ids:
                wanted = [i for i in ids if isinstance(i, (int, np.integer))]
                doomed |= np.isin(self._ids[:n], np.asarray(wanted, np.int64))
            removed = int(doomed.sum())
            if removed:
                keep = np.flatnonzero(~doomed)
                self._vectors[: len(keep)] = self._vectors[keep]
                self._ids[: len(keep)] = self._ids[keep]
                self._codes[: len(keep)] = self._codes[keep]
                self._payloads = [self._payloads[i] for i in keep]
                self._size = len(keep)
            return removed

    def labels(self) -> dict[str, int]:
        """Return ``{label: number of examples}``, sorted by label."""
        with self._lock:
            self._check_open()
            counts = np.bincount(self._codes[: self._size], minlength=len(self._names))
            return {
                self._names[code]: int(c)
                for code, c in sorted(enumerate(counts), key=lambda x: self._names[x[0]])
                if c
            }

    def _examples(self, label: str | None, ids: list[PointId] | None,
                  limit: int | None, with_vectors: bool = False) -> list[StoredExample]:
        """Return stored examples in the order they were added (under the lock)."""
        rows = np.arange(self._size)
        if label is not None:
            code = self._name_code.get(str(label), -1)
            rows = rows[self._codes[rows] == code]
        if ids is not None:
            wanted = [int(i) for i in ids if isinstance(i, (int, np.integer))]
            rows = rows[np.isin(self._ids[rows], np.asarray(wanted, np.int64))]
        rows = rows[:limit] if limit is not None else rows
        return [StoredExample(int(self._ids[row]), self._names[self._codes[row]],
                              dict(self._payloads[row]),
                              self._vectors[row].copy() if with_vectors else None)
                for row in rows]

    def relabel(self, ids: list[PointId], label: str) -> int:
        """Give the examples ``ids`` the label ``label``; return how many were changed."""
        from sam_detect.labels import validate_label

        label = validate_label(label)
        with self._lock:
            self._check_open()
            wanted = [int(i) for i in ids if isinstance(i, (int, np.integer))]
            rows = np.flatnonzero(np.isin(self._ids[: self._size], np.asarray(wanted, np.int64)))
            code = self._code(label)
            for row in rows:
                self._codes[row] = code
                self._payloads[row] = {**self._payloads[row], "label": label}
            return len(rows)

    def count(self) -> int:
        """Return the total number of stored examples."""
        with self._lock:
            self._check_open()
            return self._size

    def get_metadata(self) -> dict[str, Any] | None:
        """Return the embedder record, or ``None`` when none was set."""
        with self._lock:
            self._check_open()
            return None if self._metadata is None else dict(self._metadata)

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Record the embedder (``name``, ``dim``, ``fade``...) that fills this store.

        An empty store takes ``metadata["dim"]`` as its dimension.

        Raises:
            IncompatibleStoreError: when ``metadata["dim"]`` differs from the stored vectors'.
        """
        with self._lock:
            self._check_open()
            dim = metadata.get("dim")
            if isinstance(dim, int) and dim != self._dim:
                if self._size:
                    raise IncompatibleStoreError(
                        f"this store holds {self._dim}-d vectors, not {dim}-d; "
                        "use the embedder that filled it or another --store-path"
                    )
                # Still empty: the recorded embedder decides the dimension.
                self._dim = dim
                self._vectors = np.zeros((0, dim), np.float32)
                self._ids = np.zeros(0, np.int64)
                self._codes = np.zeros(0, np.int32)
            self._metadata = dict(metadata)

    def close(self) -> None:
        """Release the arrays; later calls raise :class:`StoreError`."""
        with self._lock:
            self._closed = True
            self._vectors = np.zeros((0, self._dim or 0), np.float32)
            self._payloads = []
            self._size = 0

    def __repr__(self) -> str:
        return f"MemoryVectorStore(dim={self._dim}, count={self._size})"
