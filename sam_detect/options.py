# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""One description of a whole detector, shared by the CLI, the ROS node and future front ends.

:class:`DetectorOptions` holds every choice a user makes by name (segmenter, embedder, fade, store,
k-NN) and :meth:`DetectorOptions.build` turns it into a :class:`~sam_detect.SAMDetect`, so the CLI
flags and the ROS parameters cannot drift apart.

Example:
    >>> options = DetectorOptions(embedder="average", store="memory", fade="gaussian", sigma=15)
    >>> detector = options.build()
    >>> detector.fade_strategy, detector.embedder.name
    (GaussianFade(sigma=15.0, min_fade=0.05), 'average-v1')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from sam_detect.errors import SamDetectError


@dataclass
class DetectorOptions:
    """Everything that configures a detector, by name.

    ``None`` means "the stage's own default". See ``sam-detect --help`` or ``config/detect.yaml``
    for each option's meaning.
    """

    segmenter: str = "auto"
    sam_model: str | None = None
    points_per_side: int | None = None
    embedder: str = "auto"
    clip_model: str | None = None
    device: str = "auto"
    precision: str | None = None
    compile: bool | None = None
    tensorrt: bool | None = None
    max_instances: int | None = None
    fade: str = "hard_crop"
    sigma: float | None = None
    min_fade: float | None = None
    max_distance: float | None = None
    decay: float | None = None
    context: float | None = None
    top_k: int = 5
    unknown_threshold: float | None = None
    store: str = "edge"
    store_path: str | None = None
    qdrant_url: str | None = None
    collection: str = "sam_detect"

    @classmethod
    def from_mapping(cls, values: Any) -> DetectorOptions:
        """Take the options from a mapping or namespace that has (at least) these names."""
        get = values.get if isinstance(values, dict) else lambda k, d: getattr(values, k, d)
        return cls(**{name: get(name, default.default)
                      for name, default in cls.__dataclass_fields__.items()})

    def fade_strategy(self) -> Any:
        """Return the fade strategy these options describe."""
        from sam_detect.fading import create_fade

        return create_fade(self.fade, sigma=self.sigma, min_fade=self.min_fade,
                           max_distance=self.max_distance, decay=self.decay,
                           context=self.context)

    def open_store(self) -> Any:
        """Open the vector store: the edge store defaults to :func:`default_store_path`."""
        from sam_detect.vector_store import default_store_path, open_store

        path = self.store_path
        if self.store == "edge":
            path = os.path.expanduser(path) if path else str(default_store_path())
        return open_store(self.store, path=path, url=self.qdrant_url or None,
                          collection=self.collection)

    def build(self, store: Any = None, log: Callable[[str], Any] | None = None) -> Any:
        """Build the :class:`~sam_detect.SAMDetect` (opening the store unless one is given).

        The store is closed again when anything after opening it fails, so a failed start never
        leaves it locked.

        Raises:
            SamDetectError: for an invalid option, a missing extra or a store that cannot be
                opened or was filled by another embedder.
        """
        from sam_detect import SAMDetect
        from sam_detect.embedding import create_embedder
        from sam_detect.segmentation import create_segmenter

        if self.top_k < 1:
            raise SamDetectError(f"top_k must be at least 1, got {self.top_k}")
        if self.unknown_threshold is not None and not -1.0 <= self.unknown_threshold <= 1.0:
            raise SamDetectError("unknown_threshold is a cosine similarity, in [-1, 1]; got "
                                 f"{self.unknown_threshold}")
        acceleration = {"precision": self.precision, "compile": self.compile,
                        "tensorrt": self.tensorrt}
        segmenter_options: dict[str, Any] = {"max_instances": self.max_instances}
        if self.segmenter == "sam2":
            segmenter_options.update(model_size=self.sam_model, device=self.device,
                                     points_per_side=self.points_per_side, **acceleration)
        if self.segmenter in ("auto", "objectness"):
            segmenter_options["device"] = self.device
        segmenter = create_segmenter(self.segmenter, **segmenter_options)
        fade = self.fade_strategy()
        store = store if store is not None else self.open_store()
        try:
            saved = store.get_metadata() or {}
            embedder = create_embedder(
                self.embedder, device=self.device, model_name=self.clip_model,
                preferred=saved.get("name"), log=log,
                **{k: v for k, v in acceleration.items() if v is not None})
            return SAMDetect(segmenter=segmenter, embedder=embedder, fade_strategy=fade,
                             vector_store=store, default_top_k=self.top_k,
                             unknown_threshold=self.unknown_threshold)
        except BaseException:
            store.close()
            raise
