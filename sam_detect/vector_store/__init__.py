# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Vector stores: where labelled embeddings live and how k-NN queries are answered.

Three backends implement :class:`VectorStore`:

* ``memory`` - :class:`MemoryVectorStore`, exact numpy brute force in the process, nothing saved.
* ``edge`` - :class:`EdgeVectorStore`, an embedded Qdrant Edge shard in a directory; the
  persistent default (:func:`default_store_path`).
* ``qdrant`` - :class:`QdrantVectorStore`, a Qdrant server/cloud via ``qdrant-client`` (the
  ``qdrant`` extra), shareable by several processes.

Example:
    >>> import numpy as np
    >>> store = open_store("memory")
    >>> store.add(np.eye(2, dtype=np.float32), ["cup", "pen"])
    [1, 2]
    >>> store.search(np.array([[1.0, 0.2]]), k=1)[0][0].label
    'cup'
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, TYPE_CHECKING

from sam_detect.errors import MissingDependencyError, SamDetectError, StoreError, require_extra
from sam_detect.options import STORE_KINDS  # the option table's choices
from sam_detect.vector_store.base import StoredExample, VectorStore, check_compatible
from sam_detect.vector_store.memory import MemoryVectorStore

if TYPE_CHECKING:
    from sam_detect.vector_store.edge import EdgeVectorStore
    from sam_detect.vector_store.qdrant import QdrantVectorStore


__all__ = [
    "STORE_KINDS",
    "EdgeVectorStore",
    "MemoryVectorStore",
    "QdrantVectorStore",
    "StoredExample",
    "VectorStore",
    "check_compatible",
    "default_store_path",
    "open_store",
    "store_from_options",
]


def __getattr__(name: str) -> object:
    # The Qdrant backends import their (compiled / HTTP) clients only when used.
    if name == "EdgeVectorStore":
        from sam_detect.vector_store.edge import EdgeVectorStore

        return EdgeVectorStore
    if name == "QdrantVectorStore":
        from sam_detect.vector_store.qdrant import QdrantVectorStore

        return QdrantVectorStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_store_path() -> Path:
    """Return where the persistent store lives when no ``store_path`` is given.

    ``$SAM_DETECT_HOME/store`` if set, else ``$XDG_DATA_HOME/sam_detect/store``, else
    ``~/.local/share/sam_detect/store``.

    Example:
        >>> import os
        >>> os.environ["SAM_DETECT_HOME"] = "/tmp/sd"
        >>> str(default_store_path())
        '/tmp/sd/store'
        >>> del os.environ["SAM_DETECT_HOME"]
    """
    home = os.environ.get("SAM_DETECT_HOME")
    if home:
        return Path(home).expanduser() / "store"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data).expanduser() / "sam_detect" / "store"


def open_store(
    kind: str,
    path: str | os.PathLike[str] | None = None,
    url: str | None = None,
    collection: str = "sam_detect",
    dim: int | None = None,
    api_key: str | None = None,
) -> VectorStore:
    """Open a vector store by name.

    Args:
        kind: ``"memory"``, ``"edge"`` or ``"qdrant"``.
        path: Store directory for ``edge`` (default :func:`default_store_path`); for ``qdrant``,
            a directory or ``":memory:"`` selects qdrant-client's local mode instead of a server.
        url: Qdrant server URL (``qdrant`` only; default ``$QDRANT_URL`` or localhost:6333).
        collection: Qdrant collection name (``qdrant`` only).
        dim: Vector length when known; ``None`` takes it from the store or the first add.
        api_key: Qdrant Cloud key (``qdrant`` only; default ``$QDRANT_API_KEY``).

    Raises:
        SamDetectError: for an unknown ``kind``.
        MissingDependencyError: for ``qdrant`` without qdrant-client (or ``edge`` without
            qdrant-edge-py) installed.
        StoreError: when the store cannot be opened (in use, unreachable...).
    """
    kind = str(kind).strip().lower()
    if kind == "memory":
        return MemoryVectorStore(dim=dim)
    if kind == "edge":
        if importlib.util.find_spec("qdrant_edge") is None:  # a core dependency, not an extra
            raise MissingDependencyError(
                "{store} edge needs the 'qdrant_edge' package: pip install qdrant-edge-py",
                options=("store",)
            )
        from sam_detect.vector_store.edge import EdgeVectorStore

        return EdgeVectorStore(path if path is not None else default_store_path(), dim=dim)
    if kind == "qdrant":
        require_extra("qdrant_client", "qdrant", "{store} qdrant", options=("store",))
        from sam_detect.vector_store.qdrant import QdrantVectorStore

        return QdrantVectorStore(
            url=url, path=path, collection_name=collection, api_key=api_key, dim=dim
        )
    raise SamDetectError(f"unknown store '{kind}'; choose one of: {', '.join(STORE_KINDS)}")


def store_from_options(options: Any) -> VectorStore:
    """Open the store that :class:`~sam_detect.options.DetectorOptions` describe.

    The edge store's folder is ``store_path`` with ``~`` expanded, else
    :func:`default_store_path`; ``qdrant`` takes ``qdrant_url`` (a server) or ``store_path``
    (qdrant-client's local mode), not both.

    Example:
        >>> from sam_detect.options import DetectorOptions
        >>> store_from_options(DetectorOptions(store="memory")).count()
        0

    Raises:
        StoreError: when the options contradict each other or the store cannot be opened.
    """
    path = options.store_path
    if options.store == "edge":
        path = os.path.expanduser(path) if path else str(default_store_path())
    elif options.store == "qdrant" and path is not None and options.qdrant_url is not None:
        raise StoreError("{store} qdrant takes {qdrant_url} (a server) or {store_path} "
                         "(qdrant-client's local mode), not both",
                         options=("store", "qdrant_url", "store_path"))
    return open_store(options.store, path=path, url=options.qdrant_url or None,
                      collection=options.collection)
