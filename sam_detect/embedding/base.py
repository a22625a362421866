# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The embedding stage's contract."""

from __future__ import annotations

import uuid
from typing import Any, Protocol, Sequence, runtime_checkable

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


# Payload keys of an example stored as several views (teaching-time augmentation).
VIEW_KEY = "view"  # the view's name; ORIGINAL_VIEW for the crop as taught
EXAMPLE_KEY = "example"  # one id shared by every view of one taught crop
ORIGINAL_VIEW = "original"


def expand_views(vectors: np.ndarray, views: Sequence[str],
                 payloads: Sequence[dict[str, Any]]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Return one row and one payload per view of each taught example.

    Args:
        vectors: ``(n, v, d)``: ``n`` examples, ``v`` views each (:meth:`embed_views`).
        views: The ``v`` view names, ``"original"`` first.
        payloads: One payload per example; each view's copy gains :data:`VIEW_KEY` and
            :data:`EXAMPLE_KEY` (a fresh id per example), so other code can tell an example's
            views apart from other examples (count examples, leave one example out).

    Example:
        >>> rows, marks = expand_views(np.ones((1, 2, 3)), ("original", "mirror"), [{"a": 1}])
        >>> rows.shape, [(m["a"], m["view"]) for m in marks]
        ((2, 3), [(1, 'original'), (1, 'mirror')])
        >>> marks[0]["example"] == marks[1]["example"]
        True
    """
    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim != 3 or vectors.shape[1] != len(views) or len(payloads) != len(vectors):
        raise ValueError(f"need (examples, {len(views)} views, dim) vectors and one payload per "
                         f"example, got {vectors.shape} and {len(payloads)}")
    marked = []
    for payload in payloads:
        example = uuid.uuid4().hex
        marked += [{**(payload or {}), VIEW_KEY: view, EXAMPLE_KEY: example} for view in views]
    return vectors.reshape(-1, vectors.shape[-1]), marked


def example_count(store: Any, label: str) -> int:
    """Return how many examples of ``label`` a vector store holds, each example's views once.

    What a user is told when a label is forgotten: the examples taught, not the vectors
    (an example taught with teaching-time views is several rows).
    """
    return sum(1 for example in store.list_examples(label=label)
               if example.payload.get(VIEW_KEY, ORIGINAL_VIEW) == ORIGINAL_VIEW)


def forget_label(store: Any, label: str) -> int:
    """Remove every row of ``label`` from a vector store; return how many examples it had."""
    examples = example_count(store, label)
    return examples if store.remove(label=label) else 0


def example_counts(store: Any) -> dict[str, int]:
    """Return ``{label: stored examples}`` of a vector store, each example's views counted once.

    The store's own counts are vectors; the views of an example taught with teaching-time views
    (payload :data:`VIEW_KEY` other than ``"original"``) are subtracted, which takes one pass
    over the payloads when the store holds any label.
    """
    counts = dict(store.labels())
    if not counts:
        return counts
    for example in store.list_examples():
        if example.payload.get(VIEW_KEY, ORIGINAL_VIEW) != ORIGINAL_VIEW:
            counts[example.label] = counts.get(example.label, 0) - 1
    return counts
