# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""What the annotation UI does, without HTTP: images, masks, suggestions, teaching, undo.

An :class:`AnnotationSession` works on a *source* of pictures - a folder (:class:`FolderSource`)
or frames frozen from a live camera (:class:`LiveSource`) - and on a
:class:`~sam_detect.SAMDetect` whose public teaching calls (``add_examples``, and
``add_embeddings`` for embeddings already computed) are the only way examples enter the store.

Speed comes from never doing work twice: each picture is encoded (segmented and embedded) once
and cached by the SHA-1 of its content, the next pictures are encoded by a background thread,
a click returns small PNG masks, and after a save only the cached embeddings are classified
again (no model runs).
"""

from __future__ import annotations

import base64
import collections
import hashlib
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from sam_detect.classifier import is_background
from sam_detect.embedding.base import EXAMPLE_KEY, ORIGINAL_VIEW, VIEW_KEY
from sam_detect.errors import InvalidImageError, SamDetectError
from sam_detect.image_io import DEFAULT_MAX_PIXELS, decode_image, IMAGE_SUFFIXES
from sam_detect.labels import validate_label
from sam_detect.palette import UNKNOWN_COLOUR, assign_colours, hex_colour, text_colour
from sam_detect.results import Instance, Neighbour, decode_rle, encode_rle, mask_to_bbox
from sam_detect.visualize import Look, plan_overlay

logger = logging.getLogger(__name__)

THUMBNAIL_SIDE = 96
MAX_SUGGESTIONS = 9
UNDO_DEPTH = 200
SETTLE_S = 10.0  # a teaching request answers once the decision is refitted (or after this)
PROMPTS_KEPT = 32


class NotFoundError(SamDetectError):
    """An image, instance, prompt or example the request names does not exist."""


class ConflictError(SamDetectError):
    """The picture a request is about changed since the page was shown it."""


# -- sources -------------------------------------------------------------------------------------


class FolderSource:
    """The image files under one directory (recursively), by index; nothing outside it.

    Args:
        directory: The folder. Files are listed once; symbolic links leading outside the folder
            are skipped, and files are only ever read by their index in this list, so a request
            cannot name a path.
        max_pixels: Pictures whose header declares more pixels are refused before decoding
            (default :data:`~sam_detect.image_io.DEFAULT_MAX_PIXELS`, 8192 x 8192).

    Raises:
        InvalidImageError: when the folder does not exist or holds no image.

    A picture deleted since the listing is a :class:`NotFoundError`, one that cannot be decoded
    an :class:`~sam_detect.errors.InvalidImageError`; both name it relative to the folder.
    """

    live = False

    def __init__(self, directory: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        root = Path(directory).expanduser().resolve()
        if not root.is_dir():
            raise InvalidImageError(f"{directory} is not a folder of images")
        files = sorted(p for p in root.rglob("*")
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                       and p.resolve().is_relative_to(root))
        if not files:
            raise InvalidImageError(f"no images found in {directory}")
        self.root = root
        self.files = files
        self.max_pixels = max_pixels
        self._names = [p.relative_to(root).as_posix() for p in files]

    def names(self) -> list[str]:
        """Return the images' paths relative to the folder, in display order."""
        return list(self._names)

    def _read(self, index: int) -> bytes:
        name = self._names[index]
        try:
            return self.files[index].read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{name} is no longer in the folder") from None
        except OSError as error:
            raise NotFoundError(f"cannot read {name}: {error.strerror or 'error'}") from None

    def digest(self, index: int) -> str:
        """Return the SHA-1 of image ``index``'s file: the cache key, cheaper than decoding."""
        return hashlib.sha1(self._read(index)).hexdigest()

    def load(self, index: int) -> tuple[np.ndarray, str]:
        """Return image ``index`` as RGB and the SHA-1 of the very bytes decoded."""
        data = self._read(index)
        image = decode_image(data, self._names[index], max_pixels=self.max_pixels)
        return image, hashlib.sha1(data).hexdigest()

    def instances(self, index: int) -> list[Instance] | None:
        """Folders carry no precomputed detections."""
        return None


class LiveSource:
    """Frames frozen from a running camera, each with the detections the node made for it.

    Frames are addressed by a stable number: the Nth frame frozen is always index N - 1, also
    after older frames were dropped, so a request made from an older view never reaches another
    frame. A dropped frame keeps its name (marked "no longer kept") and answers 404.

    Args:
        grab: Returns the latest ``(rgb_frame, instances)`` or ``None`` when no frame came yet.
            The instances carry their embeddings, so teaching one is exactly ``label_instance``.
        keep: How many frozen frames to keep (oldest dropped); each holds its full-frame masks.
    """

    live = True

    def __init__(self, grab: Callable[[], tuple[np.ndarray, Sequence[Instance]] | None],
                 keep: int = 10) -> None:
        self.grab = grab
        self.keep = keep
        self._names: list[str] = []  # every frame ever frozen, by its number
        self._frames: dict[int, tuple[np.ndarray, list[Instance], str]] = {}
        self._lock = threading.Lock()

    def freeze(self) -> int:
        """Take the latest frame and its detections; return its (stable) index.

        Raises:
            NotFoundError: when the camera has sent nothing yet.
        """
        latest = self.grab()
        if latest is None:
            raise NotFoundError("no camera frame received yet; check the image topic")
        frame, instances = latest
        frame = np.ascontiguousarray(frame)
        digest = hashlib.sha1(memoryview(frame).cast("B")).hexdigest()
        with self._lock:
            index = len(self._names)
            self._names.append(f"frame-{index + 1} {time.strftime('%H:%M:%S')}")
            self._frames[index] = (frame, list(instances), digest)
            for old in [i for i in self._frames if i <= index - self.keep]:
                del self._frames[old]
                self._names[old] += " (no longer kept)"
            return index

    def dropped(self, index: int) -> bool:
        """Return whether frame ``index`` was frozen once and has been dropped since."""
        with self._lock:
            return 0 <= index < len(self._names) and index not in self._frames

    def names(self) -> list[str]:
        """Return the frozen frames' names by index, oldest first (dropped ones marked)."""
        with self._lock:
            return list(self._names)

    def _frame(self, index: int) -> tuple[np.ndarray, list[Instance], str]:
        with self._lock:
            frame = self._frames.get(index)
        if frame is None:
            raise NotFoundError(f"frame {index + 1} is no longer kept (the last {self.keep} "
                                "frozen frames are); freeze a new one")
        return frame

    def digest(self, index: int) -> str:
        """Return frozen frame ``index``'s content hash."""
        return self._frame(index)[2]

    def load(self, index: int) -> tuple[np.ndarray, str]:
        """Return frozen frame ``index`` and its content hash."""
        frame, _, digest = self._frame(index)
        return frame, digest

    def instances(self, index: int) -> list[Instance] | None:
        """Return the node's detections of frozen frame ``index``."""
        return list(self._frame(index)[1])


# -- cached work ---------------------------------------------------------------------------------


@dataclass
class Encoded:
    """One picture, segmented and embedded once."""

    digest: str
    image: np.ndarray
    instances: list[Instance]
    encode_ms: float
    jpeg: bytes = b""


@dataclass
class Summary:
    """What is kept of every encoded picture even after its pixels leave the cache."""

    name: str
    digest: str
    shape: tuple[int, int]
    bboxes: list[tuple[int, int, int, int]]
    rles: list[dict[str, Any]]
    embeddings: np.ndarray


@dataclass
class PromptResult:
    """Candidate masks made from a person's prompts on one picture."""

    index: int
    masks: list[np.ndarray]
    embeddings: list[np.ndarray]
    digest: str = ""
    done: threading.Event = field(default_factory=threading.Event)
    created: float = field(default_factory=time.monotonic)


def mask_png(mask: np.ndarray, bbox: Sequence[int]) -> str:
    r"""Return the mask inside ``bbox`` as a base64 1-channel PNG (255 = object), a few 100 bytes.

    Example:
        >>> m = np.zeros((4, 4), bool); m[1:3, 1:3] = True
        >>> base64.b64decode(mask_png(m, (1, 1, 3, 3)))[:4]
        b'\x89PNG'
    """
    x0, y0, x1, y1 = (int(v) for v in bbox)
    crop = mask[y0:y1, x0:x1].astype(np.uint8) * 255
    ok, data = cv2.imencode(".png", crop, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    return base64.b64encode(data.tobytes()).decode("ascii") if ok else ""


def thumbnail(image: np.ndarray, mask: np.ndarray, bbox: Sequence[int]) -> str:
    """Return a small JPEG data URL of the object (context dimmed), for galleries."""
    x0, y0, x1, y1 = (int(v) for v in bbox)
    pad = max(4, (x1 - x0 + y1 - y0) // 16)
    height, width = mask.shape
    x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
    x1, y1 = min(width, x1 + pad), min(height, y1 + pad)
    crop = image[y0:y1, x0:x1].astype(np.float32)
    inside = mask[y0:y1, x0:x1, None]
    crop = np.where(inside, crop, crop * 0.35).astype(np.uint8)
    scale = THUMBNAIL_SIDE / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)),
                                 max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", crop[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode("ascii")


def look_json(look: Look) -> dict[str, Any]:
    """Return how the page draws one object: the overlays' colours and caption place.

    Example:
        >>> from sam_detect.visualize import plan_overlay
        >>> look_json(plan_overlay([None], [0.0], [(0, 20, 10, 30)], (40, 40))[0])["caption"]
        {'text': '?', 'box': [0, 9, 8, 20]}
    """
    caption = None if look.caption is None else {"text": look.caption.text,
                                                 "box": [int(v) for v in look.caption.box]}
    return {"colour": hex_colour(look.colour), "ink": hex_colour(look.ink), "caption": caption}


def label_colours(labels: Sequence[str]) -> dict[str, dict[str, str]]:
    """Return ``{label: {"colour", "ink"}}`` for the store's labels (the page's label chips)."""
    colours = assign_colours(labels, labels)
    return {label: {"colour": hex_colour(rgb), "ink": hex_colour(text_colour(rgb))}
            for label, rgb in colours.items()}


def edited_mask(rle: dict[str, Any], shape: Sequence[int]) -> np.ndarray:
    """Return a mask the page edited (uncompressed COCO RLE, column-major) as a boolean array.

    Raises:
        SamDetectError: when it does not describe a non-empty mask of the picture's size.

    Example:
        >>> edited_mask({"size": [2, 3], "counts": [1, 2, 3]}, (2, 3)).astype(int).tolist()
        [[0, 1, 0], [1, 0, 0]]
    """
    size, counts = rle.get("size"), rle.get("counts")
    if list(size or ()) != [int(shape[0]), int(shape[1])]:
        raise SamDetectError(f"the edited mask is {size} but the picture is "
                             f"{[int(shape[0]), int(shape[1])]} (rows, columns)")
    if not isinstance(counts, list) or any(
            isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in counts):
        raise SamDetectError("the edited mask's counts must be whole numbers >= 0")
    if sum(counts) != int(shape[0]) * int(shape[1]):
        raise SamDetectError(f"the edited mask's counts add up to {sum(counts)}, not "
                             f"{int(shape[0]) * int(shape[1])} pixels")
    mask = decode_rle({"size": [int(shape[0]), int(shape[1])], "counts": counts})
    if not mask.any():
        raise SamDetectError("the edited mask is empty: paint the object with the brush")
    return mask


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def box_iou(a: Sequence[int], b: Sequence[int]) -> float:
    """Return the intersection over union of two ``x0, y0, x1, y1`` boxes.

    Example:
        >>> box_iou((0, 0, 10, 10), (5, 0, 15, 10))
        0.3333333333333333
    """
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def picture_of(payload: dict[str, Any]) -> str:
    """Name the picture a stored example (or known background) was taught from, for people.

    Example:
        >>> picture_of({"source": "/photos/kitchen/cup.jpg"})
        'cup.jpg'
        >>> picture_of({"source": "ros:label_instance", "stamp": [12, 5], "camera": "left"})
        'the camera frame 12.000000005 (left)'
        >>> picture_of({})
        'a picture taught earlier'
    """
    source = str(payload.get("source") or "")
    if source.startswith("ros:") or "stamp" in payload:
        stamp = payload.get("stamp")
        when = f" {stamp[0]}.{stamp[1]:09d}" if isinstance(stamp, list) and len(stamp) == 2 else ""
        camera = f" ({payload['camera']})" if payload.get("camera") else ""
        return f"the camera frame{when}{camera}"
    if source:
        return Path(source).name or source
    return "a picture taught earlier"


def _one_per_example(neighbours: Sequence[Neighbour]) -> list[Neighbour]:
    """Return the neighbours with each example once (its most similar view), in order."""
    seen, kept = set(), []
    for n in neighbours:
        example = (n.payload or {}).get(EXAMPLE_KEY, ("id", n.id))
        if example not in seen:
            seen.add(example)
            kept.append(n)
    return kept


def vote_shares(neighbours: Sequence[Neighbour], sharpness: float) -> list[dict[str, Any]]:
    """Return per-label vote share and best similarity of ``neighbours``, biggest share first.

    The weights are the classifier's (``max(similarity, 0) ** sharpness``).

    Example:
        >>> hits = [Neighbour("cup", 0.9), Neighbour("can", 0.8), Neighbour("cup", 0.5)]
        >>> [(s["label"], s["share"]) for s in vote_shares(hits, 4.0)]
        [('cup', 0.637), ('can', 0.363)]
    """
    votes: dict[str, float] = {}
    best: dict[str, float] = {}
    for n in neighbours:
        votes[n.label] = votes.get(n.label, 0.0) + max(float(n.score), 0.0) ** sharpness
        best[n.label] = max(best.get(n.label, -1.0), float(n.score))
    total = sum(votes.values()) or 1.0
    order = sorted(votes, key=lambda label: (-votes[label], -best[label], label))
    # Known background takes its part of the vote (it lowers the others' shares) but is never
    # suggested: it is the store's evidence of what nothing taught is.
    order = [label for label in order if not is_background(label)]
    return [{"label": label, "share": round(votes[label] / total, 3),
             "similarity": round(best[label], 3)} for label in order[:MAX_SUGGESTIONS]]


# -- the session ---------------------------------------------------------------------------------


class AnnotationSession:
    """Everything the annotation page can ask for, on one detector and one source.

    Args:
        detector: The :class:`~sam_detect.SAMDetect` to teach (its store gets the examples).
        source: A :class:`FolderSource` or :class:`LiveSource`.
        prefetch: How many following pictures to encode in the background after each view.
        cache_size: How many encoded pictures (pixels and masks) to keep.
        similar_threshold: Cosine similarity above which "label all similar" takes an instance;
            by default halfway between the detector's unknown threshold and 1.
        model_lock: A lock held around every model call; pass the node's when it shares the
            detector with a camera pipeline.
    """

    def __init__(self, detector: Any, source: Any, prefetch: int = 2, cache_size: int = 24,
                 similar_threshold: float | None = None,
                 model_lock: Any = None) -> None:
        from sam_detect.segmentation.prompted import create_masker

        self.detector = detector
        self.source = source
        self.prefetch = prefetch
        self.cache_size = cache_size
        self.similar_threshold = similar_threshold
        self.masker = create_masker(detector.segmenter)
        self._model_lock = model_lock or threading.RLock()
        self._lock = threading.RLock()
        self._cache: collections.OrderedDict[str, Encoded] = collections.OrderedDict()
        self._digests: dict[int, str] = {}
        self._shown: dict[int, str] = {}  # the content of each picture as the page last saw it
        self._encoding: dict[str, threading.Event] = {}  # pictures being encoded right now
        self._summaries: dict[int, Summary] = {}
        self._prompts: collections.OrderedDict[str, PromptResult] = collections.OrderedDict()
        self._undo: list[dict[str, Any]] = []
        self._saved: dict[int, list[dict[str, Any]]] = {}
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._worker = threading.Thread(target=self._prefetch_loop, name="annotate-prefetch",
                                        daemon=True)
        self._closed = False
        self._worker.start()

    # -- pictures ------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Return the pictures' names in order."""
        return self.source.names()

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.source.names()):
            raise NotFoundError(f"no image {index}; there are {len(self.source.names())}")

    def encoded(self, index: int) -> tuple[Encoded, bool]:
        """Return picture ``index`` segmented and embedded, and whether that came from the cache.

        The cache is keyed by content: the same pixels under another name are not encoded again.
        """
        self._check_index(index)
        digest = self.source.digest(index)
        while True:
            with self._lock:
                hit = self._cache.get(digest)
                if hit is not None:
                    self._cache.move_to_end(digest)
                    self._digests[index] = digest
                    return hit, True
                running = self._encoding.get(digest)
                if running is None:
                    self._encoding[digest] = threading.Event()
                    break
            # The background encoder is on this very picture: wait for it, do not encode twice.
            running.wait()
        try:
            image, current = self.source.load(index)  # the file may have changed meanwhile
            return self._encode(index, image, current), False
        finally:
            with self._lock:
                self._encoding.pop(digest).set()

    def _encode(self, index: int, image: np.ndarray, digest: str) -> Encoded:
        start = time.perf_counter()
        instances = self.source.instances(index)
        if instances is None or any(i.embedding is None for i in instances):
            with self._model_lock:
                instances = list(self.detector.detect(image))
        encoded = Encoded(digest, image, instances, (time.perf_counter() - start) * 1e3)
        ok, data = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        encoded.jpeg = data.tobytes() if ok else b""
        dim = int(self.detector.embedder.dim)
        summary = Summary(
            name=self.source.names()[index], digest=digest, shape=image.shape[:2],
            bboxes=[tuple(int(v) for v in i.bbox) for i in instances],
            rles=[encode_rle(i.mask) for i in instances],
            embeddings=(np.stack([i.embedding for i in instances]).astype(np.float32)
                        if instances else np.zeros((0, dim), np.float32)))
        with self._lock:
            self._cache[digest] = encoded
            self._digests[index] = digest
            self._summaries[index] = summary
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return encoded

    def _prefetch_loop(self) -> None:
        while True:
            index = self._queue.get()
            if index is None or self._closed:
                return
            try:
                if 0 <= index < len(self.source.names()):
                    self.encoded(index)
            except Exception as exc:  # a broken file must not stop the worker
                logger.warning("cannot pre-encode image %d: %s", index, exc)

    def _schedule_prefetch(self, index: int) -> None:
        if self.source.live:
            return
        for step in range(1, self.prefetch + 1):
            following = index + step
            if following < len(self.source.names()):
                digest = self._digests.get(following)
                if digest is None or digest not in self._cache:
                    self._queue.put(following)

    def image_jpeg(self, index: int) -> bytes:
        """Return picture ``index`` as JPEG bytes."""
        return self.encoded(index)[0].jpeg

    def view(self, index: int) -> dict[str, Any]:
        """Return picture ``index`` with every instance's mask and suggestions.

        Also queues the next pictures for background encoding.
        """
        start = time.perf_counter()
        encoded, cached = self.encoded(index)
        with self._lock:
            self._shown[index] = encoded.digest
        self._schedule_prefetch(index)
        height, width = encoded.image.shape[:2]
        return {
            "index": index, "name": self.source.names()[index],
            "count": len(self.source.names()), "width": width, "height": height,
            "cached": cached, "encode_ms": round(encoded.encode_ms, 1),
            "instances": self._describe(encoded.instances, (height, width)),
            "saved": list(self._saved.get(index, [])),
            "colours": label_colours(list(self.labels())),
            "server_ms": round((time.perf_counter() - start) * 1e3, 1),
        }

    def _predictions(self, embeddings: np.ndarray) -> list[Any]:
        return self.detector.classify(embeddings)

    def _describe(self, instances: Sequence[Instance],
                  shape: Sequence[int]) -> list[dict[str, Any]]:
        embeddings = (np.stack([i.embedding for i in instances]) if instances
                      else np.zeros((0, self.detector.embedder.dim), np.float32))
        predictions = self._predictions(embeddings)
        sharpness = self.detector.classifier.sharpness
        # The overlays' own plan: the same colours and caption places as sam-detect --output.
        looks = plan_overlay([p.label for p in predictions],
                             [float(p.confidence) for p in predictions],
                             [i.bbox for i in instances], shape, list(self.labels()))
        return [{
            "id": int(i.id), "bbox": [int(v) for v in i.bbox], "area": int(i.area),
            "png": mask_png(i.mask, i.bbox), "label": p.label,
            "confidence": round(float(p.confidence), 3),
            "suggestions": vote_shares(p.neighbours, sharpness), **look_json(look),
        } for i, p, look in zip(instances, predictions, looks)]

    # -- prompts -------------------------------------------------------------------------------

    def prompt(self, index: int, points: Sequence[Sequence[float]] | None = None,
               point_labels: Sequence[int] | None = None,
               box: Sequence[float] | None = None) -> dict[str, Any]:
        """Make candidate masks from points and/or a box; return them with suggestions."""
        start = time.perf_counter()
        encoded, _ = self.encoded(index)
        # Answer with the best candidate at once; the others are made in the background while
        # the person looks at it (Tab fetches them with :meth:`prompt_candidates`).
        first = None
        with self._model_lock:
            for attempt in range(3):  # a window can come back empty: try the next one
                segments = self.masker.candidates(encoded.image, points, point_labels, box,
                                                  first=attempt, limit=1)
                if segments:
                    first = segments[0].mask
                    break
            if first is None:
                raise SamDetectError("no object found at those prompts; add a point or a box")
            embedding = self.detector.embed_masks(encoded.image, [first])[0]
        prompt_id = uuid.uuid4().hex
        result = PromptResult(index, [first], [embedding], encoded.digest)
        with self._lock:
            self._prompts[prompt_id] = result
            while len(self._prompts) > PROMPTS_KEPT:
                self._prompts.popitem(last=False)
        threading.Thread(target=self._more_candidates, name="annotate-candidates", daemon=True,
                         args=(result, encoded.image, points, point_labels, box,
                               attempt + 1)).start()
        return {"prompt": prompt_id, "candidates": self._describe_masks([first], [embedding]),
                "more": True, "masker": self.masker.name,
                "server_ms": round((time.perf_counter() - start) * 1e3, 1)}

    def _more_candidates(self, result: PromptResult, image: np.ndarray, points: Any,
                         point_labels: Any, box: Any, first: int) -> None:
        try:
            if self._closed:
                return
            with self._model_lock:
                segments = self.masker.candidates(image, points, point_labels, box, first=first)
                masks = [s.mask for s in segments
                         if all(box_iou(mask_to_bbox(s.mask), mask_to_bbox(m)) < 0.95
                                or _mask_iou(s.mask, m) < 0.92 for m in result.masks)]
                embeddings = (list(self.detector.embed_masks(image, masks)) if masks else [])
            with self._lock:
                result.masks.extend(masks)
                result.embeddings.extend(embeddings)
        except Exception as exc:  # the first candidate stands; log why there are no others
            logger.warning("cannot make more candidate masks: %s", exc)
        finally:
            result.done.set()

    def prompt_candidates(self, prompt: str, timeout: float = 30.0) -> dict[str, Any]:
        """Return every candidate of ``prompt`` (waiting for the background ones)."""
        with self._lock:
            result = self._prompts.get(prompt)
        if result is None:
            raise NotFoundError("that mask is no longer available; click the object again")
        result.done.wait(timeout)
        with self._lock:
            masks, embeddings = list(result.masks), list(result.embeddings)
        return {"prompt": prompt, "candidates": self._describe_masks(masks, embeddings),
                "more": not result.done.is_set(), "masker": self.masker.name}

    def _describe_masks(self, masks: list[np.ndarray],
                        embeddings: list[np.ndarray]) -> list[dict[str, Any]]:
        predictions = self._predictions(np.stack(embeddings))
        sharpness = self.detector.classifier.sharpness
        colours = assign_colours([p.label for p in predictions], list(self.labels()))
        candidates = []
        for mask, prediction in zip(masks, predictions):
            bbox = mask_to_bbox(mask)
            colour = colours.get(prediction.label, UNKNOWN_COLOUR)
            candidates.append({
                "bbox": [int(v) for v in bbox], "area": int(mask.sum()),
                "png": mask_png(mask, bbox), "label": prediction.label,
                "confidence": round(float(prediction.confidence), 3),
                "suggestions": vote_shares(prediction.neighbours, sharpness),
                "colour": hex_colour(colour), "ink": hex_colour(text_colour(colour))})
        return candidates

    def _target(self, index: int, instance: int | None, prompt: str | None,
                candidate: int) -> tuple[Encoded, np.ndarray, np.ndarray, Instance | None]:
        """Return the picture, the mask, the embedding and (for a detection) the instance.

        Raises:
            ConflictError: when the picture changed since the page was shown it (or since the
                prompt was made on it): the instance or mask asked for belongs to the old one.
        """
        encoded = self._as_shown(index)
        if prompt is not None:
            with self._lock:
                result = self._prompts.get(prompt)
            if result is None or result.index != index:
                raise NotFoundError("that mask is no longer available; click the object again")
            if result.digest and result.digest != encoded.digest:
                raise ConflictError(f"{self.source.names()[index]} changed since that mask was "
                                    "made; click the object again")
            if candidate >= len(result.masks):
                result.done.wait(30.0)  # asked for a candidate still being made
            with self._lock:
                if not 0 <= candidate < len(result.masks):
                    raise NotFoundError(f"no candidate mask {candidate}")
                return encoded, result.masks[candidate], result.embeddings[candidate], None
        if instance is None:
            raise SamDetectError("select an object first (click it, or give instance or prompt)")
        match = [i for i in encoded.instances if i.id == instance]
        if not match:
            raise NotFoundError(f"no instance {instance} in image {index}")
        return encoded, match[0].mask, match[0].embedding, match[0]

    def _as_shown(self, index: int) -> Encoded:
        """Return picture ``index`` encoded, as the page was last shown it.

        Raises:
            ConflictError: when the picture changed since the page was shown it: what the
                page selected or painted belongs to the old one.
        """
        encoded, _ = self.encoded(index)
        with self._lock:
            shown = self._shown.get(index)
        if shown is not None and shown != encoded.digest:
            raise ConflictError(f"{self.source.names()[index]} changed since it was shown; "
                                "open it again")
        return encoded

    def _payload(self, index: int, encoded: Encoded, mask: np.ndarray) -> dict[str, Any]:
        bbox = mask_to_bbox(mask)
        return {"source": self.source.names()[index], "image_sha1": encoded.digest,
                "bbox": [int(v) for v in bbox], "rle": encode_rle(mask),
                "thumbnail": thumbnail(encoded.image, mask, bbox),
                "via": "annotate-live" if self.source.live else "annotate"}

    # -- teaching ------------------------------------------------------------------------------

    def save(self, index: int, label: str, instance: int | None = None,
             prompt: str | None = None, candidate: int = 0,
             mask: dict[str, Any] | None = None) -> dict[str, Any]:
        """Store the selected mask under ``label``; return the refreshed picture.

        Everything is taught through :meth:`~sam_detect.SAMDetect.add_examples` (the one
        teaching call) from an embedding computed once: a detected instance's (as the node's
        ``label_instance``, with the picture's other objects as known background), or a
        prompted mask's. A ``mask`` the person edited with the brush and eraser (uncompressed
        COCO RLE of the whole picture, see :func:`edited_mask`) replaces the selected one: it is
        embedded afresh and taught with the picture's other objects as known background. With
        ``mask`` and no selection, the painted mask alone is taught.
        """
        start = time.perf_counter()
        label = validate_label(label)
        if mask is not None:
            ids, payload = self._save_edited(index, label, mask)
        else:
            ids, payload = self._save_selected(index, label, instance, prompt, candidate)
        self._settle()
        # Undo removes all the save stored: the example and the background it brought.
        record = {"ids": list(ids), "background_ids": list(getattr(ids, "background", [])),
                  "label": label, "bbox": payload["bbox"],
                  "instance": instance if mask is None else None}
        with self._lock:
            self._saved.setdefault(index, []).append(record)
            self._undo.append({"index": index, "records": [record]})
            del self._undo[:-UNDO_DEPTH]
        view = self.view(index)
        view.update(saved_ids=list(ids), labels=self.labels(),
                    server_ms=round((time.perf_counter() - start) * 1e3, 1))
        return view

    def _save_edited(self, index: int, label: str,
                     rle: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        encoded = self._as_shown(index)  # the mask was painted on the picture as shown
        mask = edited_mask(rle, encoded.image.shape)
        payload = self._payload(index, encoded, mask)
        payload["edited"] = True
        # The picture is at hand: the mask is embedded afresh, with every teaching view.
        with self._model_lock:
            ids = self.detector.add_examples(encoded.image, label, masks=[mask],
                                             background=encoded.instances, payload=payload)
        return ids, payload

    def _save_selected(self, index: int, label: str, instance: int | None, prompt: str | None,
                       candidate: int) -> tuple[list[Any], dict[str, Any]]:
        encoded, mask, embedding, detected = self._target(index, instance, prompt, candidate)
        payload = self._payload(index, encoded, mask)
        # With the picture: an embedder with teaching views stores them all; without views the
        # instance's own embedding is stored (no model runs).
        with self._model_lock:
            if detected is not None:
                # As the node's label_instance: the picture's other objects are known background.
                ids = self.detector.add_examples(encoded.image, label, masks=[detected],
                                                 background=encoded.instances, payload=payload)
            else:
                prompted = Instance(mask, mask_to_bbox(mask), embedding=embedding)
                ids = self.detector.add_examples(encoded.image, label, masks=[prompted],
                                                 background=False, payload=payload)
        return ids, payload

    def undo(self) -> dict[str, Any]:
        """Delete the examples of the last save (a real delete in the store)."""
        with self._lock:
            if not self._undo:
                raise NotFoundError("nothing to undo")
            entry = self._undo.pop()
            for record in entry["records"]:
                saved = self._saved.get(record.get("index", entry["index"]), [])
                if record in saved:
                    saved.remove(record)
        ids = [i for record in entry["records"] for i in record["ids"]]
        hidden = [i for record in entry["records"] for i in record.get("background_ids", [])]
        # examples, not vectors: a save's teaching views are one example
        removed = min(self.detector.remove_examples(ids), len(entry["records"]))
        if hidden:  # counted apart: "removed" is what the person saved
            self.detector.remove_examples(hidden)
        self._settle()
        return {"removed": removed, "index": entry["index"], "labels": self.labels()}

    def label_similar(self, index: int, label: str, instance: int | None = None,
                      prompt: str | None = None, candidate: int = 0) -> dict[str, Any]:
        """Teach ``label`` for every encoded, unsaved instance similar to the chosen one."""
        label = validate_label(label)
        _, _, query, _ = self._target(index, instance, prompt, candidate)
        threshold = self.similar_threshold
        if threshold is None:
            threshold = (1.0 + float(self.detector.unknown_threshold)) / 2
        summaries = self._kept_summaries()
        chosen: list[tuple[int, int, float]] = []
        for image_index, summary in summaries.items():
            if not len(summary.embeddings):
                continue
            scores = summary.embeddings @ np.asarray(query, np.float32)
            for k in np.flatnonzero(scores >= threshold):
                if not self._is_saved(image_index, summary.bboxes[k]) and not (
                        image_index == index and instance is not None and k == instance):
                    chosen.append((image_index, int(k), float(scores[k])))
        records, embeddings, payloads, skipped = [], [], [], {}
        images: dict[int, np.ndarray | None] = {}
        for image_index, k, _ in chosen:
            summary = summaries[image_index]
            if image_index not in images:
                # A picture deleted, replaced or dropped since it was encoded is left out (and
                # named); the others are still taught.
                try:
                    image, digest = self.source.load(image_index)
                    if digest != summary.digest:
                        raise ConflictError(f"{summary.name} changed since it was encoded")
                    images[image_index] = image
                except SamDetectError as error:
                    images[image_index] = None
                    skipped[summary.name] = str(error)
            image = images[image_index]
            if image is None:
                continue
            mask = decode_rle(summary.rles[k])
            payload = {"source": summary.name, "image_sha1": summary.digest,
                       "bbox": list(summary.bboxes[k]), "rle": summary.rles[k],
                       "thumbnail": thumbnail(image, mask, summary.bboxes[k]),
                       "via": "annotate-similar"}
            payloads.append(payload)
            embeddings.append(summary.embeddings[k])
            records.append({"index": image_index, "label": label, "bbox": payload["bbox"],
                            "instance": k})
        if not records:
            return {"taught": 0, "threshold": round(threshold, 3), "labels": self.labels(),
                    "skipped": skipped}
        ids = self.detector.add_embeddings(np.stack(embeddings), [label] * len(records), payloads)
        self._settle()
        with self._lock:
            for record, point_id in zip(records, ids):
                record["ids"] = [point_id]
                self._saved.setdefault(record["index"], []).append(record)
            self._undo.append({"index": index, "records": records})
            del self._undo[:-UNDO_DEPTH]
        return {"taught": len(records), "threshold": round(threshold, 3),
                "images": sorted({summaries[r["index"]].name for r in records}),
                "labels": self.labels(), "skipped": skipped}

    def _kept_summaries(self) -> dict[int, Summary]:
        """Return the summaries of the encoded pictures the source still has."""
        dropped = getattr(self.source, "dropped", lambda index: False)
        with self._lock:
            return {i: s for i, s in self._summaries.items() if not dropped(i)}

    def _is_saved(self, index: int, bbox: Sequence[int]) -> bool:
        """Whether this session saved an example where ``bbox`` is (box IoU >= 0.7)."""
        with self._lock:
            records = list(self._saved.get(index, []))
        return any(box_iou(bbox, r["bbox"]) >= 0.7 for r in records)

    # -- looking at the store ------------------------------------------------------------------

    def labels(self) -> dict[str, int]:
        """Return ``{label: number of stored examples}``."""
        return self.detector.labels()

    def _settle(self) -> None:
        """Answer a teaching request once the open-set decision is refitted to it (bounded)."""
        wait = getattr(self.detector, "wait_for_open_set", None)
        if wait is not None:
            wait(SETTLE_S)

    @staticmethod
    def _example(point_id: Any, label: str, payload: dict[str, Any],
                 score: float | None = None) -> dict[str, Any]:
        item = {"id": point_id, "label": label, "source": payload.get("source"),
                "thumbnail": payload.get("thumbnail"), "added": payload.get("added"),
                "bbox": payload.get("bbox")}
        if score is not None:
            item["similarity"] = round(float(score), 3)
        return item

    def examples(self, label: str | None = None, ids: list[Any] | None = None,
                 limit: int = 200) -> list[dict[str, Any]]:
        """List what the store holds for the gallery, thumbnails included."""
        def tiles(rows: int | None) -> tuple[int, list[dict[str, Any]]]:
            found = self.detector.vector_store.list_examples(label=label, ids=ids, limit=rows)
            # one tile per example: its teaching-time views are the store's, not the person's
            return len(found), [self._example(e.id, e.label, e.payload) for e in found
                                if not is_background(e.label)  # the store's, not a user's
                                and e.payload.get(VIEW_KEY, ORIGINAL_VIEW) == ORIGINAL_VIEW]

        # An example is up to a dozen rows (its views): read enough rows for ``limit`` tiles.
        rows = limit * 16 if limit else None
        read, shown = tiles(rows)
        if rows is not None and read == rows and len(shown) < limit:
            read, shown = tiles(None)
        return shown[:limit] if limit else shown

    def _user_example(self, point_id: Any) -> list[Any]:
        """Return the ids of the example ``point_id`` a person stored, all its views included.

        Raises:
            NotFoundError: unless it is one (hidden background is the store's, not a person's).
        """
        found = self.detector.vector_store.list_examples(ids=[point_id], limit=1)
        if not found or is_background(found[0].label):
            raise NotFoundError(f"no stored example {point_id}")
        example = found[0].payload.get(EXAMPLE_KEY)
        if example is None:
            return [found[0].id]
        return [e.id for e in self.detector.vector_store.list_examples(label=found[0].label)
                if e.payload.get(EXAMPLE_KEY) == example]

    def delete_example(self, point_id: Any) -> dict[str, Any]:
        """Delete one stored example and its views (known background is never the page's)."""
        views = self._user_example(point_id)
        removed = self.detector.remove_examples(views)
        if not removed:
            raise NotFoundError(f"no stored example {point_id}")
        self._settle()
        return {"removed": 1, "labels": self.labels()}

    def relabel_example(self, point_id: Any, label: str) -> dict[str, Any]:
        """Move one stored example and its views to another label (never hidden background)."""
        views = self._user_example(point_id)
        changed = self.detector.relabel_examples(views, label)
        if not changed:
            raise NotFoundError(f"no stored example {point_id}")
        self._settle()
        return {"changed": 1, "labels": self.labels()}

    def explain(self, index: int, instance: int | None = None, prompt: str | None = None,
                candidate: int = 0) -> dict[str, Any]:
        """Return the stored examples that voted for the chosen mask's prediction."""
        _, _, embedding, _ = self._target(index, instance, prompt, candidate)
        prediction = self._predictions(np.asarray(embedding, np.float32)[None, :])[0]
        # Known background is the store's own evidence, not an example a person taught: it is
        # never shown as one; when it is what the object is closest to, say so in words.
        taught = [n for n in prediction.neighbours if not is_background(n.label)]
        background = [n for n in prediction.neighbours if is_background(n.label)]
        note = None
        if background and (not taught or background[0].score >= taught[0].score):
            note = f"closer to the background of {picture_of(background[0].payload)}"
        return {"label": prediction.label, "confidence": round(float(prediction.confidence), 3),
                "unknown_threshold": round(float(self.detector.unknown_threshold), 3),
                "suggestions": vote_shares(prediction.neighbours,
                                           self.detector.classifier.sharpness),
                "note": note,
                "neighbours": [self._example(n.id, n.label, n.payload, n.score)
                               for n in _one_per_example(taught)]}

    def hard_examples(self, limit: int = 20) -> dict[str, Any]:
        """Return unsaved instances of the encoded pictures, least certain first.

        Doubt is the larger of ``1 - margin`` (vote shares of the two best labels) and
        ``1 - similarity`` of the nearest stored example.
        """
        summaries = self._kept_summaries()
        rows = []
        sharpness = self.detector.classifier.sharpness
        for image_index, summary in summaries.items():
            if not len(summary.embeddings):
                continue
            for k, prediction in enumerate(self._predictions(summary.embeddings)):
                if self._is_saved(image_index, summary.bboxes[k]):
                    continue
                shares = vote_shares(prediction.neighbours, sharpness)
                nearest = max((n.score for n in prediction.neighbours), default=0.0)
                margin = shares[0]["share"] - (shares[1]["share"] if len(shares) > 1 else 0.0) \
                    if shares else 0.0
                if 1 - margin >= 1 - nearest and len(shares) > 1:
                    reason = (f"{shares[0]['label']} or {shares[1]['label']}? "
                              f"margin {margin:.2f}")
                elif shares:
                    reason = f"far from anything stored (similarity {nearest:.2f})"
                else:
                    reason = "nothing stored yet"
                rows.append({"index": image_index, "name": summary.name, "instance": k,
                             "bbox": list(summary.bboxes[k]),
                             "doubt": round(max(1 - margin, 1 - nearest), 3),
                             "label": prediction.label, "reason": reason})
        rows.sort(key=lambda r: (-r["doubt"], r["index"], r["instance"]))
        return {"items": rows[:limit], "encoded": len(summaries),
                "images": len(self.source.names())}

    def export_coco(self) -> dict[str, Any]:
        """Return the pictures' stored masks as a COCO dataset (RLE segmentations)."""
        from pycocotools import mask as mask_utils

        names = self.source.names()
        image_ids = {name: i + 1 for i, name in enumerate(names)}
        examples = [e for e in self.detector.vector_store.list_examples()
                    if e.payload.get("source") in image_ids and "rle" in e.payload
                    and e.payload.get(VIEW_KEY, ORIGINAL_VIEW) == ORIGINAL_VIEW]
        categories = {label: i + 1 for i, label in enumerate(sorted({e.label for e in examples}))}
        images, annotations, sizes = [], [], {}
        for example in examples:
            rle = example.payload["rle"]
            sizes[example.payload["source"]] = [int(v) for v in rle["size"]]
            encoded = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
            x, y, w, h = (float(v) for v in mask_utils.toBbox(encoded))
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_ids[example.payload["source"]],
                "category_id": categories[example.label], "segmentation": dict(rle),
                "area": float(mask_utils.area(encoded)), "bbox": [x, y, w, h], "iscrowd": 0,
                "sam_detect_id": example.id})
        for name, (height, width) in sorted(sizes.items(), key=lambda kv: image_ids[kv[0]]):
            images.append({"id": image_ids[name], "file_name": name, "height": height,
                           "width": width})
        return {"info": {"description": "sam_detect annotations",
                         "date_created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                "images": images, "annotations": annotations,
                "categories": [{"id": i, "name": label} for label, i in categories.items()]}

    def freeze(self) -> dict[str, Any]:
        """Live mode: take the latest camera frame; return its view."""
        if not self.source.live:
            raise NotFoundError("freeze is for the live camera; this session shows a folder")
        return self.view(self.source.freeze())

    def close(self) -> None:
        """Stop the background encoder."""
        self._closed = True
        self._queue.put(None)
        self._worker.join(timeout=5)


__all__ = ["AnnotationSession", "ConflictError", "FolderSource", "LiveSource", "NotFoundError",
           "mask_png", "thumbnail", "vote_shares"]
