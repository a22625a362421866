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
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from sam_detect.classifier import BACKGROUND_LABEL, KNNClassifier, Prediction, visible_labels
from sam_detect.classifier.background import (
    background_boxes, background_masks, refuse_reserved)
from sam_detect.embedding.base import EXAMPLE_KEY, example_counts, expand_views, forget_label
from sam_detect.embedding.cache import EmbeddingCache
from sam_detect.errors import InvalidMaskError, OptionError, SamDetectError
from sam_detect.fading import FADES, create_fade, describe_fade, make_faded_crop
from sam_detect.image_io import (
    ImageLike, load_alpha_mask, load_image, validate_mask)
from sam_detect.labels import validate_label
from sam_detect.models.blas import one_blas_thread
from sam_detect.options import (
    BY_NAME, FADE_OPTIONS, LIBRARY, options_for, resolve_keywords, STORE_OPTIONS)
from sam_detect.pipeline import run_frames as run_pipeline, stream_frames
from sam_detect.results import Detections, Instance, mask_to_bbox, Neighbour, Segment
from sam_detect.visualize import draw_instances

logger = logging.getLogger("sam_detect")

DEFAULT_TOP_K = BY_NAME["top_k"].default
PALETTE_REFRESH_S = 5.0  # seconds the overlays' label context is kept (see palette_labels)


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
        # The open-set decision and confidence fit themselves to the store and the embedder
        # (sam_detect/classifier/open_set.py); margin 0: exactly the fitted operating point.
        self.classifier = KNNClassifier(unknown_threshold=embedder.unknown_threshold, margin=0.0)
        self.open_set = _open_set_fitter(self)
        self._video_trackers: dict[str, Any] = {}  # track(): one per video stream
        # A built segmenter keeps its own limit unless max_instances is given.
        self._apply({name: self.options[name] for name in RUNTIME_OPTIONS
                     if name not in FADE_OPTIONS and (name != "max_instances" or name in given)})
        self.warnings = check_compatible(self.vector_store, self.store_metadata())
        for warning in self.warnings:
            logger.warning(warning)

    @classmethod
    def from_options(cls, options: Any, store: Any = None,
                     log: Callable[[str], Any] | None = None) -> SAMDetect:
        """Build the detector that :class:`~sam_detect.options.DetectorOptions` describe.

        What the CLI and the ROS node build, from option names.

        Example:
            >>> from sam_detect.options import DetectorOptions
            >>> options = DetectorOptions(embedder="average", store="memory", fade="gaussian",
            ...                           sigma=15)
            >>> detector = SAMDetect.from_options(options)
            >>> detector.fade_strategy, detector.embedder.name
            (GaussianFade(sigma=15.0, min_fade=0.05), 'average-v1')

        Args:
            options: A :class:`~sam_detect.options.DetectorOptions`.
            store: An open vector store to use; it stays the caller's (never closed here, even
                when building fails). None opens the store the options describe
                (:func:`~sam_detect.vector_store.store_from_options`), which the detector then
                owns and :meth:`close` closes; it is closed again when building fails, so a
                failed start never leaves it locked.
            log: Receives one-line notes, such as which embedder ``auto`` chose.

        Raises:
            SamDetectError: for an invalid option, a missing extra or a store that cannot be
                opened or was filled by another embedder.
        """
        if store is not None:
            return cls(vector_store=store, log=log, **options.detector_keywords())
        from sam_detect.vector_store import store_from_options

        opened = store_from_options(options)
        try:
            return cls(vector_store=opened, log=log, **options.detector_keywords())
        except BaseException:
            opened.close()
            raise

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
        return self._embed_masks(self._load(image), masks)

    def embed_crops(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Embed faded crops (through the embedding cache); returns ``(n, dim)`` unit rows."""
        if not len(crops):
            return np.zeros((0, self.embedder.dim), np.float32)
        return self.embedding_cache.embed(list(crops), self.embedder)

    def embed_mask_views(self, image: ImageLike, masks: Sequence[np.ndarray]
                         ) -> np.ndarray | None:
        """Return ``(n, views, dim)``: each mask's crop in every teaching-time view, as taught.

        None when the embedder stores each example once (no ``embed_views``, or one view, e.g.
        ``teach_views="none"``). ``[:, 0]`` (the crop as it is) equals :meth:`embed_masks`. What
        :meth:`add_examples` stores for an example whose picture is at hand.
        """
        image = self._load(image)
        return self._crop_views([self._crop(image, validate_mask(mask, image.shape))
                                 for mask in masks])

    def classify(self, embeddings: np.ndarray, top_k: int | None = None) -> list[Prediction]:
        """Return a k-NN :class:`~sam_detect.classifier.Prediction` for each embedding row.

        The vote and the open-set decision use the decision fitted to the store
        (:attr:`open_set`); a store that cannot give its vectors back gets the plain margin
        over generic objects.
        """
        embeddings = np.asarray(embeddings, np.float32)
        count = self.vector_store.count() if len(embeddings) else 0
        if count == 0:
            return [Prediction(None, 0.0, []) for _ in range(len(embeddings))]
        # qdrant_batch_size bounds each request (a server's payload limit); 0: one request.
        size = self.qdrant_batch_size or len(embeddings)
        hits = []
        for start in range(0, len(embeddings), size):
            hits += self.vector_store.search(embeddings[start:start + size],
                                             top_k or self.default_top_k)
        if self.classifier.margin is None:  # the open-set tests are off: floor and background
            return [self.classifier.predict(neighbours) for neighbours in hits]
        state = self.open_set.current(count)
        whitening = state.whitening
        embeddings = embeddings / np.maximum(
            np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        with one_blas_thread():  # a frame's few queries against ~200 generic objects
            queries = whitening.sketch(embeddings)
            generic = generic_similarity(whitening, embeddings, queries, state)
        predictions = []
        for i, neighbours in enumerate(hits):
            sketches = self.open_set.sketches(state, [n.id for n in neighbours])
            if any(s is None for s in sketches):  # vectors we cannot read: the plain margin
                reference = self.reference_similarity(embeddings[i:i + 1])
                predictions.append(self.classifier.predict(
                    neighbours, None if reference is None else float(reference[0])))
                continue
            white = (whitening.similarities(np.array([[n.score for n in neighbours]]),
                                            queries[i:i + 1], np.stack(sketches))[0]
                     if neighbours else np.zeros(0))
            predictions.append(self.classifier.predict(neighbours, float(generic[i]),
                                                       list(white), state.model))
        return predictions

    def wait_for_open_set(self, timeout: float | None = None) -> bool:
        """Block until the open-set decision is fitted to every change made so far.

        Frames never wait for a refit; a caller that must see its own teaching in the very next
        frame (a teaching service before it answers, a script) calls this. Returns False on
        timeout.
        """
        return self.open_set.wait(timeout)

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
        (detections,) = self.run_frames([self._load(image)], top_k)
        detections.source = source
        return detections

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
        results = self.run_frames([self._load(image) for image in images], top_k)
        for detections in results:
            detections.timings_ms["batch"] = float(len(results))
        return results

    def detect_stream(self, images: Iterable[ImageLike], top_k: int | None = None
                      ) -> Iterator[Detections]:
        """Run :meth:`detect` on a stream of images, segmenting the next while this one embeds.

        A folder of photos or a video's frames: each result equals :meth:`detect` on that image,
        in order, at a higher frame rate on a multi-core CPU (the segmenter of image N+1 runs on
        a worker thread while image N is embedded and classified; never more than one image
        ahead). An image that cannot be loaded or detected raises its error when its turn
        comes, after every earlier image's result (:func:`sam_detect.pipeline.stream_frames`
        carries on past errors instead). ``timings_ms`` adds ``interval``: the time since the
        previous result.
        """
        for frame in stream_frames(self, images, top_k, load=self._load):
            if frame.error is not None:
                raise frame.error
            if isinstance(frame.item, str) or hasattr(frame.item, "__fspath__"):
                frame.detections.source = str(frame.item)
            yield frame.detections

    def run_frames(self, images: Sequence[np.ndarray], top_k: int | None = None,
                   segments: Sequence[Sequence[Segment]] | None = None,
                   embeddings: Sequence[Sequence[np.ndarray | None]] | None = None
                   ) -> list[Detections]:
        """Run the per-frame pipeline (segment -> fade -> embed -> search -> decide) on frames.

        What :meth:`detect`, :meth:`detect_batch` and tracking all run; see
        :func:`sam_detect.pipeline.run_frames`. A tracker hands in the masks it propagated
        (``segments``) and the embeddings it reuses (``embeddings``, None rows computed).

        Args:
            images: Loaded RGB ``uint8`` frames.
            top_k: Neighbours per instance; ``default_top_k`` when None.
            segments: Per image, masks to use instead of segmenting it.
            embeddings: Per image and segment, a known embedding or None.

        Returns:
            One :class:`~sam_detect.results.Detections` per image.
        """
        return run_pipeline(self, images, top_k, segments, embeddings)

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

    def palette_labels(self) -> list[str]:
        """Return the store's labels: the context that gives each label its overlay colour.

        Cached until the store changes through this detector, and for at most
        ``PALETTE_REFRESH_S`` (changes made elsewhere, e.g. on a shared Qdrant server): listing
        the labels of a 10k-example store costs ~3 ms, too much to repeat for every overlay.
        """
        cached = getattr(self, "_palette_labels", None)
        now = time.monotonic()
        if cached is None or now - cached[0] > PALETTE_REFRESH_S:
            cached = self._palette_labels = (now, tuple(self.labels()))
        return list(cached[1])

    def _store_changed(self, labels: set[str]) -> None:
        """Tell the tracks which labels were taught, forgotten or moved.

        Tracks of those labels, and unknown ones (a newly taught object was unknown), decide
        again from the next frame; every other track keeps its evidence.
        """
        self._palette_labels = None  # and the overlay colours' context
        for tracker in self._video_trackers.values():
            tracker.forget_votes(labels)

    def tracks(self, stream: str = "") -> list[Any]:
        """Return the tracks that :meth:`track` keeps for ``stream`` (live and lost), by id."""
        video = self._video_trackers.get(stream)
        return [] if video is None else video.tracker.tracks()

    # -- teaching ----------------------------------------------------------------------------

    def add_examples(self, image: Any, label: str, masks: Any = "auto",
                     background: Any = True,
                     payload: dict[str, Any] | None = None) -> TaughtIds:
        """Store examples of ``label`` from a picture and masks: the one teaching call.

        The CLI (``sam-detect IMAGE --label``), the node (``~/add_example``,
        ``~/label_instance``) and the annotation UI all teach through it; every teaching call
        ends in :meth:`add_embeddings`.

        Example:
            >>> import numpy as np
            >>> from sam_detect.embedding import AverageEmbedder
            >>> frame = np.full((120, 160, 3), 40, np.uint8)
            >>> frame[30:70, 20:60] = (220, 30, 30); frame[40:80, 100:140] = (30, 30, 220)
            >>> detector = SAMDetect(embedder=AverageEmbedder())
            >>> taught = detector.add_examples(frame, "red block", masks="largest")
            >>> len(taught), len(taught.background)  # the blue block: known background
            (1, 1)
            >>> found = detector.detect(frame)
            >>> ids = detector.add_examples(frame, "blue block", masks=found[1], background=found)
            >>> sorted(detector.labels().items())
            [('blue block', 1), ('red block', 1)]

        Args:
            image: The picture: a path, an RGB array or a PIL image; an iterable of them teaches
                from several pictures at once (all are embedded before anything is stored, so a
                bad picture stores nothing); None when every mask is an
                :class:`~sam_detect.results.Instance` that carries its embedding.
            label: The object's name.
            masks: What to store: ``"auto"`` (the alpha channel of a cut-out file, else the
                largest segmented object), ``"largest"``, ``"all"`` (every segmented object),
                a boolean mask or a list of them, an :class:`~sam_detect.results.Instance` of a
                past :meth:`detect` or a list of them (without the picture their embeddings
                are stored as they are; nothing is recomputed), or None: the picture is the
                object itself (a crop, e.g. from :meth:`get_crop`).
            background: The picture's other objects, stored as known background for ``label``
                (evidence of what it is not; never listed or returned): True for the objects the
                segmenter finds that do not overlap the taught ones (one segmentation serves
                both when ``masks`` is ``"largest"``/``"auto"``; none for ``"all"``, a cut-out
                or a crop), False for none, or the frame's instances (a :meth:`detect` result;
                their embeddings, no model runs) or masks.
            payload: Extra JSON-ready data stored with each example; a picture read from a file
                also records its path as ``source``.

        An embedder with teaching-time views (``efficientnet-lite0-whitened``: the crop
        mirrored and turned, option ``teach_views``) stores every view of each example whose
        picture is at hand, as vectors of their own marked in the payload (``"view"``: its
        name, ``"original"`` for the crop as it is; ``"example"``: one id shared by an
        example's views, which the open-set fit leaves out together; see
        :func:`~sam_detect.embedding.base.expand_views`). An instance taught without its
        picture stores its one embedding; known background is never expanded.

        Returns:
            The ids of the stored examples: a :class:`TaughtIds` list whose ``background``
            holds the ids of the known background stored with them (an undo removes both)
            and whose ``pictures`` holds a :class:`TaughtPicture` per picture: the masks
            stored and the picture's other objects (what a front end draws, or names when the
            choice of "the largest object" was a guess).

        Raises:
            InvalidLabelError, InvalidImageError, InvalidMaskError: for a bad label, picture or
                mask, or no object found; nothing is stored then.
        """
        label = refuse_reserved(validate_label(label))
        pictures = list(image) if _several_pictures(image) else [image]
        examples, backgrounds, payloads, shown = [], [], [], []
        views = tuple(getattr(self.embedder, "teach_views", ()))
        for picture in pictures:
            chosen, others, taught = self._teaching_embeddings(picture, masks, background)
            source = _source(picture)
            extra = {"source": source} if source is not None else {}
            for rows in chosen:  # one row, or all the example's teaching views
                if len(rows) > 1:
                    rows, marked = expand_views(rows[None], views, [{**extra, **(payload or {})}])
                else:
                    marked = [{**extra, **(payload or {})}]
                examples.append(rows)
                payloads += marked
            backgrounds.append(others)
            shown.append(taught)
        empty = np.zeros((0, self.embedder.dim), np.float32)
        ids = self.add_embeddings(np.concatenate(examples) if examples else empty,
                                  [label] * len(payloads), payloads,
                                  background=np.concatenate(backgrounds) if backgrounds
                                  else empty)
        ids.pictures = shown
        return ids

    def _teaching_embeddings(self, picture: Any, masks: Any, background: Any
                             ) -> tuple[list[np.ndarray], np.ndarray, TaughtPicture]:
        """Return, from one picture, each example's rows, the background's rows, and the masks.

        An example's rows are its teaching-time views when the embedder has them and the picture
        is at hand, else its one embedding.
        """
        image = None if picture is None else self._load(picture)
        nothing = self.embed_crops([])
        if masks is None:  # the picture is the object (a crop): nothing around it
            crop = _needs_picture(image)
            views = self._crop_views([crop])
            rows = views[0] if views is not None else self.embed_crops([crop])
            return [rows], nothing, TaughtPicture()
        segments = None
        if isinstance(masks, str):
            if masks not in ("auto", "largest", "all"):
                raise SamDetectError(f"masks must be 'auto', 'largest', 'all' or arrays, "
                                     f"got '{masks}'")
            source = _source(picture)
            alpha = (load_alpha_mask(source) if masks == "auto" and source is not None
                     else None)
            if alpha is not None and alpha.any() and not alpha.all():
                return self._example_rows(image, [alpha]), nothing, TaughtPicture([alpha])
            segments = [s for s in self.segmenter.segment(_needs_picture(image))]
            if not segments:
                raise InvalidMaskError(f"no object found in {source or 'the image'}; "
                                       "pass a mask")
            if masks == "all":
                every = [s.mask for s in segments]
                return self._example_rows(image, every), nothing, TaughtPicture(every)
            chosen: list[Any] = [max(segments, key=lambda s: s.area).mask]
        elif isinstance(masks, Instance) or (isinstance(masks, np.ndarray) and masks.ndim == 2):
            chosen = [masks]
        else:
            chosen = list(masks)
        chosen = [c if isinstance(c, Instance) else validate_mask(c, _needs_picture(image).shape)
                  for c in chosen]
        if background is True:
            if segments is None:
                segments = self.segmenter.segment(_needs_picture(image))
            others: list[Any] = [s.mask for s in segments]
        else:  # the frame's instances (or masks), the taught ones among them left out
            others = [o for o in (background or ()) if not any(o is c for c in chosen)
                      and not (isinstance(o, Instance) and o.embedding is None
                               and (image is None or o.mask is None))]
        others = _background_of(chosen, others)
        rows = self._example_rows(image, chosen)
        # One embedding call for the background (one batch, one cache pass).
        to_embed = [m for m in others if _needs_embedding(m)]
        if to_embed and image is None:
            raise SamDetectError("this instance carries no embedding; detect it again")
        vectors = iter(self._embed_masks(image, [_mask_of(m) for m in to_embed])
                       if to_embed else ())
        kept = [next(vectors) if _needs_embedding(m) else np.asarray(m.embedding, np.float32)
                for m in others]
        taught = TaughtPicture([m for m in map(_mask_of, chosen) if m is not None],
                               [m for m in map(_mask_of, others) if m is not None])
        return rows, np.stack(kept) if kept else nothing, taught

    def _example_rows(self, image: np.ndarray | None, chosen: Sequence[Any]) -> list[np.ndarray]:
        """Return each chosen example's rows: its teaching views where the picture is at hand.

        Without views (or without the picture, or an instance without a mask), the example's
        one embedding: an instance's own, else its faded crop's.
        """
        viewable = ([] if image is None else
                    [k for k, item in enumerate(chosen) if _mask_of(item) is not None])
        views = self._crop_views([self._crop(image, _mask_of(chosen[k])) for k in viewable])
        rows: list[np.ndarray | None] = [None] * len(chosen)
        if views is not None:
            for k, example in zip(viewable, views):
                rows[k] = example
        to_embed = [k for k, item in enumerate(chosen) if rows[k] is None
                    and _needs_embedding(item)]
        if to_embed and image is None:
            raise SamDetectError("this instance carries no embedding; detect it again")
        for k, vector in zip(to_embed, self._embed_masks(image, [_mask_of(chosen[k])
                                                                 for k in to_embed])
                             if to_embed else ()):
            rows[k] = vector[None]
        return [row if row is not None else np.asarray(item.embedding, np.float32)[None]
                for row, item in zip(rows, chosen)]

    def add_example(self, image: ImageLike, label: str, mask: Any = None,
                    payload: dict[str, Any] | None = None,
                    background: bool = False) -> list[int | str]:
        """Store one example of ``label`` (the brief's call; see :meth:`add_examples`).

        Args:
            image: The object's image: a crop (e.g. from :meth:`get_crop`) when ``mask`` is None,
                else the full frame.
            label: The object's name.
            mask: Boolean mask of the object in ``image``; its faded crop is stored.
            payload: Extra JSON-ready data stored with the example.
            background: With a ``mask``: store the frame's other objects as known background.

        Returns:
            The ids of the stored rows: one per teaching-time view of the example (one when the
            embedder makes no views); ``.examples`` says how many examples that was (one).
        """
        return self.add_examples(image, label, masks=mask, payload=payload,
                                 background=background and mask is not None)

    def add_embeddings(self, embeddings: np.ndarray, labels: Sequence[str],
                       payloads: Sequence[dict[str, Any]] | None = None,
                       background: np.ndarray | None = None) -> TaughtIds:
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
            The ids of the new (non-background) examples, a list whose ``background``
            attribute holds the ids of the background stored with them (an undo removes both).
        """
        embeddings = np.atleast_2d(np.asarray(embeddings, np.float32))
        labels = [refuse_reserved(validate_label(label)) for label in labels]
        if len(labels) != len(embeddings):
            raise SamDetectError(f"{len(embeddings)} embeddings but {len(labels)} labels")
        if embeddings.shape[1] != self.embedder.dim:
            raise SamDetectError(f"embeddings have {embeddings.shape[1]} dimensions; "
                                 f"the embedder makes {self.embedder.dim}")
        # per call: the open-set fit leaves one picture's objects out together (source + added)
        added = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
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
        ids = TaughtIds(self.vector_store.add(embeddings, labels, payloads))
        # an example's teaching-time views share its "example" id: the user taught one thing
        ids.examples = len({p.get(EXAMPLE_KEY, ("row", k)) for k, p in enumerate(payloads)})
        self.open_set.added(ids, embeddings, labels, payloads)
        if len(kept):
            names = sorted(set(labels))
            # The picture the background was seen in, for "closer to the background of ...".
            seen_in = {k: payloads[0][k] for k in ("source", "stamp", "track_id", "camera")
                       if k in payloads[0]}
            extra = [{"added": added, "background": True, "background_for": names,
                      **seen_in}] * len(kept)
            ids.background = list(self.vector_store.add(
                kept, [BACKGROUND_LABEL] * len(kept), extra))
            self.open_set.added(ids.background, kept, [BACKGROUND_LABEL] * len(kept), extra)
        self._store_changed(set(labels))
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
            self.open_set.removed(ids=doomed)

    def teach(self, instance: Instance, label: str,
              payload: dict[str, Any] | None = None,
              background: Sequence[Instance] = ()) -> list[int | str]:
        """Store a detected instance under ``label`` from its embedding (see :meth:`add_examples`).

        Args:
            instance: An instance of a past :meth:`detect` result.
            label: Its name.
            payload: Extra JSON-ready data stored with the example.
            background: The frame's other instances: those that do not overlap ``instance`` are
                stored as known background for ``label``.
        """
        return self.add_examples(None, label, [instance], list(background), payload)

    def add_examples_from_file(self, image_path: str, label: str,
                               masks: Any = "auto") -> list[int | str]:
        """Store examples of ``label`` from an image file (the brief's; see :meth:`add_examples`).

        ``masks`` is ``"auto"``, ``"largest"``, ``"all"`` or masks; when one segmented object is
        chosen, the picture's other objects are stored as known background.
        """
        return self.add_examples(image_path, label, masks, background=isinstance(masks, str))

    def labels(self) -> dict[str, int]:
        """Return ``{label: number of stored examples}`` (known background is not a label).

        An example stored with its teaching-time views (:meth:`add_examples`) counts once.
        """
        if hasattr(self.embedder, "teach_views"):  # only its stores hold views
            return visible_labels(example_counts(self.vector_store))
        return visible_labels(self.vector_store.labels())

    def remove_label(self, label: str) -> int:
        """Forget every example of ``label``; returns how many examples were removed.

        An example stored with its teaching-time views counts once, as in :meth:`labels`.
        """
        label = refuse_reserved(validate_label(label))
        removed = forget_label(self.vector_store, label)
        self.open_set.removed(label=label)
        self._store_changed({label})
        return removed

    def remove_examples(self, ids: Sequence[int | str]) -> int:
        """Forget stored examples by id (an undo, a gallery delete); returns how many."""
        labels = {e.label for e in self.vector_store.list_examples(ids=list(ids))}
        removed = self.vector_store.remove(ids=list(ids))
        self.open_set.removed(ids=list(ids))
        self._store_changed(labels)
        return removed

    def relabel_examples(self, ids: Sequence[int | str], label: str) -> int:
        """Move stored examples to ``label``; returns how many changed."""
        label = refuse_reserved(validate_label(label))
        labels = {e.label for e in self.vector_store.list_examples(ids=list(ids))}
        changed = self.vector_store.relabel(list(ids), label)
        self.open_set.relabelled(list(ids), label)
        self._store_changed(labels | {label})
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
        Each label the store knows keeps one colour of :mod:`sam_detect.palette` in every
        picture; captions never overlap (:mod:`sam_detect.captions`).
        """
        overlay = draw_instances(self._load(image), results, known_labels=self.palette_labels())
        return overlay[:, :, ::-1].copy() if self.channel_order == "bgr" else overlay

    def evaluate(self, dataset_path: str, metrics: Sequence[str] | None = None,
                 **options: Any) -> Any:
        """Evaluate on a COCO dataset; see :func:`sam_detect.evaluation.core.evaluator.evaluate`.

        Returns:
            An :class:`~sam_detect.evaluation.EvaluationReport` (``.to_dict()`` for JSON).
        """
        from sam_detect.evaluation.core.evaluator import evaluate

        return evaluate(self, dataset_path, metrics=metrics, **options)

    def close(self) -> None:
        """Stop refitting and flush and release the vector store."""
        self.open_set.close()
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

    def _embed_masks(self, image: np.ndarray, masks: Sequence[Any]) -> np.ndarray:
        """Embed the faded crops of ``masks`` in an already loaded RGB ``image``."""
        return self.embed_crops([self._crop(image, validate_mask(mask, image.shape))
                                 for mask in masks])

    def _crop_views(self, crops: Sequence[np.ndarray]) -> np.ndarray | None:
        """Return ``(n, views, dim)`` teaching-time views of faded crops; None without views."""
        views = getattr(self.embedder, "teach_views", ())
        if len(views) < 2 or not callable(getattr(self.embedder, "embed_views", None)):
            return None
        if not len(crops):
            return np.zeros((0, len(views), self.embedder.dim), np.float32)
        return np.asarray(self.embedder.embed_views(list(crops)), np.float32)


FACADE_OPTIONS = tuple(o.name for o in options_for(LIBRARY) if o.name not in STORE_OPTIONS)
RUNTIME_OPTIONS = tuple(name for name in FACADE_OPTIONS if BY_NAME[name].runtime)
# Options used only to build a stage: given with a built stage they would do nothing.
_BUILD_OPTIONS = {"segmenter": ("sam_model", "points_per_side"),
                  "embedder": ("clip_model", "teach_views")}


class TaughtIds(list):
    """The ids of newly taught examples, with those of the background stored beside them.

    ``background`` lets whoever undoes the teaching remove everything it stored.
    ``examples`` is how many examples the ids are (an example's teaching-time views are several
    ids). ``pictures`` (from :meth:`SAMDetect.add_examples`) says, per picture taught from,
    which masks were stored and which other objects it held, so a front end can show exactly
    what it stored.
    """

    background: list[int | str]
    pictures: list[TaughtPicture]
    examples: int

    def __init__(self, ids: Sequence[int | str] = ()) -> None:
        super().__init__(ids)
        self.background = []
        self.pictures = []
        self.examples = len(self)


@dataclass(frozen=True)
class TaughtPicture:
    """What :meth:`SAMDetect.add_examples` took from one picture.

    Attributes:
        masks: The masks of the objects stored (none when the picture itself was the object,
            or an instance carried no mask).
        others: The masks of the picture's other objects, offered as known background (stored
            unless already known); what makes the choice of "the largest object" a guess.
    """

    masks: list[np.ndarray] = field(default_factory=list)
    others: list[np.ndarray] = field(default_factory=list)


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


def _several_pictures(image: Any) -> bool:
    """Return whether ``image`` is an iterable of pictures rather than one picture."""
    if image is None or isinstance(image, (str, bytes, os.PathLike, np.ndarray)):
        return False
    return not hasattr(image, "getbands") and hasattr(image, "__iter__")  # PIL: one picture


def _source(picture: Any) -> str | None:
    """Return the path a picture was read from, or None."""
    return str(picture) if isinstance(picture, (str, os.PathLike)) else None


def _needs_picture(image: np.ndarray | None) -> np.ndarray:
    if image is None:
        raise SamDetectError("give the picture to teach from (image=...)")
    return image


def _needs_embedding(item: Any) -> bool:
    return not isinstance(item, Instance) or item.embedding is None


def _mask_of(item: Any) -> Any:
    return item.mask if isinstance(item, Instance) else item


def _box_of(item: Any) -> tuple[int, int, int, int]:
    return tuple(item.bbox) if isinstance(item, Instance) else mask_to_bbox(item)


def _background_of(chosen: list[Any], others: list[Any]) -> list[Any]:
    """Return the ``others`` that overlap none of the ``chosen`` objects.

    Judged by masks, or by boxes where masks were not kept (a node's frame history).
    """
    if not chosen:
        return []
    masks = [_mask_of(item) for item in (*chosen, *others)]
    keep = set(range(len(others)))
    for taught in chosen:
        if all(mask is not None for mask in masks):
            keep &= set(background_masks(_mask_of(taught), [_mask_of(o) for o in others]))
        else:
            keep &= set(background_boxes(_box_of(taught), [_box_of(o) for o in others]))
    return [others[i] for i in sorted(keep)]


def _open_set_fitter(detector: SAMDetect) -> Any:
    """Return the fitter that keeps ``detector``'s open-set decision fitted to its store."""
    from sam_detect.classifier.fitting import OpenSetFitter
    from sam_detect.classifier.reference import fingerprint, reference_embeddings

    def reference() -> tuple[str, np.ndarray]:
        fade = detector.fade_strategy
        return (fingerprint(detector.embedder, fade),
                reference_embeddings(detector.embedder, fade))

    # An embedder that whitens its vectors on generic objects itself is not whitened again.
    return OpenSetFitter(detector.vector_store, reference,
                         whiten=lambda: not getattr(detector.embedder, "whitened", False))


def generic_similarity(whitening: Any, embeddings: np.ndarray, sketches: np.ndarray,
                       state: Any) -> np.ndarray:
    """Return each row's whitened similarity to generic objects (mean of its 3 best)."""
    from sam_detect.classifier.open_set import GENERIC_TOP

    white = whitening.similarities(embeddings @ state.reference.T, sketches,
                                   state.reference_sketch)
    top = min(GENERIC_TOP, white.shape[1])
    return -np.partition(-white, top - 1, axis=1)[:, :top].mean(axis=1)


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
