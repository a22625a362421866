# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The ``SAMDetect`` facade: segment -> fade -> embed -> k-NN, and teaching.

Example:
    >>> import numpy as np
    >>> from sam_detect import SAMDetect
    >>> from sam_detect.embedding import AverageEmbedder
    >>> img = np.full((120, 160, 3), 40, np.uint8)
    >>> img[30:70, 20:60] = (220, 30, 30)
    >>> img[40:80, 100:140] = (30, 30, 220)
    >>> detector = SAMDetect(embedder=AverageEmbedder())
    >>> red = np.zeros((120, 160), bool); red[30:70, 20:60] = True
    >>> ids = detector.add_example(img, "red block", mask=red)
    >>> blue = np.zeros((120, 160), bool); blue[40:80, 100:140] = True
    >>> ids = detector.add_example(img, "blue block", mask=blue)
    >>> sorted((r.label, r.bbox) for r in detector.detect(img))
    [('blue block', (100, 40, 140, 80)), ('red block', (20, 30, 60, 70))]
"""

from __future__ import annotations

import inspect
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import numpy as np

from sam_detect.classifier import (
    BACKGROUND_LABEL, KNNClassifier, Prediction, parameters_for, visible_labels)
from sam_detect.classifier.background import (
    background_boxes, background_masks, refuse_reserved)
from sam_detect.embedding.cache import EmbeddingCache
from sam_detect.errors import InvalidMaskError, OptionError, SamDetectError
from sam_detect.fading import FADES, create_fade, describe_fade, make_faded_crop
from sam_detect.image_io import (
    ImageLike, load_alpha_mask, load_image, validate_label, validate_mask)
from sam_detect.models.blas import one_blas_thread
from sam_detect.options import (
    BY_NAME, FADE_OPTIONS, LIBRARY, options_for, resolve_keywords, STORE_OPTIONS)
from sam_detect.results import Detections, Instance, Neighbour, Segment
from sam_detect.segmentation.base import segment_frame
from sam_detect.visualize import draw_instances

logger = logging.getLogger("sam_detect")

DEFAULT_TOP_K = BY_NAME["top_k"].default


class SAMDetect:
    """Few-shot instance recognition: masks from a segmenter, labels from stored examples.

    Every stage is swappable. With no arguments everything runs offline on the CPU: the
    objectness segmenter (the classical :class:`~sam_detect.segmentation.NaiveSegmenter` without
    the ``efficientnet`` extra), the best offline embedder installed
    (``create_embedder("auto")``), a :class:`~sam_detect.fading.HardCropFade` and an in-memory
    store. Pass an :class:`~sam_detect.vector_store.EdgeVectorStore` (or
    ``QdrantVectorStore``) for examples that persist.

    Every option of :data:`sam_detect.options.OPTIONS` but the store's is also a keyword, as
    the brief shows them::

        SAMDetect(sam_model="sam2_hiera_large", device="cuda", tensorrt_enabled=True,
                  embedding_cache_size=10000, qdrant_batch_size=32, embedding_model="clip-vit-b")

    Args:
        segmenter: A :class:`~sam_detect.segmentation.Segmenter` or a kind (``"naive"``,
            ``"sam2"``); ``sam2`` when only ``sam_model`` is given.
        embedder: An :class:`~sam_detect.embedding.Embedder` or a kind (``"auto"``, ``"average"``,
            ``"efficientnet"``, ``"clip"``); ``embedding_model`` also takes ``"clip-vit-b"``...
        fade_strategy: A :class:`~sam_detect.fading.FadeStrategy` (``fade_config`` is an alias,
            as in the seed's examples); or give ``fade="gaussian", sigma=30``.
        vector_store: A :class:`~sam_detect.vector_store.VectorStore`; a new memory store if None.
        default_top_k: Neighbours fetched per instance (alias of ``top_k``; 5 when None).
        unknown_threshold: The sensitivity of the open-set decision: the cosine similarity floor
            below which an instance is unknown (the embedder's default when None). Above it, a
            label is still only reported when the instance is closer to it than to known
            background and to generic objects (see :mod:`sam_detect.classifier`).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` for models built from a kind.
        channel_order: ``"rgb"``, or ``"bgr"`` for arrays straight from OpenCV (``cv2.imread``,
            ``cv2.VideoCapture``); files and PIL images are always read correctly.
        log: Receives one-line notes, such as which embedder ``"auto"`` chose (default: the
            ``sam_detect`` logger).
        **options: Any other library option by name or alias (``sam_model``,
            ``points_per_side``, ``clip_model``, ``precision``, ``compile``, ``tensorrt``/
            ``tensorrt_enabled``, ``max_instances``, ``fade`` and its parameters, ``top_k``,
            ``embedding_cache_size``, ``qdrant_batch_size``, ``keyframe_interval`` (for
            :meth:`track`: full segmentation every this many frames)...); see
            ``sam-detect --help``.

    Raises:
        OptionError: for an unknown option or a value it cannot take, naming the option.
        IncompatibleStoreError: when the store was filled by another embedder.
    """

    def __init__(
        self,
        segmenter: Any = None,
        embedder: Any = None,
        fade_strategy: Any = None,
        vector_store: Any = None,
        default_top_k: int | None = None,
        unknown_threshold: float | None = None,
        device: str = "auto",
        fade_config: Any = None,
        channel_order: str = "rgb",
        log: Callable[[str], Any] | None = None,
        **options: Any,
    ) -> None:
        from sam_detect.vector_store import MemoryVectorStore, check_compatible

        if channel_order not in ("rgb", "bgr"):
            raise SamDetectError(f"channel_order must be 'rgb' or 'bgr', got '{channel_order}'")
        named = {"device": device, "unknown_threshold": unknown_threshold}
        if default_top_k is not None:
            named["default_top_k"] = default_top_k
        for name, stage in (("segmenter", segmenter), ("embedder", embedder)):
            if isinstance(stage, str):
                named[name] = stage
        given = resolve_keywords({**named, **options}, FACADE_OPTIONS, refused=(
            "is not a SAMDetect keyword; pass vector_store=sam_detect.vector_store.open_store"
            "(...)"))
        self.options: dict[str, Any] = {name: BY_NAME[name].default for name in FACADE_OPTIONS}
        self.options.update(given)
        self.channel_order = channel_order
        _refuse_for_built_stages(given, segmenter, embedder, fade_strategy or fade_config)
        self.vector_store = vector_store if vector_store is not None else MemoryVectorStore()
        if segmenter is None or isinstance(segmenter, str):
            if "segmenter" not in given and given.get("sam_model") is not None:
                self.options["segmenter"] = "sam2"  # the brief's SAMDetect(sam_model=...)
            segmenter = _build_segmenter(self.options)
        self.segmenter = segmenter
        if embedder is None or isinstance(embedder, str):
            saved = self.vector_store.get_metadata() or {}
            embedder = _build_embedder(self.options, saved.get("name"), log or logger.info)
        self.embedder = embedder
        if self.options["frame_features"]:
            _share_frame_features(segmenter, embedder)
        strategy = fade_strategy or fade_config
        if strategy is not None:
            self.set_fade_strategy(strategy)
        else:
            self._fade_settings = {k: v for k, v in given.items() if k in FADE_OPTIONS}
            self.fade_strategy = create_fade(self.options["fade"], **self._fade_parameters())
        self.default_top_k = DEFAULT_TOP_K
        self.qdrant_batch_size = 0
        self.embedding_cache = EmbeddingCache()
        open_set = parameters_for(embedder)
        self.classifier = KNNClassifier(unknown_threshold=embedder.unknown_threshold,
                                        margin=open_set.margin,
                                        calibration=open_set.calibration)
        self._video_trackers: dict[str, Any] = {}  # track(): one per video stream
        # A built segmenter keeps its own limit unless max_instances is given.
        self._apply({name: self.options[name] for name in RUNTIME_OPTIONS
                     if name not in FADE_OPTIONS and (name != "max_instances" or name in given)})
        self.warnings = check_compatible(self.vector_store, self.store_metadata())
        for warning in self.warnings:
            logger.warning(warning)

    # -- configuration -----------------------------------------------------------------------

    @property
    def unknown_threshold(self) -> float:
        """Similarity below which an instance is reported as unknown."""
        return self.classifier.unknown_threshold

    @unknown_threshold.setter
    def unknown_threshold(self, value: float) -> None:
        self.classifier.unknown_threshold = float(value)

    def set_fade_strategy(self, fade_strategy: Any) -> None:
        """Use another fade strategy for every crop from now on."""
        if not callable(getattr(fade_strategy, "apply", None)):
            raise SamDetectError(
                "a fade strategy needs an apply(image, mask, distance_map) method")
        self._fade_settings = _explicit_fade_settings(fade_strategy)
        self.fade_strategy = fade_strategy

    def update(self, **settings: Any) -> dict[str, Any]:
        """Change runtime settings, checked by the option table; returns the values applied.

        The runtime options are the fade (``fade``, ``sigma``, ``min_fade``, ``max_distance``,
        ``decay``, ``context``), ``top_k``, ``unknown_threshold`` (None: the embedder's default),
        ``max_instances`` (None: the segmenter's default; 0: no limit), ``embedding_cache_size``
        and ``qdrant_batch_size``. A fade parameter given alone keeps the current fade kind and
        its other parameters; a parameter that does not apply to the current fade is kept for
        when that fade is chosen. Nothing changes when any value is refused.

        Example:
            >>> from sam_detect.embedding import AverageEmbedder
            >>> detector = SAMDetect(embedder=AverageEmbedder())
            >>> detector.update(fade="gaussian", sigma=20, top_k=3)
            {'fade': 'gaussian', 'sigma': 20.0, 'top_k': 3}
            >>> detector.fade_strategy, detector.default_top_k
            (GaussianFade(sigma=20.0, min_fade=0.05), 3)
            >>> detector.update(top_k=0)
            Traceback (most recent call last):
            ...
            sam_detect.errors.OptionError: top_k must be at least 1, got 0

        Raises:
            OptionError: for an unknown or build-time option, or a value it cannot take.
        """
        changes = resolve_keywords(settings, RUNTIME_OPTIONS, refused=(
            "is read when the detector is built; build another one to change it"))
        fade_changes = {k: v for k, v in changes.items() if k in FADE_OPTIONS}
        if fade_changes:  # built first: a refused fade leaves everything as it was
            fade_settings = {**self._fade_settings, **fade_changes}
            kind = fade_settings.get("fade")
            if kind is None:
                raise OptionError(next(iter(fade_changes)), (
                    "applies to the built-in fades, and this detector uses a custom fade "
                    "strategy; give fade too"))
            self.fade_strategy = create_fade(kind, **{
                k: v for k, v in fade_settings.items() if k != "fade"})
            self._fade_settings = fade_settings
        self._apply({k: v for k, v in changes.items() if k not in FADE_OPTIONS})
        self.options.update(changes)
        return changes

    def runtime_settings(self) -> dict[str, Any]:
        """Return the current value of every runtime option (the fade's as the fade has them)."""
        fade = describe_fade(self.fade_strategy)
        return {**{k: v for k, v in self._fade_settings.items()}, "fade": fade["kind"],
                **{k: v for k, v in fade.items() if k in FADE_OPTIONS and k != "fade"},
                "top_k": self.default_top_k, "unknown_threshold": self.unknown_threshold,
                "max_instances": getattr(self.segmenter, "max_instances", None),
                "embedding_cache_size": self.embedding_cache.capacity,
                "qdrant_batch_size": self.qdrant_batch_size,
                "keyframe_interval": self.keyframe_interval}

    def _apply(self, values: dict[str, Any]) -> None:
        """Apply checked runtime values other than the fade's to the stages."""
        for name, value in values.items():
            if name == "top_k":
                self.default_top_k = value
            elif name == "unknown_threshold":
                self.unknown_threshold = (self.embedder.unknown_threshold if value is None
                                          else value)
            elif name == "max_instances":
                _set_max_instances(self.segmenter, value)
            elif name == "embedding_cache_size":
                self.embedding_cache.resize(value)
            elif name == "qdrant_batch_size":
                self.qdrant_batch_size = value
            elif name == "keyframe_interval":
                for tracker in self._video_trackers.values():
                    tracker.keyframe_interval = value

    def _fade_parameters(self) -> dict[str, Any]:
        return {k: v for k, v in self._fade_settings.items() if k != "fade"}

    def store_metadata(self) -> dict[str, Any]:
        """Describe what fills the store: the embedder's name and size, and the fade."""
        return {
            "name": self.embedder.name,
            "dim": int(self.embedder.dim),
            "kind": getattr(self.embedder, "kind", self.embedder.name),
            "fade": describe_fade(self.fade_strategy),
        }

    # -- inference ---------------------------------------------------------------------------

    def segment(self, image: ImageLike) -> list[Segment]:
        """Return the segmenter's masks for ``image``."""
        return self.segmenter.segment(self._load(image))

    def embed_masks(self, image: ImageLike, masks: Sequence[np.ndarray]) -> np.ndarray:
        """Fade each mask's context and embed the crops; returns ``(n, dim)`` unit rows."""
        image = self._load(image)
        crops = [self._crop(image, validate_mask(mask, image.shape)) for mask in masks]
        return self._embed(crops)

    def embed_mask_views(self, image: ImageLike, masks: Sequence[np.ndarray]
                         ) -> np.ndarray | None:
        """Return ``(n, views, dim)`` teaching-time views of each mask's crop, as taught.

        ``None`` when the embedder stores each example once (no ``embed_views``, or one view).
        ``[:, 0]`` equals :meth:`embed_masks`. See :meth:`add_crops`.
        """
        if len(getattr(self.embedder, "teach_views", ())) < 2:
            return None
        image = self._load(image)
        crops = [self._crop(image, validate_mask(mask, image.shape)) for mask in masks]
        return self.embedder.embed_views(crops) if crops else None

    def classify(self, embeddings: np.ndarray, top_k: int | None = None) -> list[Prediction]:
        """Return a k-NN :class:`~sam_detect.classifier.Prediction` for each embedding row."""
        embeddings = np.asarray(embeddings, np.float32)
        if len(embeddings) == 0 or self.vector_store.count() == 0:
            return [Prediction(None, 0.0, []) for _ in range(len(embeddings))]
        # qdrant_batch_size bounds each request (a server's payload limit); 0: one request.
        size = self.qdrant_batch_size or len(embeddings)
        hits = []
        for start in range(0, len(embeddings), size):
            hits += self.vector_store.search(embeddings[start:start + size],
                                             top_k or self.default_top_k)
        with one_blas_thread():  # a frame's few queries against ~200 generic objects
            reference = self.reference_similarity(embeddings)
        return [self.classifier.predict(neighbours, None if reference is None else reference[i])
                for i, neighbours in enumerate(hits)]

    def reference_similarity(self, embeddings: np.ndarray) -> np.ndarray | None:
        """Return each embedding's similarity to generic objects; None when the margin is off.

        The embedder's reference set (:mod:`sam_detect.classifier.reference`) is embedded on
        first use and cached.
        """
        if self.classifier.margin is None:
            return None
        from sam_detect.classifier.reference import reference_embeddings, reference_similarity

        reference = reference_embeddings(self.embedder, self.fade_strategy)
        return reference_similarity(embeddings, reference)

    def detect(self, image: ImageLike, top_k: int | None = None) -> Detections:
        """Segment, fade, embed and classify every object in ``image``.

        Args:
            image: A path, an RGB array or a PIL image.
            top_k: Neighbours per instance; ``default_top_k`` when None.

        Returns:
            :class:`~sam_detect.results.Detections`, best segmentation score first, with
            ``timings_ms`` for ``segment``, ``fade``, ``embed``, ``search`` and ``total``.
        """
        source = str(image) if isinstance(image, (str,)) or hasattr(image, "__fspath__") else None
        image = self._load(image)
        start = time.perf_counter()
        segments, frame = segment_frame(self.segmenter, image)
        segmented = time.perf_counter()
        fade = self.fade_strategy  # one fade for the whole frame, even if it is changed meanwhile
        crops = ([] if self._pools(frame) else
                 [make_faded_crop(image, s.mask, fade, s.bbox)[0] for s in segments])
        faded = time.perf_counter()
        embeddings = (self.embedder.embed_regions(frame, [s.mask for s in segments])
                      if self._pools(frame) else self._embed(crops))
        embedded = time.perf_counter()
        predictions = self.classify(embeddings, top_k)
        searched = time.perf_counter()
        instances = [
            Instance.from_segment(segment, label=p.label, confidence=p.confidence,
                                  neighbours=p.neighbours, embedding=embedding, id=index)
            for index, (segment, p, embedding) in enumerate(zip(segments, predictions, embeddings))
        ]
        timings = {"segment": segmented - start, "fade": faded - segmented,
                   "embed": embedded - faded, "search": searched - embedded,
                   "total": searched - start}
        return Detections(instances, image.shape[:2], {k: v * 1e3 for k, v in timings.items()},
                          source)

    def __call__(self, image: ImageLike) -> Detections:
        """Shorthand for :meth:`detect`."""
        return self.detect(image)

    def detect_batch(self, images: Sequence[ImageLike],
                     top_k: int | None = None) -> list[Detections]:
        """Run :meth:`detect` on several images (e.g. one per camera) with batched models.

        Every image is segmented, then the crops of all images go through the embedder in one
        call and through the k-NN search in one query. Each image's results equal what
        :meth:`detect` returns for it; its ``timings_ms`` are the batch's (``batch`` says how
        many images shared them).
        """
        loaded = [self._load(image) for image in images]
        start = time.perf_counter()
        found = [segment_frame(self.segmenter, image) for image in loaded]
        segments = [frame_segments for frame_segments, _ in found]
        segmented = time.perf_counter()
        fade = self.fade_strategy
        pooled = all(self._pools(features) for _, features in found) and bool(found)
        crops = [] if pooled else [make_faded_crop(image, s.mask, fade, s.bbox)[0]
                                   for image, frame in zip(loaded, segments) for s in frame]
        faded = time.perf_counter()
        embeddings = (np.concatenate([self.embedder.embed_regions(features, [s.mask for s in f])
                                      for f, features in found]) if pooled
                      else self._embed(crops))
        embedded = time.perf_counter()
        predictions = self.classify(embeddings, top_k)
        searched = time.perf_counter()
        timings = {"segment": segmented - start, "fade": faded - segmented,
                   "embed": embedded - faded, "search": searched - embedded,
                   "total": searched - start}
        timings_ms = {**{k: v * 1e3 for k, v in timings.items()}, "batch": float(len(images))}
        results, offset = [], 0
        for image, frame in zip(loaded, segments):
            instances = [
                Instance.from_segment(segment, label=p.label, confidence=p.confidence,
                                      neighbours=p.neighbours, embedding=embedding, id=index)
                for index, (segment, p, embedding) in enumerate(zip(
                    frame, predictions[offset:offset + len(frame)],
                    embeddings[offset:offset + len(frame)]))]
            offset += len(frame)
            results.append(Detections(instances, image.shape[:2], dict(timings_ms), None))
        return results

    # -- tracking ----------------------------------------------------------------------------

    def track(self, frame: ImageLike, top_k: int | None = None, stream: str = "") -> Detections:
        """Detect in the next frame of a video and follow objects across frames.

        Each instance carries a ``track_id`` that stays the same while the object is followed
        (and when it hides or leaves and comes back), and a label voted over its track's
        history. Only key frames run the full segmenter (see ``keyframe_interval``); between
        them each track's mask is propagated cheaply and unchanged masks reuse their embedding.
        Call :meth:`reset_tracking` before another video. See :mod:`sam_detect.tracking`.

        Args:
            frame: The next frame (a path, an RGB array or a PIL image).
            top_k: Neighbours per instance; ``default_top_k`` when None.
            stream: Names the video (e.g. a camera): each stream has its own tracks, and
                track ids are unique within one stream.

        Returns:
            :class:`~sam_detect.results.Detections` as :meth:`detect`, plus a ``track`` timing.
        """
        source = str(frame) if isinstance(frame, str) or hasattr(frame, "__fspath__") else None
        detections = self.video_tracker(stream).step(self, self._load(frame), top_k)
        detections.source = source
        return detections

    def video_tracker(self, stream: str = "") -> Any:
        """Return the :class:`~sam_detect.tracking.VideoTracker` that :meth:`track` uses."""
        tracker = self._video_trackers.get(stream)
        if tracker is None:
            from sam_detect.tracking import MaskTracker, VideoTracker

            tracker = VideoTracker(MaskTracker.for_embedder(self.embedder.unknown_threshold),
                                   self.keyframe_interval)
            self._video_trackers[stream] = tracker
        return tracker

    @property
    def keyframe_interval(self) -> int:
        """Frames between full segmentations in :meth:`track` (``update(keyframe_interval=)``)."""
        return self.options["keyframe_interval"]

    def reset_tracking(self) -> None:
        """Forget every track of every stream: the next :meth:`track` starts a new video."""
        for tracker in self._video_trackers.values():
            tracker.reset()

    def teach_track(self, track_id: int, label: str, payload: dict[str, Any] | None = None,
                    stream: str = "") -> list[int | str]:
        """Store the views a track has collected under ``label``, and relabel the track.

        Labels the object's whole history at once: every distinct-looking embedding the track
        kept (see :class:`~sam_detect.tracking.MaskTracker`'s ``gallery_size``) is stored.

        Raises:
            SamDetectError: when no such track is kept (never seen, or forgotten).
        """
        label = validate_label(label)
        video = self._video_trackers.get(stream)
        track = None if video is None else video.tracker.get(track_id)
        if track is None or not track.gallery:
            raise SamDetectError(f"no track {track_id}; tracks kept: "
                                 f"{[t.track_id for t in self.tracks(stream)]}")
        views = np.stack(list(track.gallery))
        extra = {"track_id": int(track_id), **(payload or {})}
        ids = self.add_embeddings(views, [label] * len(views), [extra] * len(views))
        self.relabel_track(track_id, label, stream)
        return ids

    def relabel_track(self, track_id: int, label: str, stream: str = "") -> None:
        """Make ``label`` a track's label from the next :meth:`track` call (thread-safe)."""
        video = self._video_trackers.get(stream)
        if video is not None:
            video.relabel(track_id, validate_label(label))

    def _forget_votes(self) -> None:
        """Drop the tracks' label votes: the store changed, so the next frame decides."""
        for tracker in self._video_trackers.values():
            tracker.forget_votes()

    def tracks(self, stream: str = "") -> list[Any]:
        """Return the tracks that :meth:`track` keeps for ``stream`` (live and lost), by id."""
        video = self._video_trackers.get(stream)
        return [] if video is None else video.tracker.tracks()

    # -- teaching ----------------------------------------------------------------------------

    def add_example(self, image: ImageLike, label: str, mask: Any = None,
                    payload: dict[str, Any] | None = None,
                    background: bool = False) -> list[int | str]:
        """Store one example of ``label``.

        Args:
            image: The object's image: a crop (e.g. from :meth:`get_crop`) when ``mask`` is None,
                else the full frame.
            label: The object's name.
            mask: Boolean mask of the object in ``image``; its faded crop is stored.
            payload: Extra JSON-ready data stored with the example.
            background: With a ``mask``: segment the frame and store its other objects as known
                background for ``label`` (evidence of what it is not; never listed or returned).

        Returns:
            The new example's id, in a list.
        """
        label = validate_label(label)
        image = self._load(image)
        if mask is None:
            return self.add_crops([image], label, [payload or {}])
        mask = validate_mask(mask, image.shape)
        others: list[np.ndarray] = []
        if background:
            segments = [s.mask for s in self.segmenter.segment(image)]
            others = [segments[i] for i in background_masks(mask, segments)]
        return self.add_crops([self._crop(image, mask)], label, [payload or {}],
                              [self._crop(image, m) for m in others])

    def add_crops(self, crops: Sequence[np.ndarray], label: str,
                  payloads: Sequence[dict[str, Any]] | None = None,
                  background: Sequence[np.ndarray] = ()) -> list[int | str]:
        """Store faded crops of one object as examples of ``label``, with their views.

        An embedder with teaching-time views (``embed_views``, e.g.
        ``efficientnet-lite0-whitened``: mirrored and turned copies) stores every view of each
        crop as its own vector; the payload says which (``"view"``: its name, ``"original"`` for
        the crop as given; ``"example"``: one id shared by the views of one crop; see
        :func:`~sam_detect.embedding.base.expand_views`).

        Args:
            crops: RGB ``uint8`` crops of the object (e.g. :meth:`get_crop`'s).
            label: The object's name.
            payloads: Extra JSON-ready data per crop.
            background: Crops of the frame's other objects, stored as known background (see
                :meth:`add_embeddings`); never expanded into views.

        Returns:
            The ids of every stored vector of the examples (all their views).
        """
        from sam_detect.embedding.base import expand_views

        payloads = list(payloads or [{}] * len(crops))
        others = self._embed(list(background)) if len(background) else None
        if callable(getattr(self.embedder, "embed_views", None)) and len(crops):
            rows, marked = expand_views(self.embedder.embed_views(list(crops)),
                                        self.embedder.teach_views, payloads)
            return self.add_embeddings(rows, [label] * len(rows), marked, background=others)
        return self.add_embeddings(self._embed(list(crops)), [label] * len(crops), payloads,
                                   background=others)

    def add_embeddings(self, embeddings: np.ndarray, labels: Sequence[str],
                       payloads: Sequence[dict[str, Any]] | None = None,
                       background: np.ndarray | None = None) -> list[int | str]:
        """Store precomputed embeddings (e.g. ``Instance.embedding`` of a past frame).

        Args:
            embeddings: ``(n, dim)`` rows.
            labels: One label per row.
            payloads: Extra JSON-ready data per row.
            background: Embeddings of objects seen beside these examples and not chosen (the
                frame's other segments). They are stored as known background
                (:data:`~sam_detect.classifier.BACKGROUND_LABEL`) unless they are already
                recognised as a taught label or look like the same object as a new example;
                stored background that a new example claims (the same object, now taught) is
                removed.

        Returns:
            The ids of the new (non-background) examples.
        """
        embeddings = np.atleast_2d(np.asarray(embeddings, np.float32))
        labels = [refuse_reserved(validate_label(label)) for label in labels]
        if len(labels) != len(embeddings):
            raise SamDetectError(f"{len(embeddings)} embeddings but {len(labels)} labels")
        if embeddings.shape[1] != self.embedder.dim:
            raise SamDetectError(f"embeddings have {embeddings.shape[1]} dimensions; "
                                 f"the embedder makes {self.embedder.dim}")
        added = datetime.now(timezone.utc).isoformat(timespec="seconds")
        payloads = [{"added": added, **(p or {})} for p in (payloads or [{}] * len(labels))]
        background = (np.zeros((0, embeddings.shape[1]), np.float32) if background is None
                      else np.atleast_2d(np.asarray(background, np.float32)))
        if background.size and (background.ndim != 2
                                or background.shape[1] != embeddings.shape[1]):
            raise SamDetectError(f"background embeddings have shape {background.shape}; they "
                                 f"need {embeddings.shape[1]} dimensions like the examples")
        kept = self._new_background(embeddings, background) if len(background) else background
        if len(embeddings):
            self._forget_claimed_background(embeddings)
        ids = self.vector_store.add(embeddings, labels, payloads)
        if len(kept):
            names = sorted(set(labels))
            self.vector_store.add(kept, [BACKGROUND_LABEL] * len(kept),
                                  [{"added": added, "background": True,
                                    "background_for": names}] * len(kept))
        self._forget_votes()
        return ids

    def _same_object_similarity(self, embeddings: np.ndarray) -> np.ndarray:
        """Similarity above which another crop is taken for the same object as each row.

        Halfway between the row's similarity to generic objects and identity, so it adapts to
        how spread the embedder's similarities are.
        """
        reference = self.reference_similarity(embeddings)
        if reference is None:
            return np.full(len(embeddings), 0.9, np.float32)
        return 1.0 - (1.0 - np.clip(reference, -1.0, 1.0)) / 2.0

    def _new_background(self, examples: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Return the background candidates that are evidence of nothing taught."""
        candidates = candidates / np.maximum(
            np.linalg.norm(candidates, axis=1, keepdims=True), 1e-12)
        units = examples / np.maximum(np.linalg.norm(examples, axis=1, keepdims=True), 1e-12)
        same = (candidates @ units.T).max(axis=1) >= self._same_object_similarity(candidates)
        recognised = np.array([p.label is not None for p in self.classify(candidates)], bool)
        return candidates[~same & ~recognised]

    def _forget_claimed_background(self, examples: np.ndarray) -> None:
        """Remove stored background that is the same object as a newly taught example."""
        if BACKGROUND_LABEL not in self.vector_store.labels():
            return
        hits = self.vector_store.search(examples, 10, label_filter=[BACKGROUND_LABEL])
        limits = self._same_object_similarity(examples)
        doomed = [n.id for row, limit in zip(hits, limits) for n in row
                  if n.score >= limit and n.id is not None]
        if doomed:
            self.vector_store.remove(ids=doomed)

    def teach(self, instance: Instance, label: str,
              payload: dict[str, Any] | None = None,
              background: Sequence[Instance] = ()) -> list[int | str]:
        """Store a detected instance under ``label`` from its embedding; nothing is recomputed.

        Args:
            instance: An instance of a past :meth:`detect` result.
            label: Its name.
            payload: Extra JSON-ready data stored with the example.
            background: The frame's other instances: those that do not overlap ``instance`` are
                stored as known background for ``label`` (see :meth:`add_embeddings`).
        """
        if instance.embedding is None:
            raise SamDetectError("this instance carries no embedding; detect it again")
        others = [o for o in background if o is not instance and o.embedding is not None]
        if others and instance.mask is not None and all(o.mask is not None for o in others):
            keep = background_masks(instance.mask, [o.mask for o in others])
            others = [others[i] for i in keep]
        elif others:  # masks not kept (a node's frame history): the boxes decide
            keep = background_boxes(tuple(instance.bbox), [tuple(o.bbox) for o in others])
            others = [others[i] for i in keep]
        vectors = (np.stack([o.embedding for o in others]) if others
                   else np.zeros((0, len(instance.embedding)), np.float32))
        return self.add_embeddings(instance.embedding[None, :], [label], [payload or {}],
                                   background=vectors)

    def add_examples_from_file(self, image_path: str, label: str,
                               masks: Any = "auto") -> list[int | str]:
        """Store examples of ``label`` from an image file.

        Args:
            image_path: The image.
            label: The object's name.
            masks: ``"auto"`` - the image's alpha channel when it has one (a cut-out), else the
                largest segmented object; ``"largest"``; ``"all"`` - every segmented object;
                or one boolean mask / a list of them. When one segmented object is chosen, the
                picture's other objects are stored as known background for ``label``.

        Returns:
            The ids of the stored examples.
        """
        label = validate_label(label)
        image = load_image(image_path)
        chosen, background = self.teaching_masks(image, masks, image_path)
        crops = [self._crop(image, validate_mask(m, image.shape)) for m in chosen + background]
        payload = {"source": str(image_path)}
        return self.add_crops(crops[:len(chosen)], label, [payload] * len(chosen),
                              crops[len(chosen):])

    def masks_for_teaching(self, image: np.ndarray, masks: Any = "largest",
                           image_path: str | None = None) -> list[np.ndarray]:
        """Return the masks to teach from ``image``.

        Args:
            image: The RGB image.
            masks: ``"auto"`` (the file's alpha channel when it has one, else the largest
                object), ``"largest"``, ``"all"``, one boolean mask, or a list of them.
            image_path: The file ``image`` came from, for ``"auto"``'s alpha channel.

        Raises:
            InvalidMaskError: when no object is found.
        """
        return self.teaching_masks(image, masks, image_path)[0]

    def teaching_masks(self, image: np.ndarray, masks: Any = "largest",
                       image_path: str | None = None
                       ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return the masks to teach from ``image`` and the masks of its known background.

        The background is the picture's other segmented objects when the largest one is taught
        (``"largest"``, or ``"auto"`` without an alpha channel); otherwise there is none.
        Arguments and errors are those of :meth:`masks_for_teaching`.
        """
        if isinstance(masks, str):
            if masks == "auto" and image_path is not None:
                alpha = load_alpha_mask(image_path)
                if alpha is not None and alpha.any() and not alpha.all():
                    return [alpha], []
            if masks not in ("auto", "largest", "all"):
                raise SamDetectError(f"masks must be 'auto', 'largest', 'all' or arrays, "
                                     f"got '{masks}'")
            segments = self.segmenter.segment(image)
            if not segments:
                raise InvalidMaskError(f"no object found in {image_path or 'the image'}; "
                                       "pass a mask")
            if masks == "all":
                return [s.mask for s in segments], []
            largest = max(segments, key=lambda s: s.area).mask
            others = [s.mask for s in segments]
            return [largest], [others[i] for i in background_masks(largest, others)]
        if isinstance(masks, np.ndarray) and masks.ndim == 2:
            return [masks], []
        return list(masks), []

    def labels(self) -> dict[str, int]:
        """Return ``{label: number of stored examples}`` (known background is not a label).

        An example stored with its teaching-time views (:meth:`add_crops`) counts once.
        """
        from sam_detect.embedding.base import example_counts

        if hasattr(self.embedder, "teach_views"):  # only its stores hold views
            return visible_labels(example_counts(self.vector_store))
        return visible_labels(self.vector_store.labels())

    def remove_label(self, label: str) -> int:
        """Forget every example of ``label``; returns how many were removed."""
        removed = self.vector_store.remove(label=refuse_reserved(validate_label(label)))
        self._forget_votes()
        return removed

    def remove_examples(self, ids: Sequence[int | str]) -> int:
        """Forget stored examples by id (an undo, a gallery delete); returns how many."""
        removed = self.vector_store.remove(ids=list(ids))
        self._forget_votes()
        return removed

    def relabel_examples(self, ids: Sequence[int | str], label: str) -> int:
        """Move stored examples to ``label``; returns how many changed."""
        changed = self.vector_store.relabel(list(ids), refuse_reserved(validate_label(label)))
        self._forget_votes()
        return changed

    # -- crops and pictures ------------------------------------------------------------------

    def get_crop(self, image: ImageLike, mask: Any) -> Any:
        """Return the faded crop of ``mask`` as a PIL image (``.save()`` it, or teach it)."""
        from PIL import Image

        image = self._load(image)
        return Image.fromarray(self._crop(image, validate_mask(mask, image.shape)))

    def visualize(self, image: ImageLike, results: Detections | Sequence[Instance]) -> np.ndarray:
        """Return the image with masks, outlines, labels and confidences drawn.

        The picture is RGB, or BGR (ready for ``cv2.imshow``) when ``channel_order="bgr"``.
        """
        overlay = draw_instances(self._load(image), results)
        return overlay[:, :, ::-1].copy() if self.channel_order == "bgr" else overlay

    def evaluate(self, dataset_path: str, metrics: Sequence[str] | None = None,
                 **options: Any) -> Any:
        """Evaluate on a COCO dataset; see :func:`sam_detect.evaluation.evaluate`.

        Returns:
            An :class:`~sam_detect.evaluation.EvaluationReport` (``.to_dict()`` for JSON).
        """
        from sam_detect.evaluation import evaluate

        return evaluate(self, dataset_path, metrics=metrics, **options)

    def close(self) -> None:
        """Flush and release the vector store."""
        self.vector_store.close()

    def __enter__(self) -> SAMDetect:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------------------

    def _load(self, image: ImageLike) -> np.ndarray:
        rgb = load_image(image)
        if self.channel_order == "bgr" and isinstance(image, np.ndarray) and image.ndim == 3:
            return np.ascontiguousarray(rgb[:, :, ::-1])
        return rgb

    def _crop(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return make_faded_crop(image, mask, self.fade_strategy)[0]

    def _embed(self, crops: list[np.ndarray]) -> np.ndarray:
        if not crops:
            return np.zeros((0, self.embedder.dim), np.float32)
        return self.embedding_cache.embed(crops, self.embedder)

    def _pools(self, frame: Any) -> bool:
        """Return True when the embedder pools this frame's feature map (frame_features)."""
        return frame is not None and callable(getattr(self.embedder, "can_pool", None)) \
            and self.embedder.can_pool(frame)


FACADE_OPTIONS = tuple(o.name for o in options_for(LIBRARY) if o.name not in STORE_OPTIONS)
RUNTIME_OPTIONS = tuple(name for name in FACADE_OPTIONS if BY_NAME[name].runtime)
# Options used only to build a stage: given with a built stage they would do nothing.
_BUILD_OPTIONS = {"segmenter": ("sam_model", "points_per_side"),
                  "embedder": ("clip_model", "teach_views")}


def _refuse_for_built_stages(given: dict[str, Any], segmenter: Any, embedder: Any,
                             fade: Any) -> None:
    """Refuse options that would be ignored because their stage was given already built."""
    built = {"segmenter": segmenter is not None and not isinstance(segmenter, str),
             "embedder": embedder is not None and not isinstance(embedder, str)}
    for stage, names in _BUILD_OPTIONS.items():
        for name in names:
            if built[stage] and given.get(name) is not None:
                raise OptionError(name, f"builds the {stage}, but a built {stage} was given")
    for name in ("precision", "compile", "tensorrt"):
        if all(built.values()) and given.get(name) is not None:
            raise OptionError(name, "builds the models, but built ones were given")
    for name in FADE_OPTIONS:
        if fade is not None and name in given:
            raise OptionError(name, "cannot be given with a fade_strategy; give one or the other")


def _build_segmenter(options: dict[str, Any]) -> Any:
    from sam_detect.segmentation import create_segmenter

    kind = options["segmenter"]
    limit = options["max_instances"]
    settings: dict[str, Any] = {"max_instances": limit or None, "device": options["device"]}
    if kind == "sam2":
        settings.update(model_size=options["sam_model"],
                        points_per_side=options["points_per_side"],
                        **{k: options[k] for k in ("precision", "compile", "tensorrt")})
        settings.update({k: options[k] for k in ("masks_per_point", "stability_at")
                         if options[k] is not None})
    segmenter = create_segmenter(kind, **settings)
    _set_max_instances(segmenter, limit)
    return segmenter


def _share_frame_features(segmenter: Any, embedder: Any) -> None:
    """Have the segmenter hand on its feature maps, which the embedder pools (frame_features)."""
    if not (hasattr(segmenter, "segment_with_features") and hasattr(segmenter, "frame_features")):
        name = getattr(segmenter, "name", type(segmenter).__name__)
        raise OptionError("frame_features", "needs a segmenter that shares its feature maps "
                                            f"(objectness), not {name}")
    if not callable(getattr(embedder, "embed_regions", None)):
        name = getattr(embedder, "name", type(embedder).__name__)
        raise OptionError("frame_features", "needs an embedder that pools them "
                                            f"(efficientnet-lite0-whitened), not {name}")
    segmenter.frame_features = True


def _set_max_instances(segmenter: Any, limit: int | None) -> None:
    """Set the segmenter's limit: a count, 0 for no limit, None for the segmenter's default."""
    if not hasattr(segmenter, "max_instances"):
        return
    if limit is None:
        default = inspect.signature(type(segmenter)).parameters.get("max_instances")
        limit = None if default is None else default.default
    segmenter.max_instances = limit or None


def _build_embedder(options: dict[str, Any], preferred: str | None,
                    log: Callable[[str], Any]) -> Any:
    from sam_detect.embedding import create_embedder

    acceleration = {k: options[k] for k in ("precision", "compile", "tensorrt", "teach_views")
                    if options[k] is not None}
    if options["clip_resize"] is not None:
        acceleration["resize"] = options["clip_resize"]
    return create_embedder(options["embedder"], device=options["device"],
                           model_name=options["clip_model"], preferred=preferred, log=log,
                           **acceleration)


def _explicit_fade_settings(strategy: Any) -> dict[str, Any]:
    """Return a built-in fade's kind and the parameters that differ from its defaults."""
    description = describe_fade(strategy)
    kind = description["kind"]
    if kind not in FADES:
        return {}
    defaults = describe_fade(FADES[kind]())
    return {"fade": kind, **{k: v for k, v in description.items()
                             if k != "kind" and defaults.get(k) != v}}


__all__ = ["DEFAULT_TOP_K", "Neighbour", "SAMDetect"]
