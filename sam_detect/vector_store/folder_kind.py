# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Which kind of store a folder holds, so two kinds never share one unnoticed.

An edge store says so in its ``sam_detect_store.json`` (``"kind": "edge"``; files written before
that key are recognised by the file itself) and keeps its shard in ``shard/``. qdrant-client's
local mode (``--store qdrant --store-path DIR``) leaves ``meta.json`` and ``collection/``. Opening
a folder as one kind when it holds the other used to report an empty store and then write a
second store beside the first; now it is refused with a line that names the right ``--store``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sam_detect.errors import StoreError

EDGE_MARKERS = ("sam_detect_store.json", "shard/edge_config.json")
QDRANT_LOCAL_MARKERS = ("meta.json", "collection")

__all__ = ["folder_kind", "require_folder_kind"]


def folder_kind(path: str | os.PathLike[str]) -> str | None:
    """Return ``"edge"``, ``"qdrant"`` (qdrant-client local mode) or ``None`` for ``path``.

    ``None`` means neither kind's files are there (a new or unrelated folder).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> folder_kind(folder), (folder / "meta.json").write_text("{}") and folder_kind(folder)
        (None, 'qdrant')
    """
    folder = Path(path)
    if any((folder / marker).exists() for marker in EDGE_MARKERS):
        return "edge"
    if (folder / "meta.json").is_file() or (folder / "collection").is_dir():
        return "qdrant"
    return None


def require_folder_kind(path: str | os.PathLike[str], kind: str) -> None:
    """Raise :class:`StoreError` when ``path`` holds a store of another kind than ``kind``."""
    found = folder_kind(path)
    if found is None or found == kind:
        return
    described = {"edge": "an edge store (sam_detect_store.json, shard/)",
                 "qdrant": "a qdrant-client local store (meta.json, collection/)"}
    raise StoreError(
        f"{path} holds {described[found]}, not a {kind} store; open it with {{store}} {found}, "
        "or give another {store_path}", options=("store", "store_path"))
