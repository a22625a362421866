# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The embedding stage's contract."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns faded crops into L2-normalised vectors.

    Attributes:
        name: Stable identifier recorded in the store (e.g. ``"average-v1"``,
            ``"clip:openai/clip-vit-base-patch32"``); a store refuses vectors of another name.
        dim: Length of each vector.
        unknown_threshold: Default cosine similarity below which a match is "unknown"; depends on
            how spread this embedder's similarities are.
    """

    name: str
    dim: int
    unknown_threshold: float

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """Return an ``(n, dim)`` float32 array of unit vectors for ``n`` RGB ``uint8`` crops."""
        ...


def l2_normalise(vectors: Any) -> np.ndarray:
    """Return ``vectors`` as float32 rows of unit length (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
