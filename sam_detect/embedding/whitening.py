# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Whitening learned from generic objects: what makes two objects' vectors tell them apart.

A pretrained network's pooled features share a large common component (every crop is "an
object"), and a few directions carry most of the variance between crops. Centring on the mean
of generic objects and scaling each direction by the inverse square root of its variance (a
covariance shrunk towards its average variance, so the few hundred generic objects can estimate
it) spends the cosine similarity on what differs between objects.

The covariance of ``n`` generic objects has rank ``r < n``, so the shrunk inverse square root is
a constant (``floor``) on every other direction: stored as the mean, the ``r`` leading directions
and their factors relative to the floor (about 0.5 MB for 1280-d vectors), applied in
``O(d r)`` per vector.

Example:
    >>> rng = np.random.default_rng(0)
    >>> generic = rng.normal(size=(50, 8)) * np.r_[10, 1, 1, 1, 1, 1, 1, 1]
    >>> white = Whitening.fit(generic, shrink=0.5)
    >>> out = white(generic)
    >>> out.shape, bool(np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5))
    ((50, 8), True)
    >>> before, after = generic.std(axis=0), out.std(axis=0)
    >>> # the dominant direction dominates far less
    >>> bool(after[0] / after[1:].mean() < before[0] / before[1:].mean() / 2)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sam_detect.embedding.base import l2_normalise


@dataclass(frozen=True)
class Whitening:
    """``x -> l2(floor * (x - mean) + B diag(gains) B^T (x - mean))``, up to scale.

    Attributes:
        mean: ``(d,)`` the generic objects' mean.
        basis: ``(d, r)`` orthonormal leading directions of their covariance.
        gains: ``(r,)`` each direction's factor divided by the floor's, minus one.
    """

    mean: np.ndarray
    basis: np.ndarray
    gains: np.ndarray

    def __post_init__(self) -> None:
        # C-contiguous float32, and the transpose kept as its own contiguous copy: a product
        # with a transposed (Fortran-ordered) float32 matrix took ~20 ms instead of 0.1 here
        for name in ("mean", "basis", "gains"):
            object.__setattr__(self, name,
                               np.ascontiguousarray(getattr(self, name), dtype=np.float32))
        object.__setattr__(self, "_basis_t", np.ascontiguousarray(self.basis.T))

    @classmethod
    def fit(cls, vectors: np.ndarray, shrink: float) -> Whitening:
        """Fit on ``(n, d)`` vectors of generic objects, shrinking the covariance by ``shrink``.

        The shrunk covariance is ``(1 - shrink) C + shrink * mean(diag(C)) I``.
        """
        if not 0.0 < shrink <= 1.0:
            raise ValueError(f"shrink must be in (0, 1], got {shrink}")
        vectors = np.asarray(vectors, np.float64)
        mean = vectors.mean(axis=0)
        centred = vectors - mean
        # the covariance's eigenvectors from the SVD of the centred data: rank <= n - 1
        _, singular, right = np.linalg.svd(centred, full_matrices=False)
        variances = singular ** 2 / max(1, len(vectors) - 1)
        keep = variances > variances.max() * 1e-9
        variances, basis = variances[keep], right[keep].T
        average = float((centred ** 2).sum() / max(1, len(vectors) - 1) / vectors.shape[1])
        floor = shrink * average
        gains = np.sqrt(floor / ((1 - shrink) * variances + floor)) - 1.0
        return cls(mean.astype(np.float32), basis.astype(np.float32), gains.astype(np.float32))

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        """Return the whitened, L2-normalised ``(n, d)`` rows."""
        centred = np.asarray(vectors, np.float32) - self.mean
        return l2_normalise(centred + ((centred @ self.basis) * self.gains) @ self._basis_t)

    def save(self, path: str | Path) -> None:
        """Write the whitening to an ``.npz`` file (the basis as float16: ~0.5 MB at 1280-d)."""
        np.savez_compressed(path, mean=self.mean, basis=self.basis.astype(np.float16),
                            gains=self.gains)

    @classmethod
    def load(cls, path: str | Path) -> Whitening:
        """Read a whitening written by :meth:`save`."""
        with np.load(path) as data:
            return cls(data["mean"].astype(np.float32), data["basis"].astype(np.float32),
                       data["gains"].astype(np.float32))


__all__ = ["Whitening"]
