# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The vector store's contract.

Stores hold ``(embedding, label, payload)`` examples and answer batched k-NN queries by cosine
similarity. Each store also keeps a small metadata record naming the embedder that filled it
(``name``, ``dim``, fade settings) so that vectors of different embedders are never mixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol, TypeVar, runtime_checkable

import numpy as np

from sam_detect.errors import (
    IncompatibleEmbedderError,
    IncompatibleStoreError,
    OptionError,
    SamDetectError,
    StoreError,
)
from sam_detect.results import Neighbour

PointId = int | str

_Store = TypeVar("_Store", bound="StoreBase")


@runtime_checkable
class VectorStore(Protocol):
    """k-NN storage of labelled embeddings.

    Every implementation is safe to call from several threads at once: each serialises its
    methods with its own lock, so the ROS node may add, search and remove from different
    callbacks without locking around the store. A call that raises has changed nothing: an
    ``add`` that fails midway removes what it already wrote before raising.
    """

    def add(self, vectors: np.ndarray, labels: list[str],
            payloads: list[dict[str, Any]] | None = None) -> list[PointId]:
        """Store ``(n, d)`` unit vectors with their labels; return their new ids."""
        ...

    def search(
        self, vectors: np.ndarray, k: int, label_filter: list[str] | None = None
    ) -> list[list[Neighbour]]:
        """Return, per query row, up to ``k`` neighbours best first (only ``label_filter``)."""
        ...

    def remove(self, label: str | None = None, ids: list[PointId] | None = None) -> int:
        """Delete every example of ``label`` and/or the given ids; return how many were removed."""
        ...

    def labels(self) -> dict[str, int]:
        """Return ``{label: number of examples}``."""
        ...

    def list_examples(
        self,
        label: str | None = None,
        ids: list[PointId] | None = None,
        limit: int | None = None,
        with_vectors: bool = False,
    ) -> list[StoredExample]:
        """Return stored examples (id, label, payload), oldest first where ids grow.

        ``label`` and ``ids`` narrow the list (both: examples matching both); unknown ids are
        skipped. ``limit`` caps the number returned. ``with_vectors`` also returns each
        example's unit vector (what a decision fitted to the store reads).
        """
        ...

    def relabel(self, ids: list[PointId], label: str) -> int:
        """Give the examples ``ids`` the label ``label``; return how many were changed."""
        ...

    def count(self) -> int:
        """Total number of stored examples."""
        ...

    def get_metadata(self) -> dict[str, Any] | None:
        """Return the embedder record saved with :meth:`set_metadata`, or ``None``."""
        ...

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Persist the embedder record (``name``, ``dim``, ``fade``...)."""
        ...

    def close(self) -> None:
        """Flush and release the store (locks, files, connections)."""
        ...


@dataclass(frozen=True)
class StoredExample:
    """One stored example as listed by :meth:`VectorStore.list_examples`.

    Attributes:
        id: The example's id in its store.
        label: Its label.
        payload: Its JSON payload (``"label"`` included).
        vector: Its unit vector when asked for (``with_vectors=True``), else None.
    """

    id: PointId
    label: str
    payload: dict[str, Any] = field(default_factory=dict)
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)


def check_limit(limit: Any) -> int | None:
    """Return ``limit`` as an int or ``None``; raise :class:`SamDetectError` unless >= 0."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
        raise SamDetectError(f"limit must be a whole number >= 0, got {limit!r}")
    return int(limit)


def scroll_records(scroll: Callable[[Any, int], tuple[list[Any], Any]],
                   limit: int | None, page_size: int = 1024) -> list[Any]:
    """Page through a Qdrant scroll (Qdrant Edge's or qdrant-client's) up to ``limit`` records.

    Args:
        scroll: ``scroll(offset, page)`` returns one page of records and the next offset
            (None at the end).
        limit: Most records to return; None for all.
        page_size: Records asked for per call.
    """
    records: list[Any] = []
    offset = None
    while limit is None or len(records) < limit:
        page = page_size if limit is None else min(page_size, limit - len(records))
        batch, offset = scroll(offset, page)
        records.extend(batch)
        if offset is None or not batch:
            break
    return records


def records_to_examples(records: Iterable[Any], id_type: Callable[[Any], PointId],
                        label: str | None = None,
                        limit: int | None = None) -> list[StoredExample]:
    """Turn Qdrant records into :class:`StoredExample` rows: ``label``'s only, ``limit`` at most.

    ``label`` and ``limit`` are for records fetched by id; a scroll filters and pages itself.
    Records fetched with their vectors keep them (as float32 arrays).
    """
    if label is not None:
        records = [r for r in records if (r.payload or {}).get("label") == label]
    examples = [StoredExample(id_type(r.id), str((r.payload or {}).get("label")),
                              dict(r.payload or {}), _record_vector(r))
                for r in records]
    return examples[:limit] if limit is not None else examples


def _record_vector(record: Any) -> np.ndarray | None:
    """Return a Qdrant record's (unnamed) vector as float32, or None when it was not fetched."""
    vector = getattr(record, "vector", None)
    if isinstance(vector, dict):  # named vectors: ours is the unnamed one
        vector = vector.get("", next(iter(vector.values()), None))
    return None if vector is None else np.asarray(vector, np.float32)


def check_compatible(store: VectorStore, metadata: dict[str, Any]) -> list[str]:
    """Make sure ``store`` was filled by the embedder described in ``metadata``; record it if new.

    Returns:
        Warnings for settings that differ but do not make vectors incomparable (e.g. the fade).

    Raises:
        IncompatibleStoreError: when the embedder name or dimension differ.
    """
    saved = store.get_metadata()
    if saved is None or store.count() == 0 and saved.get("name") != metadata.get("name"):
        store.set_metadata(metadata)
        return []
    if saved.get("name") != metadata.get("name") or saved.get("dim") != metadata.get("dim"):
        raise incompatible_embedder(saved, metadata)
    warnings = []
    if saved.get("fade") != metadata.get("fade"):
        warnings.append(
            f"the store was filled with fade {saved.get('fade')} but the detector uses "
            f"{metadata.get('fade')}; similarities may be lower"
        )
    return warnings


def incompatible_embedder(saved: dict[str, Any], metadata: dict[str, Any]) -> OptionError:
    """Return the error for a store filled by another embedder, naming a value that fits it.

    The hint names the embedder kind the ``embedder`` option accepts (``average``, not the
    recorded ``average-v1``), and the CLIP model when there is one; each front end renders the
    option its own way (``--embedder``, the ROS parameter ``embedder``).

    Example:
        >>> error = incompatible_embedder({"name": "average-v1", "dim": 48},
        ...                               {"name": "efficientnet-lite0", "dim": 1280})
        >>> error.render("--embedder")
        "--embedder must be 'average' for this store: it holds 48-d vectors from 'average-v1', \
but the detector uses 'efficientnet-lite0' (1280-d); or use another store"
    """
    from sam_detect.embedding import kind_of

    name = str(saved.get("name"))
    recorded = saved.get("kind")
    kind, model = kind_of(name)
    kind = kind or recorded
    if kind is None:  # an embedder this version does not know: say so rather than guess
        wanted = f"the one named '{name}' (not known to this version)"
    else:
        wanted = f"'{kind}'" + (f" with the CLIP model '{model}'" if model else "")
    return IncompatibleEmbedderError(
        "embedder",
        f"must be {wanted} for this store: it holds {saved.get('dim')}-d vectors from "
        f"'{name}', but the detector uses '{metadata.get('name')}' ({metadata.get('dim')}-d); "
        "or use another store")


def prepare_vectors(vectors: Any, dim: int | None, what: str = "vectors") -> np.ndarray:
    """Return ``vectors`` as float32 ``(n, d)`` unit rows, checked against the store's ``dim``.

    A single 1-D vector is treated as one row. Stores call this before writing anything, so a bad
    batch leaves the store untouched.

    Raises:
        StoreError: when the array is not 1-D/2-D, or holds zero or non-finite rows.
        IncompatibleStoreError: when the row length differs from ``dim``.

    Example:
        >>> prepare_vectors([[3.0, 4.0]], dim=2).round(2)
        array([[0.6, 0.8]], dtype=float32)
    """
    try:
        array = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError):
        raise StoreError(f"{what} must be an (n, d) array of numbers") from None
    if array.size == 0 and array.ndim <= 2:
        return np.zeros((0, dim or 0), np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise StoreError(f"{what} must be an (n, d) array, got shape {np.shape(vectors)}")
    if dim is not None and array.shape[0] and array.shape[1] != dim:
        raise IncompatibleStoreError(
            f"{what} have {array.shape[1]} dimensions but this store holds {dim}-d vectors; "
            "use the embedder that filled it or another {store_path}", options=("store_path",)
        )
    if not np.isfinite(array).all():
        raise StoreError(f"{what} contain NaN or infinite values; check the embedder output")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if (norms < 1e-12).any():
        raise StoreError(f"{what} contain an all-zero row; it has no direction to compare")
    return array / norms


def prepare_examples(
    vectors: Any,
    labels: list[str],
    payloads: list[dict[str, Any]] | None,
    dim: int | None,
) -> tuple[np.ndarray, list[str], list[dict[str, Any]]]:
    """Validate an ``add`` batch; return unit vectors, clean labels and JSON payloads.

    Each payload is a JSON round-tripped copy (so every backend stores the same thing) with
    ``"label"`` set to the example's label.

    Raises:
        InvalidLabelError: for an empty or non-string label.
        StoreError: for mismatched lengths, bad vectors or payloads that are not JSON objects.
        IncompatibleStoreError: when the vector length differs from ``dim``.

    Example:
        >>> v, l, p = prepare_examples([[1.0, 0.0]], [" cup "], [{"src": "a.png"}], dim=None)
        >>> l, p
        (['cup'], [{'src': 'a.png', 'label': 'cup'}])
    """
    from sam_detect.labels import validate_label

    array = prepare_vectors(vectors, dim)
    if isinstance(labels, str):
        raise StoreError("labels must be a list with one label per vector, not a string")
    labels = [validate_label(label) for label in labels]
    if len(labels) != len(array):
        raise StoreError(f"got {len(array)} vectors but {len(labels)} labels; give one per vector")
    if payloads is None:
        payloads = [{} for _ in labels]
    if len(payloads) != len(labels):
        raise StoreError(f"got {len(labels)} labels but {len(payloads)} payloads; give one each")
    clean = []
    for payload, label in zip(payloads, labels):
        if not isinstance(payload, dict):
            raise StoreError(f"each payload must be a dict, got {type(payload).__name__}")
        copy = json_copy(payload, "payload")
        copy["label"] = label
        clean.append(copy)
    return array, labels, clean


def check_k(k: Any) -> int:
    """Return ``k`` as an int, or raise :class:`~sam_detect.errors.SamDetectError` unless >= 1."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise SamDetectError(f"top-k must be a whole number >= 1, got {k!r}")
    return int(k)


def check_remove_args(label: str | None, ids: list[PointId] | None) -> None:
    """Refuse a ``remove`` call that names neither a label nor ids (it would be a no-op)."""
    if label is None and ids is None:
        raise SamDetectError("remove needs a label or a list of ids")


class StoreBase:
    """What every store shares: use as a context manager that closes the store on exit.

    Stores share :meth:`list_examples` (each reads in ``_examples``) and, the Qdrant-backed
    ones (edge, qdrant), :meth:`relabel` (each writes in ``_set_label``).
    """

    def close(self) -> None:
        """Release the store; subclasses override this."""

    def list_examples(self: Any, label: str | None = None, ids: list[PointId] | None = None,
                      limit: int | None = None,
                      with_vectors: bool = False) -> list[StoredExample]:
        """Return stored examples (see the protocol); each store reads them in ``_examples``."""
        limit = check_limit(limit)
        with self._lock:
            self._check_open()
            return [] if limit == 0 else self._examples(label, ids, limit, bool(with_vectors))

    def relabel(self: Any, ids: list[PointId], label: str) -> int:
        """Give the examples ``ids`` the label ``label``; return how many were changed."""
        from sam_detect.labels import validate_label

        label = validate_label(label)
        with self._lock:
            self._check_open()
            present = [e.id for e in self.list_examples(ids=ids)]
            if not present:
                return 0
            self._set_label(present, label)
            return len(present)

    def __enter__(self: _Store) -> _Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def one_line_error(exc: BaseException) -> str:
    r"""Return ``exc``'s message on one line (backends' errors span lines), or its type name.

    Example:
        >>> one_line_error(OSError("disk\n  full")), one_line_error(KeyError())
        ('disk full', 'KeyError')
    """
    return " ".join(str(exc).split()) or type(exc).__name__


def json_copy(value: dict[str, Any], what: str) -> dict[str, Any]:
    """Return a JSON round-tripped copy of ``value``, so every backend stores the same thing.

    Raises:
        StoreError: when ``value`` is not JSON-serialisable (``what`` names it in the message).

    Example:
        >>> json_copy({"box": (1, 2)}, "payload")
        {'box': [1, 2]}
    """
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} is not JSON-serialisable: {exc}") from None


def neighbours_from_hits(hits: Iterable[Any]) -> list[Neighbour]:
    """Turn Qdrant scored points (``.id``, ``.score``, ``.payload``) into neighbours."""
    return [
        Neighbour(
            label=str((hit.payload or {}).get("label")),
            score=float(hit.score),
            id=hit.id,
            payload=dict(hit.payload or {}),
        )
        for hit in hits
    ]


def upload_in_chunks(
    write: Callable[[int, int], None],
    undo: Callable[[list[PointId]], None],
    ids: list[PointId],
    chunk_size: int,
    finish: Callable[[], None] | None = None,
) -> None:
    """Write ``ids`` in chunks, all or nothing: on failure remove what was sent, then re-raise.

    Backends cap the size of one request, so a large ``add`` takes several; without the undo a
    failure in a later chunk would leave the earlier ones stored although the call raised, and a
    retry would store them twice.

    Args:
        write: ``write(start, stop)`` stores the points ``ids[start:stop]``.
        undo: ``undo(some_ids)`` deletes those points (ids that were never stored are ignored).
        ids: The new points' ids, in order.
        chunk_size: Most points per ``write`` call.
        finish: Called once after the last chunk (a flush); if it fails, everything is undone.

    Raises:
        StoreError: when undoing fails too; the message names both errors.

    Example:
        >>> stored = []
        >>> def write(start, stop):
        ...     if start:
        ...         raise OSError("disk full")
        ...     stored.extend(range(start, stop))
        >>> def undo(ids):
        ...     stored[:] = [i for i in stored if i not in ids]
        >>> upload_in_chunks(write, undo, [0, 1, 2], chunk_size=2)
        Traceback (most recent call last):
        OSError: disk full
        >>> stored
        []
    """
    attempted = 0
    try:
        for start in range(0, len(ids), chunk_size):
            # Count the chunk before sending it: a request that times out may still be applied.
            attempted = min(start + chunk_size, len(ids))
            write(start, attempted)
        if finish is not None:
            finish()
    except BaseException as exc:
        try:
            undo(list(ids[:attempted]))
        except Exception as undo_exc:
            raise StoreError(
                f"{one_line_error(exc)}; removing the {attempted} new examples already sent "
                f"also failed ({one_line_error(undo_exc)}), so some of them may remain: check "
                "'sam-detect labels' before adding them again"
            ) from None
        raise
