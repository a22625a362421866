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

import logging
import time
from datetime import datetime, timezone
from typing import Any, Sequence

import numpy as np

from sam_detect.classifier import (
    BACKGROUND_LABEL, KNNClassifier, Prediction, parameters_for, visible_labels)
from sam_detect.classifier.background import background_masks
from sam_detect.errors import InvalidMaskError, SamDetectError
from sam_detect.fading import HardCropFade, describe_fade, make_faded_crop
from sam_detect.image_io import (
    ImageLike, load_alpha_mask, load_image, validate_label, validate_mask)
from sam_detect.results import Detections, Instance, Neighbour, Segment
from sam_detect.visualize import draw_instances

logger = logging.getLogger("sam_detect")

DEFAULT_TOP_K = 5


class SAMDetect:
    """Few-shot instance recognition: masks from a segmenter, labels from stored examples.

    Every stage is swappable. With no arguments everything runs offline on the CPU: the classical
    :class:`~sam_detect.segmentation.NaiveSegmenter`, the best offline embedder installed
    (``create_embedder("auto")``), a :class:`~sam_detect.fading.HardCropFade` and an in-memory
    store. Pass an :class:`~sam_detect.vector_store.EdgeVectorStore` (or
    ``QdrantVectorStore``) for examples that persist.

    Args:
        segmenter: A :class:`~sam_detect.segmentation.Segmenter` or a kind (``"naive"``,
            ``"sam2"``).
        embedder: An :class:`~sam_detect.embedding.Embedder` or a kind (``"auto"``, ``"average"``,
            ``"efficientnet"``, ``"clip"``).
        fade_strategy: A :class:`~sam_detect.fading.FadeStrategy` (``fade_config`` is an alias,
            as in the seed's examples).
        vector_store: A :class:`~sam_detect.vector_store.VectorStore`; a new memory store if None.
        default_top_k: Neighbours fetched per instance.
        unknown_threshold: The sensitivity of the open-set decision: the cosine similarity floor
            below which an instance is unknown (the embedder's default when None). Above it, a
            label is still only reported when the instance is closer to it than to known
            background and to generic objects (see :mod:`sam_detect.classifier`).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"`` for models built from a kind.
        channel_order: ``"rgb"``, or ``"bgr"`` for arrays straight from OpenCV (``cv2.imread``,
            ``cv2.VideoCapture``); files and PIL images are always read correctly.

    Raises:
        IncompatibleStoreError: when the store was filled by another embedder.
    """

    def __init__(
        self,
        segmenter: Any = None,
        embedder: Any = None,
        fade_strategy: Any = None,
        vector_store: Any = None,
        default_top_k: int = DEFAULT_TOP_K,
        unknown_threshold: float | None = None,
        device: str = "auto",
        fade_config: Any = None,
        channel_order: str = "rgb",
    ) -> None:
        from sam_detect.embedding import create_embedder
        from sam_detect.segmentation import create_segmenter
        from sam_detect.vector_store import MemoryVectorStore, check_compatible

        if channel_order not in ("rgb", "bgr"):
            raise SamDetectError(f"channel_order must be 'rgb' or 'bgr', got '{channel_order}'")
        self.channel_order = channel_order
        self.vector_store = vector_store if vector_store is not None else MemoryVectorStore()
        if segmenter is None or isinstance(segmenter, str):
            segmenter = create_segmenter(segmenter or "naive", device=device)
        self.segmenter = segmenter
        if embedder is None or isinstance(embedder, str):
            saved = self.vector_store.get_metadata() or {}
            embedder = create_embedder(embedder or "auto", device=device,
                                       preferred=saved.get("name"), log=logger.info)
        self.embedder = embedder
        self.fade_strategy = fade_strategy or fade_config or HardCropFade()
        self.default_top_k = default_top_k
        open_set = parameters_for(embedder)
        self.classifier = KNNClassifier(
            unknown_threshold=(embedder.unknown_threshold if unknown_threshold is None
                               else unknown_threshold),
            margin=open_set.margin, calibration=open_set.calibration)
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
        self.fade_strategy = fade_strategy

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

    def classify(self, embeddings: np.ndarray, top_k: int | None = None) -> list[Prediction]:
        """Return a k-NN :class:`~sam_detect.classifier.Prediction` for each embedding row."""
        embeddings = np.asarray(embeddings, np.float32)
        if len(embeddings) == 0 or self.vector_store.count() == 0:
            return [Prediction(None, 0.0, []) for _ in range(len(embeddings))]
        hits = self.vector_store.search(embeddings, top_k or self.default_top_k)
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
        segments = self.segmenter.segment(image)
        segmented = time.perf_counter()
        fade = self.fade_strategy  # one fade for the whole frame, even if it is changed meanwhile
        crops = [make_faded_crop(image, s.mask, fade, s.bbox)[0] for s in segments]
        faded = time.perf_counter()
        embeddings = self._embed(crops)
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
            return self.add_embeddings(self._embed([image]), [label], [payload or {}])
        mask = validate_mask(mask, image.shape)
        others: list[np.ndarray] = []
        if background:
            segments = [s.mask for s in self.segmenter.segment(image)]
            others = [segments[i] for i in background_masks(mask, segments)]
        vectors = self._embed([self._crop(image, m) for m in [mask, *others]])
        return self.add_embeddings(vectors[:1], [label], [payload or {}], background=vectors[1:])

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
        labels = [validate_label(label) for label in labels]
        if BACKGROUND_LABEL in labels:
            raise SamDetectError(f"'{BACKGROUND_LABEL}' is reserved for known background; "
                                 "choose another label")
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
        if instance.mask is not None and others:
            keep = background_masks(instance.mask, [o.mask for o in others])
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
        embeddings = self.embed_masks(image, chosen + background)
        payload = {"source": str(image_path)}
        return self.add_embeddings(embeddings[:len(chosen)], [label] * len(chosen),
                                   [payload] * len(chosen), background=embeddings[len(chosen):])

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
        """Return ``{label: number of stored examples}`` (known background is not a label)."""
        return visible_labels(self.vector_store.labels())

    def remove_label(self, label: str) -> int:
        """Forget every example of ``label``; returns how many were removed."""
        return self.vector_store.remove(label=validate_label(label))

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
        return self.embedder.embed(crops)


__all__ = ["DEFAULT_TOP_K", "Neighbour", "SAMDetect"]
