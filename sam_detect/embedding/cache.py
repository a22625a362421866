# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A least-recently-used cache of crop embeddings (``embedding_cache_size``).

A static camera, a re-run over the same images or an object taught from a frame that is then
detected again hands the embedder the very same faded crop. The cache keys each crop by a hash of
its bytes, shape and dtype together with the embedder's name, so a repeated crop skips the
embedder, and vectors of two embedders never mix.

Example:
    >>> import numpy as np
    >>> from sam_detect.embedding import AverageEmbedder
    >>> cache, embedder = EmbeddingCache(100), AverageEmbedder()
    >>> crop = np.full((8, 8, 3), 200, np.uint8)
    >>> first = cache.embed([crop], embedder)
    >>> again = cache.embed([crop.copy()], embedder)
    >>> (cache.hits, cache.misses), bool((first == again).all())
    ((1, 1), True)
"""

from __future__ import annotations

import collections
import hashlib
import threading
from typing import Any, Sequence

import numpy as np


def crop_key(crop: np.ndarray, embedder_name: str) -> bytes:
    """Return the cache key of ``crop`` for the embedder called ``embedder_name``."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(embedder_name.encode())
    digest.update(repr((crop.shape, crop.dtype.str)).encode())
    digest.update(np.ascontiguousarray(crop).data)
    return digest.digest()


class EmbeddingCache:
    """LRU cache of crop embeddings, shared by every thread that embeds.

    Args:
        capacity: Embeddings kept; the least recently used go first. 0 disables the cache.

    Attributes:
        hits: Crops answered from the cache.
        misses: Crops the embedder had to run on.
    """

    def __init__(self, capacity: int = 0) -> None:
        self._entries: collections.OrderedDict[bytes, np.ndarray] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.capacity = 0
        self.hits = 0
        self.misses = 0
        self.resize(capacity)

    def __len__(self) -> int:
        """Return the number of cached embeddings."""
        return len(self._entries)

    def resize(self, capacity: int) -> None:
        """Keep at most ``capacity`` embeddings from now on (0: none), dropping the oldest."""
        with self._lock:
            self.capacity = max(0, int(capacity))
            self._trim()

    def clear(self) -> None:
        """Forget every cached embedding (the counters stay)."""
        with self._lock:
            self._entries.clear()

    def stats(self) -> dict[str, int]:
        """Return ``size``, ``capacity``, ``hits`` and ``misses``."""
        with self._lock:
            return {"size": len(self._entries), "capacity": self.capacity, "hits": self.hits,
                    "misses": self.misses}

    def embed(self, crops: Sequence[np.ndarray], embedder: Any) -> np.ndarray:
        """Return the ``(n, dim)`` embeddings of ``crops``; only uncached crops are embedded.

        The missing crops go to ``embedder.embed`` in one batch, in their order.
        """
        if self.capacity == 0:
            return embedder.embed(list(crops))
        keys = [crop_key(crop, embedder.name) for crop in crops]
        found: dict[int, np.ndarray] = {}
        with self._lock:
            for index, key in enumerate(keys):
                vector = self._entries.get(key)
                if vector is not None:
                    self._entries.move_to_end(key)
                    found[index] = vector
            self.hits += len(found)
            self.misses += len(keys) - len(found)
        missing = [index for index in range(len(keys)) if index not in found]
        # The embedder runs outside the lock: other threads keep reading the cache meanwhile.
        computed = embedder.embed([crops[index] for index in missing]) if missing else None
        rows = np.empty((len(keys), int(embedder.dim)), np.float32)
        for index, vector in found.items():
            rows[index] = vector
        if computed is not None:
            rows[missing] = computed
            with self._lock:
                for index, vector in zip(missing, rows[missing]):
                    self._entries[keys[index]] = vector.copy()
                    self._entries.move_to_end(keys[index])
                self._trim()
        return rows

    def _trim(self) -> None:
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
