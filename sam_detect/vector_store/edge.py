# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The embedded, persistent vector store: a Qdrant Edge shard in a local directory.

On-disk layout of a store at ``PATH``::

    PATH/shard/                 the qdrant-edge shard (WAL, segments, edge_config.json)
    PATH/sam_detect_store.json  {"format": 1, "kind": "edge", "dim": D, "next_id": N,
                                 "metadata": {...} | null}
    PATH/sam_detect_store.lock  flock()-ed while a process has the store open

Durability: every write goes to the shard's write-ahead log (always on: without it there is no
lock and a second writer corrupts the shard), and the shard is flushed after each ``add`` and
``remove``. A process killed with SIGKILL right after ``add`` returns loses nothing; the WAL alone
already replays every point on the next open. The JSON file is replaced atomically (temporary file,
fsync, ``os.replace``).

A full disk is refused before it is touched: opening, creating and every write first check the
free space against what they need (:mod:`sam_detect.vector_store.disk_space`), because a write
through the shard's memory maps that the disk cannot back kills the process with SIGBUS. A store
refused for space stays readable by a process that has it open.

One process at a time: the store is locked while open (our flock plus the WAL's own lock), so a CLI
cannot write to a store that a running ROS node holds; the second open raises :class:`StoreError`.

Ids are unsigned integers, increasing and never reused: on open the largest stored id is found by
bisecting the id-ordered scroll, and ``next_id`` is saved whenever points are removed (also by
an ``add`` that failed midway and removed what it had written: a call that raises stores nothing).

Search is exact (brute force inside the shard) until :meth:`EdgeVectorStore.optimize` builds an
HNSW graph, and stays exact for segments below ~10k vectors, where brute force takes under
~0.6 ms (512-d) and keeps recall at 1. Optimizing holds the GIL for seconds (16-32 s at 100k
512-d on 2 cores), so it never runs implicitly; call it from a maintenance command, not from a
live node's hot path. After it, 100k vectors answer in ~0.3 ms with recall@5 ~0.996.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from sam_detect.errors import IncompatibleStoreError, StoreError
from sam_detect.results import Neighbour
from sam_detect.vector_store.base import (
    check_k, check_remove_args, json_copy, neighbours_from_hits, one_line_error,
    PointId, prepare_examples, prepare_vectors, records_to_examples, scroll_records, StoreBase,
    StoredExample, upload_in_chunks)
from sam_detect.vector_store.disk_space import (
    allocated_bytes,
    allocates_on_read,
    CREATE_BYTES,
    points_bytes,
    require_free,
    unbacked_bytes,
)
from sam_detect.vector_store.folder_kind import require_folder_kind

SHARD_DIR = "shard"
META_FILE = "sam_detect_store.json"
LOCK_FILE = "sam_detect_store.lock"
FORMAT = 1
#: Below this many vectors per segment the shard neither builds nor uses a graph: exact search
#: there is cheap enough (10k 512-d: ~0.55 ms) and never misses a neighbour.
EXACT_BELOW = 10_000
HNSW_M = 16
HNSW_EF_CONSTRUCT = 100
UPSERT_CHUNK = 2048
MAX_ID = 2**64 - 1


def _in_use(path: Path) -> StoreError:
    return StoreError(
        f"store at {path} is in use by another process (a running node or CLI); "
        "stop it or use another {store_path}", options=("store_path",)
    )


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def state_problem(state: dict[str, Any]) -> str | None:
    """Return what is wrong with a store file's fields (types, ranges), or None.

    Example:
        >>> state_problem({"format": 1, "dim": 3, "next_id": "abc", "metadata": None})
        "next_id must be a whole number >= 1, got 'abc'"
    """

    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    dim, next_id, metadata = state.get("dim"), state.get("next_id", 1), state.get("metadata")
    if dim is not None and not (whole(dim) and dim >= 1):
        return f"dim must be a whole number >= 1 or null, got {dim!r}"
    if not (whole(next_id) and 1 <= next_id <= MAX_ID + 1):
        return f"next_id must be a whole number >= 1, got {next_id!r}"
    if metadata is not None and not isinstance(metadata, dict):
        return f"metadata must be an object or null, got {type(metadata).__name__}"
    if state.get("kind", "edge") != "edge":
        return f"kind is {state.get('kind')!r}, but this file belongs to an edge store"
    return None


class EdgeVectorStore(StoreBase):
    """Persistent cosine k-NN store backed by an embedded Qdrant Edge shard.

    Args:
        path: Store directory (created if missing); see the module docstring for its layout.
        dim: Vector length. ``None`` takes it from the existing store or from the first
            :meth:`add`; a value that differs from a non-empty store's raises
            :class:`IncompatibleStoreError`.
        hnsw_ef: HNSW search breadth once :meth:`optimize` has built a graph (higher: better
            recall, slower); ``None`` uses the shard default (``ef_construct``, 100).

    Raises:
        StoreError: when the directory cannot be used, or another process has the store open.

    Example:
        >>> import numpy as np, tempfile
        >>> with EdgeVectorStore(tempfile.mkdtemp()) as store:
        ...     ids = store.add(np.eye(3, dtype=np.float32), ["cup", "cup", "pen"])
        ...     hits = store.search(np.array([[0.0, 0.1, 1.0]]), k=2)[0]
        >>> ids, [h.label for h in hits]
        ([1, 2, 3], ['pen', 'cup'])
    """

    def __init__(
        self, path: str | os.PathLike[str], dim: int | None = None, hnsw_ef: int | None = None
    ) -> None:
        import qdrant_edge

        self._qe = qdrant_edge
        self.path = Path(path).expanduser().absolute()
        if dim is not None and (not isinstance(dim, int) or dim < 1):
            raise StoreError(f"dim must be a positive integer, got {dim!r}")
        self.hnsw_ef = hnsw_ef
        self._lock = threading.RLock()
        self._shard: Any = None
        self._lock_fd: int | None = None
        self._closed = False
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"store path {self.path} is a file; give a directory as "
                             "{store_path}", options=("store_path",))
        require_folder_kind(self.path, "edge")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"cannot create store at {self.path}: {one_line_error(exc)}"
            ) from None
        try:
            # flock conflicts between two opens of one file even inside one process.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise _in_use(self.path) from None
        self._lock_fd = fd
        try:
            self._state = self._read_state()
            self._open_shard(dim)
        except BaseException:
            self._release()
            raise

    # -- opening -------------------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        meta_path = self.path / META_FILE
        if not meta_path.exists():
            if (self.path / SHARD_DIR).exists():
                # The file records which embedder filled the shard; guessing it could mix vectors.
                raise StoreError(
                    f"store at {self.path} has its shard but lost {META_FILE}, which records the "
                    "embedder that filled it; restore the file, or move the folder away and teach "
                    "again")
            return {"format": FORMAT, "kind": "edge", "dim": None, "next_id": 1,
                    "metadata": None}
        try:
            state = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"cannot read {meta_path}: {one_line_error(exc)}; "
                "restore it or use another {store_path}", options=("store_path",)
            ) from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise StoreError(f"{meta_path} is not a sam_detect store file (format {FORMAT})")
        problem = state_problem(state)
        if problem:
            raise StoreError(f"{meta_path} is damaged: {problem}; restore it or use another "
                             "{store_path}", options=("store_path",))
        state.setdefault("kind", "edge")
        return state

    def _save_state(self) -> None:
        try:
            _write_json_atomic(self.path / META_FILE, self._state)
        except OSError as exc:
            raise StoreError(
                f"cannot write {self.path / META_FILE}: {one_line_error(exc)}"
            ) from None

    @contextlib.contextmanager
    def _edge_errors(self, action: str) -> Iterator[None]:
        """Turn qdrant-edge's bare exceptions into one-line :class:`StoreError`."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            if "WouldBlock" in str(exc):
                raise _in_use(self.path) from None
            raise StoreError(
                f"cannot {action} the store at {self.path}: {one_line_error(exc)}"
            ) from None

    def _shard_dim(self) -> int | None:
        """Read the vector size from the shard's own config (the JSON file may predate it)."""
        try:
            config = json.loads((self.path / SHARD_DIR / "edge_config.json").read_text())
            return int(config["vectors"][""]["size"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _config(self, dim: int) -> Any:
        qe = self._qe
        threshold_kb = max(1, EXACT_BELOW * dim * 4 // 1024)
        return qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine),
            hnsw_config=qe.HnswIndexConfig(
                m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=threshold_kb
            ),
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=threshold_kb),
        )

    def _open_shard(self, dim: int | None) -> None:
        shard_path = self.path / SHARD_DIR
        if (shard_path / "edge_config.json").exists():
            # Loading reads the vector chunks and payload index through maps: on tmpfs, that
            # allocates every hole in them, and a hole that cannot be backed is a SIGBUS.
            need = 0
            if allocates_on_read(shard_path):
                need = unbacked_bytes(shard_path, skip=("wal", "payload_storage"))
            require_free(self.path, need, self.path)
            with self._edge_errors("open"):
                self._shard = self._qe.EdgeShard.load(str(shard_path))
            self._state["dim"] = self._shard_dim() or self._state.get("dim")
            self._state["next_id"] = max(int(self._state.get("next_id") or 1), self._max_id() + 1)
            if dim is not None and dim != self._state["dim"]:
                self._recreate(dim)
        elif dim is not None or self._state.get("dim"):
            self._recreate(dim or self._state["dim"])

    def _recreate(self, dim: int) -> None:
        """(Re)create an empty shard for ``dim``-d vectors; refuse if it holds examples."""
        if self._shard is not None:
            if self._count():
                raise IncompatibleStoreError(
                    f"this store holds {self._state['dim']}-d vectors, not {dim}-d; "
                    "use the embedder that filled it or another {store_path}",
                    options=("store_path",)
                )
            with self._edge_errors("close"):
                self._shard.close()
            self._shard = None
        shard_path = self.path / SHARD_DIR
        require_free(self.path, CREATE_BYTES, self.path)
        shutil.rmtree(shard_path, ignore_errors=True)
        # Record the dim first: a crash after this line reopens as an empty store of that dim.
        self._state["dim"] = dim
        self._save_state()
        with self._edge_errors("create"):
            self._shard = self._qe.EdgeShard.create(str(shard_path), self._config(dim))
            self._shard.update(
                self._qe.UpdateOperation.create_field_index(
                    "label", self._qe.PayloadSchemaType.Keyword
                )
            )
            self._shard.flush()

    def _max_id(self) -> int:
        """Return the largest stored id (0 if none) by bisecting the id-ordered scroll."""
        qe = self._qe
        lo, hi = 0, MAX_ID  # invariant: no id >= hi, every id < lo has been passed
        with self._edge_errors("read"):
            while lo < hi:
                mid = (lo + hi) // 2
                records, _ = self._shard.scroll(
                    qe.ScrollRequest(offset=mid, limit=1, with_payload=False, with_vector=False)
                )
                if records:
                    lo = int(records[0].id) + 1
                else:
                    hi = mid
        return lo - 1 if lo else 0

    # -- the VectorStore protocol --------------------------------------------------------------

    @property
    def dim(self) -> int | None:
        """Vector length, or ``None`` until the first add (or a ``dim``) fixes it."""
        return self._state.get("dim")

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store at {self.path} is closed; open it again")

    def _count(self) -> int:
        if self._shard is None:
            return 0
        with self._edge_errors("count"):
            return int(self._shard.count(self._qe.CountRequest(exact=True)))

    def add(self, vectors: np.ndarray, labels: list[str],
            payloads: list[dict[str, Any]] | None = None) -> list[PointId]:
        """Store ``(n, d)`` vectors with their labels; return their new ids.

        Nothing is written when any vector, label or payload is invalid.
        """
        qe = self._qe
        with self._lock:
            self._check_open()
            array, labels, payloads = prepare_examples(vectors, labels, payloads, self.dim)
            if not len(array):
                return []
            # Checked before anything is written: a write the disk cannot back is a SIGBUS.
            require_free(self.path, points_bytes(array.shape[1], payloads), self.path)
            if self._shard is None:
                self._recreate(array.shape[1])
            start = int(self._state["next_id"])
            ids = list(range(start, start + len(array)))
            rows = array.tolist()  # qdrant-edge takes lists, not ndarrays
            # Claim the ids before writing: even if this add fails and is undone, the next one
            # must not upsert over points it may have left behind.
            self._state["next_id"] = start + len(ids)

            def write(begin: int, end: int) -> None:
                points = [qe.Point(ids[j], rows[j], payloads[j]) for j in range(begin, end)]
                with self._edge_errors("write to"):
                    self._shard.update(qe.UpdateOperation.upsert_points(points))

            def undo(some: list[PointId]) -> None:
                with self._edge_errors("undo a failed write to"):
                    self._shard.update(qe.UpdateOperation.delete_points(some))
                    self._shard.flush()

            def flush() -> None:
                with self._edge_errors("write to"):
                    self._shard.flush()

            try:
                upload_in_chunks(write, undo, ids, UPSERT_CHUNK, finish=flush)
            except BaseException:
                # The reopen bisection cannot see undone ids; save the counter so none is reused.
                with contextlib.suppress(StoreError):
                    self._save_state()
                raise
            return list(ids)

    def _filter(self, label_filter: list[str]) -> Any:
        qe = self._qe
        match = qe.MatchAny([str(x) for x in label_filter])
        return qe.Filter(must=[qe.FieldCondition(key="label", match=match)])

    def search(
        self, vectors: np.ndarray, k: int, label_filter: list[str] | None = None
    ) -> list[list[Neighbour]]:
        """Return, for each query row, up to ``k`` neighbours best first (cosine similarity)."""
        qe = self._qe
        k = check_k(k)
        with self._lock:
            self._check_open()
            queries = prepare_vectors(vectors, self.dim, what="query vectors")
            if self._shard is None or not len(queries) or label_filter == []:
                return [[] for _ in range(len(queries))]
            flt = self._filter(label_filter) if label_filter is not None else None
            params = qe.SearchParams(hnsw_ef=self.hnsw_ef) if self.hnsw_ef else None
            requests = [
                qe.QueryRequest(
                    limit=k,
                    query=qe.Query.Nearest(row),
                    filter=flt,
                    with_payload=True,
                    params=params,
                )
                for row in queries.tolist()
            ]
            with self._edge_errors("search"):
                if len(requests) == 1:
                    batches = [self._shard.query(requests[0])]
                else:
                    batches = self._shard.query_batch(qe.QueryBatchRequest(requests))
        return [neighbours_from_hits(points) for points in batches]

    def remove(self, label: str | None = None, ids: list[PointId] | None = None) -> int:
        """Delete every example of ``label`` and/or the given ids; return how many went."""
        qe = self._qe
        check_remove_args(label, ids)
        with self._lock:
            self._check_open()
            if self._shard is None:
                return 0
            require_free(self.path, 0, self.path)
            before = self._count()
            with self._edge_errors("delete from"):
                if label is not None:
                    match = qe.MatchValue(str(label))
                    flt = qe.Filter(must=[qe.FieldCondition(key="label", match=match)])
                    self._shard.update(qe.UpdateOperation.delete_points_by_filter(flt))
                valid = [
                    int(i)
                    for i in ids or []
                    if isinstance(i, (int, np.integer)) and 0 <= int(i) <= MAX_ID
                ]
                if valid:
                    self._shard.update(qe.UpdateOperation.delete_points(valid))
                self._shard.flush()
            # The bisection on open cannot see removed ids; remember them so none is reused.
            self._save_state()
            return before - self._count()

    def labels(self) -> dict[str, int]:
        """Return ``{label: number of examples}``, sorted by label (keyword index facet)."""
        with self._lock:
            self._check_open()
            total = self._count()
            if not total:
                return {}
            request = self._qe.FacetRequest(key="label", limit=total, exact=True)
            with self._edge_errors("read"):
                hits = self._shard.facet(request).hits
            # Deleted points leave zero-count values in the keyword index until optimized.
            return {
                str(h.value): int(h.count)
                for h in sorted(hits, key=lambda h: str(h.value))
                if h.count
            }

    def _examples(self, label: str | None, ids: list[PointId] | None,
                  limit: int | None, with_vectors: bool = False) -> list[StoredExample]:
        """Return stored examples by increasing id (under the lock)."""
        qe = self._qe
        if self._shard is None:
            return []
        with self._edge_errors("read"):
            if ids is not None:
                valid = sorted({int(i) for i in ids
                                if isinstance(i, (int, np.integer)) and 0 <= int(i) <= MAX_ID})
                records = self._shard.retrieve(valid, with_payload=True, with_vector=with_vectors)
                return records_to_examples(sorted(records, key=lambda r: int(r.id)), int,
                                           label, limit)
            flt = None if label is None else self._filter([label])
            records = scroll_records(lambda offset, page: self._shard.scroll(
                qe.ScrollRequest(offset=offset, limit=page, filter=flt, with_payload=True,
                                 with_vector=with_vectors)), limit)
        return records_to_examples(records, int)

    def _set_label(self, ids: list[PointId], label: str) -> None:
        """Write ``label`` into the payloads of the stored examples ``ids`` (under the lock)."""
        require_free(self.path, 0, self.path)  # a payload write through memory maps too
        with self._edge_errors("update"):
            self._shard.update(self._qe.UpdateOperation.set_payload(ids, {"label": label}))
            self._shard.flush()

    def count(self) -> int:
        """Return the total number of stored examples."""
        with self._lock:
            self._check_open()
            return self._count()

    def get_metadata(self) -> dict[str, Any] | None:
        """Return the embedder record saved with :meth:`set_metadata`, or ``None``."""
        with self._lock:
            self._check_open()
            metadata = self._state.get("metadata")
            return None if metadata is None else dict(metadata)

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Persist the embedder record (``name``, ``dim``, ``fade``...) atomically.

        An empty store takes ``metadata["dim"]`` as its dimension (recreating its empty shard).

        Raises:
            IncompatibleStoreError: when ``metadata["dim"]`` differs from the stored vectors'.
        """
        with self._lock:
            self._check_open()
            record = json_copy(metadata, "store metadata")
            dim = record.get("dim")
            if isinstance(dim, int) and dim > 0 and dim != self.dim:
                self._recreate(dim)
            self._state["metadata"] = record
            self._save_state()

    def optimize(self) -> bool:
        """Build the HNSW index of large segments now; return whether anything changed.

        Blocks every Python thread until done (seconds at 100k vectors): run it from a
        maintenance command, never on a live node's hot path. Segments under ~10k vectors stay
        brute force, which is faster there.
        """
        with self._lock:
            self._check_open()
            if self._shard is None:
                return False
            # Optimizing writes new segments beside the old ones before dropping them.
            require_free(self.path, allocated_bytes(self.path / SHARD_DIR / "segments"),
                         self.path)
            with self._edge_errors("optimize"):
                changed = bool(self._shard.optimize())
                self._shard.flush()
            return changed

    def close(self) -> None:
        """Flush, save the id counter, and release the shard and the lock (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._shard is not None:
                    with self._edge_errors("close"):
                        self._shard.flush()
                        self._shard.close()
                    self._shard = None
                self._save_state()
            finally:
                self._release()

    def _release(self) -> None:
        if self._shard is not None:
            with contextlib.suppress(Exception):
                self._shard.close()
            self._shard = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    def __repr__(self) -> str:
        return f"EdgeVectorStore({str(self.path)!r}, dim={self.dim})"
