# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A vector store in a Qdrant server, Qdrant Cloud or cluster, through ``qdrant-client``.

Give ``url`` (or set ``QDRANT_URL``; ``QDRANT_API_KEY`` supplies the key) to use a server, which
several processes (a ROS node and a CLI) can share. ``path=DIR`` or ``path=":memory:"`` runs
qdrant-client's local mode instead: a pure-Python re-implementation, slow beyond a few thousand
vectors and usable by one process at a time, kept as a stand-in for a server in tests.

Layout in Qdrant: one collection (default ``sam_detect``) with a single unnamed cosine vector, a
keyword payload index on ``label`` (so :meth:`QdrantVectorStore.labels` is a facet query), and
point ids that are random UUIDs, because several writers may share a server. The embedder record
is kept in the collection's own metadata under the ``"sam_detect"`` key, which needs Qdrant
>= 1.16; an older server that drops it is reported as a :class:`StoreError`, never ignored.

The store creates its collection when missing but never deletes one, not even an empty one of
another dimension: on a shared server it may be another process's, about to be filled.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
import warnings
from typing import Any, Iterator

import numpy as np

from sam_detect.errors import IncompatibleStoreError, StoreError
from sam_detect.results import Neighbour
from sam_detect.vector_store.base import (
    check_k, check_remove_args, json_copy, neighbours_from_hits, one_line_error,
    PointId, prepare_examples, prepare_vectors, records_to_examples, scroll_records, StoreBase,
    StoredExample, upload_in_chunks)
from sam_detect.vector_store.folder_kind import require_folder_kind
from sam_detect.vector_store.redact import redact_text, redact_url

DEFAULT_URL = "http://localhost:6333"
METADATA_KEY = "sam_detect"
UPSERT_CHUNK = 256


class QdrantVectorStore(StoreBase):
    """Cosine k-NN store in a Qdrant collection (server, cloud, or qdrant-client local mode).

    Args:
        url: Server URL, e.g. ``http://localhost:6333``; defaults to ``$QDRANT_URL``, then
            ``http://localhost:6333``. Ignored when ``path`` is given.
        path: A directory (or ``":memory:"``) for qdrant-client's local mode instead of a server.
        collection_name: Collection to use; created on the first add (or now, when ``dim`` is
            known).
        api_key: API key for Qdrant Cloud; defaults to ``$QDRANT_API_KEY``.
        dim: Vector length; ``None`` takes it from the collection or the first add.
        timeout: Seconds to wait for the server on each request (and for the check at open).

    Raises:
        StoreError: when the server cannot be reached, refuses the key, or the local path is
            in use by another process.

    Example:
        >>> import numpy as np
        >>> store = QdrantVectorStore(path=":memory:")
        >>> _ = store.add(np.eye(3, dtype=np.float32), ["cup", "cup", "pen"])
        >>> [h.label for h in store.search(np.array([[0.0, 0.1, 1.0]]), k=2)[0]]
        ['pen', 'cup']
        >>> store.labels()
        {'cup': 2, 'pen': 1}
    """

    def __init__(
        self,
        url: str | None = None,
        path: str | os.PathLike[str] | None = None,
        collection_name: str = "sam_detect",
        api_key: str | None = None,
        dim: int | None = None,
        timeout: float = 5.0,
    ) -> None:
        from qdrant_client import QdrantClient, models

        self._models = models
        if dim is not None and (not isinstance(dim, int) or dim < 1):
            raise StoreError(f"dim must be a positive integer, got {dim!r}")
        if not collection_name or not isinstance(collection_name, str):
            raise StoreError("the Qdrant collection name is empty; give {collection}",
                             options=("collection",))
        self.collection_name = collection_name
        self.local = path is not None
        self.url = None if self.local else (url or os.environ.get("QDRANT_URL") or DEFAULT_URL)
        self.where = str(path) if self.local else redact_url(self.url)
        # Credentials in the URL or the key must not reach a message, even inside a client error.
        key = api_key or os.environ.get("QDRANT_API_KEY") or ""
        self._hide = lambda text: redact_text(text, self.url, [key])
        self._lock = threading.RLock()
        self._closed = False
        self._dim: int | None = None
        self._pending_metadata: dict[str, Any] | None = None
        if self.local and str(path) != ":memory:":
            require_folder_kind(path, "qdrant")
        try:
            if self.local:
                if str(path) == ":memory:":
                    self._client = QdrantClient(location=":memory:")
                else:
                    self._client = QdrantClient(path=str(path))
            else:
                self._client = QdrantClient(
                    url=self.url,
                    api_key=api_key or os.environ.get("QDRANT_API_KEY") or None,
                    timeout=max(1, int(round(timeout))),
                    check_compatibility=False,
                )
        except RuntimeError as exc:
            if "already accessed" in str(exc):
                raise StoreError(
                    f"store at {path} is in use by another process (a running node or CLI); "
                    "stop it or use another {store_path}", options=("store_path",)
                ) from None
            raise StoreError(
                f"cannot open Qdrant store at {self.where}: {self._hide(one_line_error(exc))}"
            ) from None
        except Exception as exc:  # bad URL syntax, unreadable local files
            raise StoreError(
                f"cannot open Qdrant store at {self.where}: {self._hide(one_line_error(exc))}"
            ) from None
        try:
            with self._errors("open"):
                # The one round trip at open: fails fast (timeout) when nothing listens at the URL.
                exists = self._client.collection_exists(collection_name)
                if exists:
                    self._dim = self._read_dim()
            if dim is not None and dim != self._dim:
                self._create(dim)
        except BaseException:
            with contextlib.suppress(Exception):
                self._client.close()
            raise

    # -- helpers -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn qdrant-client and network exceptions into one-line :class:`StoreError`."""
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            yield
        except StoreError:
            raise
        except UnexpectedResponse as exc:
            if exc.status_code in (401, 403):
                raise StoreError(
                    f"Qdrant at {self.where} refused the API key; set the environment "
                    "variable QDRANT_API_KEY to a valid key"
                ) from None
            raise StoreError(
                f"Qdrant at {self.where} could not {action} collection "
                f"'{self.collection_name}': {self._hide(one_line_error(exc))}"
            ) from None
        except (ResponseHandlingException, ConnectionError, TimeoutError, OSError) as exc:
            raise StoreError(
                f"cannot reach Qdrant at {self.where}: {self._hide(one_line_error(exc))}; "
                "start it (docker run -p 6333:6333 qdrant/qdrant) or check {qdrant_url}",
                options=("qdrant_url",)
            ) from None
        except Exception as exc:
            raise StoreError(
                f"Qdrant at {self.where} could not {action} collection "
                f"'{self.collection_name}': {self._hide(one_line_error(exc))}"
            ) from None

    def _read_dim(self) -> int:
        info = self._client.get_collection(self.collection_name)
        vectors = info.config.params.vectors
        if not isinstance(vectors, self._models.VectorParams) or (
            vectors.distance != self._models.Distance.COSINE
        ):
            raise StoreError(
                f"collection '{self.collection_name}' at {self.where} is not a single "
                "cosine-vector collection; use another {collection}", options=("collection",)
            )
        return int(vectors.size)

    def _create(self, dim: int) -> None:
        """Create the collection for ``dim``-d vectors unless it exists; never delete one.

        Raises:
            IncompatibleStoreError: when the collection exists for another dimension.
        """
        models = self._models
        with self._errors("create"):
            if self._dim is None and self._client.collection_exists(self.collection_name):
                # Another client created it since we opened (a shared server).
                self._dim = self._read_dim()
            if self._dim is None:
                metadata = self._pending_metadata
                try:
                    self._client.create_collection(
                        self.collection_name,
                        vectors_config=models.VectorParams(
                            size=dim, distance=models.Distance.COSINE
                        ),
                        metadata={METADATA_KEY: metadata} if metadata is not None else None,
                    )
                except Exception:
                    # Another client may have won the race to create it: use theirs.
                    if not self._client.collection_exists(self.collection_name):
                        raise
                    self._dim = self._read_dim()
                else:
                    self._dim = dim
                    with warnings.catch_warnings():
                        # Local mode says payload indexes have no effect there; servers need it.
                        warnings.simplefilter("ignore", UserWarning)
                        self._client.create_payload_index(
                            self.collection_name, "label", models.PayloadSchemaType.KEYWORD
                        )
        if self._dim != dim:
            # Deleting it to start over could race with a writer in another process (count() is
            # 0 now, an add lands, we delete): the user decides, never this store.
            raise IncompatibleStoreError(
                f"collection '{self.collection_name}' at {self.where} holds {self._dim}-d "
                f"vectors, not {dim}-d; use the embedder that filled it or another {{collection}} "
                "(sam_detect never deletes a collection; drop it yourself if nothing uses it)",
                options=("collection",)
            )

    def _saved_metadata(self) -> dict[str, Any] | None:
        if self._dim is None:
            return self._pending_metadata
        info = self._client.get_collection(self.collection_name)
        record = (info.config.metadata or {}).get(METADATA_KEY)
        return dict(record) if isinstance(record, dict) else None

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the Qdrant store at {self.where} is closed; open it again")

    def _count(self) -> int:
        if self._dim is None:
            return 0
        return int(self._client.count(self.collection_name, exact=True).count)

    def _label_filter(self, labels: list[str]) -> Any:
        models = self._models
        condition = models.FieldCondition(
            key="label", match=models.MatchAny(any=[str(x) for x in labels])
        )
        return models.Filter(must=[condition])

    # -- the VectorStore protocol --------------------------------------------------------------

    @property
    def dim(self) -> int | None:
        """Vector length, or ``None`` until the collection exists."""
        return self._dim

    def add(self, vectors: np.ndarray, labels: list[str],
            payloads: list[dict[str, Any]] | None = None) -> list[PointId]:
        """Store ``(n, d)`` vectors with their labels; return their new (UUID string) ids."""
        models = self._models
        with self._lock:
            self._check_open()
            array, labels, payloads = prepare_examples(vectors, labels, payloads, self._dim)
            if not len(array):
                return []
            if self._dim is None:
                self._create(array.shape[1])
            ids = [str(uuid.uuid4()) for _ in range(len(array))]
            rows = array.tolist()

            def write(start: int, stop: int) -> None:
                points = [
                    models.PointStruct(id=ids[j], vector=rows[j], payload=payloads[j])
                    for j in range(start, stop)
                ]
                with self._errors("write to"):
                    self._client.upsert(self.collection_name, points=points, wait=True)

            def undo(some: list[PointId]) -> None:
                with self._errors("undo a failed write to"):
                    self._client.delete(
                        self.collection_name,
                        points_selector=models.PointIdsList(points=some),
                        wait=True,
                    )

            upload_in_chunks(write, undo, ids, UPSERT_CHUNK)
            return list(ids)

    def search(
        self, vectors: np.ndarray, k: int, label_filter: list[str] | None = None
    ) -> list[list[Neighbour]]:
        """Return, for each query row, up to ``k`` neighbours best first (cosine similarity)."""
        models = self._models
        k = check_k(k)
        with self._lock:
            self._check_open()
            queries = prepare_vectors(vectors, self._dim, what="query vectors")
            if self._dim is None or not len(queries) or label_filter == []:
                return [[] for _ in range(len(queries))]
            flt = self._label_filter(label_filter) if label_filter is not None else None
            with self._errors("search"):
                if len(queries) == 1:
                    responses = [
                        self._client.query_points(
                            self.collection_name,
                            query=queries[0].tolist(),
                            limit=k,
                            query_filter=flt,
                            with_payload=True,
                        )
                    ]
                else:
                    requests = [
                        models.QueryRequest(query=row, limit=k, filter=flt, with_payload=True)
                        for row in queries.tolist()
                    ]
                    responses = self._client.query_batch_points(self.collection_name, requests)
        return [neighbours_from_hits(response.points) for response in responses]

    def remove(self, label: str | None = None, ids: list[PointId] | None = None) -> int:
        """Delete every example of ``label`` and/or the given ids; return how many went."""
        models = self._models
        check_remove_args(label, ids)
        with self._lock:
            self._check_open()
            if self._dim is None:
                return 0
            with self._errors("delete from"):
                before = self._count()
                if label is not None:
                    condition = models.FieldCondition(
                        key="label", match=models.MatchValue(value=str(label))
                    )
                    selector = models.FilterSelector(filter=models.Filter(must=[condition]))
                    self._client.delete(self.collection_name, points_selector=selector, wait=True)
                valid = [i for i in ids or [] if _is_uuid(i)]
                if valid:
                    self._client.delete(
                        self.collection_name,
                        points_selector=models.PointIdsList(points=valid),
                        wait=True,
                    )
                return before - self._count()

    def labels(self) -> dict[str, int]:
        """Return ``{label: number of examples}``, sorted by label."""
        with self._lock:
            self._check_open()
            with self._errors("read"):
                total = self._count()
                if not total:
                    return {}
                try:
                    hits = self._client.facet(
                        self.collection_name, "label", limit=total, exact=True
                    ).hits
                    counts = {str(h.value): int(h.count) for h in hits if h.count}
                except Exception:  # servers before facet support (< 1.12): count by scrolling
                    counts = self._scroll_counts()
            return dict(sorted(counts.items()))

    def _scroll_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        offset = None
        while True:
            records, offset = self._client.scroll(
                self.collection_name,
                limit=1024,
                offset=offset,
                with_payload=["label"],
                with_vectors=False,
            )
            for record in records:
                label = str((record.payload or {}).get("label"))
                counts[label] = counts.get(label, 0) + 1
            if offset is None:
                return counts

    def _examples(self, label: str | None, ids: list[PointId] | None,
                  limit: int | None, with_vectors: bool = False) -> list[StoredExample]:
        """Return stored examples in the collection's id order (under the lock)."""
        if self._dim is None:
            return []
        with self._errors("read"):
            if ids is not None:
                valid = list(dict.fromkeys(str(i) for i in ids if _is_uuid(i)))
                records = self._client.retrieve(self.collection_name, valid,
                                                with_payload=True, with_vectors=with_vectors)
                return records_to_examples(records, str, label, limit)
            flt = None if label is None else self._label_filter([label])
            records = scroll_records(lambda offset, page: self._client.scroll(
                self.collection_name, scroll_filter=flt, limit=page, offset=offset,
                with_payload=True, with_vectors=with_vectors), limit)
        return records_to_examples(records, str)

    def _set_label(self, ids: list[PointId], label: str) -> None:
        """Write ``label`` into the payloads of the stored examples ``ids`` (under the lock)."""
        with self._errors("update"):
            self._client.set_payload(self.collection_name, payload={"label": label},
                                     points=ids, wait=True)

    def count(self) -> int:
        """Return the total number of stored examples."""
        with self._lock:
            self._check_open()
            with self._errors("count"):
                return self._count()

    def get_metadata(self) -> dict[str, Any] | None:
        """Return the embedder record from the collection's metadata, or ``None``."""
        with self._lock:
            self._check_open()
            with self._errors("read"):
                return self._saved_metadata()

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Save the embedder record in the collection's metadata.

        A missing collection is created with ``metadata["dim"]`` as its dimension.

        Raises:
            IncompatibleStoreError: when ``metadata["dim"]`` differs from the collection's, even
                an empty one (it is never deleted: another process may be using it).
            StoreError: when the server does not keep collection metadata (Qdrant < 1.16).
        """
        with self._lock:
            self._check_open()
            record = json_copy(metadata, "store metadata")
            dim = record.get("dim")
            self._pending_metadata = record
            if isinstance(dim, int) and dim > 0 and dim != self._dim:
                self._create(dim)
            if self._dim is None:
                return  # kept until the first add creates the collection
            with self._errors("update"):
                self._client.update_collection(
                    self.collection_name, metadata={METADATA_KEY: record}
                )
                saved = self._saved_metadata()
            if saved != record:
                raise StoreError(
                    f"Qdrant at {self.where} did not keep the collection metadata (needs "
                    "Qdrant >= 1.16); upgrade the server"
                )

    def close(self) -> None:
        """Close the client (and release local mode's folder lock); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(Exception):
                self._client.close()

    def __repr__(self) -> str:
        return (
            f"QdrantVectorStore({self.where!r}, collection_name={self.collection_name!r}, "
            f"dim={self._dim})"
        )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
