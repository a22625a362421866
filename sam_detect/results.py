# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Result types shared by every stage, the CLI and the ROS node.

One family of dataclasses carries a frame's results from the segmenter to the user:

* :class:`Segment` - what a :class:`~sam_detect.segmentation.Segmenter` returns: mask and score.
* :class:`Neighbour` - one k-NN hit from the vector store.
* :class:`Instance` - a segment with its label, confidence, neighbours and embedding.
* :class:`Detections` - all instances of one frame plus per-stage timings.

Masks are full-frame boolean arrays; boxes are ``(x0, y0, x1, y1)`` pixel bounds with exclusive
ends, so ``mask[y0:y1, x0:x1]`` is the mask's box. ``Instance`` supports ``result["label"]`` so the
seed's dict-style examples keep working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

BBox = tuple[int, int, int, int]


def mask_to_bbox(mask: np.ndarray) -> BBox:
    """Return the tight ``(x0, y0, x1, y1)`` box of a boolean mask (exclusive ends).

    Example:
        >>> import numpy as np
        >>> m = np.zeros((5, 6), bool); m[1:3, 2:5] = True
        >>> mask_to_bbox(m)
        (2, 1, 5, 3)
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


@dataclass
class Segment:
    """One object mask from a segmenter.

    Attributes:
        mask: Boolean ``(H, W)`` array, True on the object.
        score: Segmentation quality in ``[0, 1]`` (predicted IoU for SAM2, else a shape score).
        bbox: ``(x0, y0, x1, y1)``; computed from the mask when not given.
    """

    mask: np.ndarray
    score: float = 1.0
    bbox: BBox | None = None

    def __post_init__(self) -> None:
        if self.bbox is None:
            self.bbox = mask_to_bbox(self.mask)

    @property
    def area(self) -> int:
        """Return the number of mask pixels."""
        return int(np.count_nonzero(self.mask))


@dataclass(frozen=True)
class Neighbour:
    """One stored example returned by a k-NN search.

    Attributes:
        label: The example's label.
        score: Cosine similarity to the query in ``[-1, 1]``.
        id: The example's id in the store.
        payload: Whatever was stored with it (source image, time, ...).
    """

    label: str
    score: float
    id: int | str | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"label": self.label, "score": round(float(self.score), 6), "id": self.id}


@dataclass
class Instance:
    """One detected object: where it is, what it is, and how sure we are.

    Attributes:
        mask: Boolean ``(H, W)`` full-frame mask.
        bbox: ``(x0, y0, x1, y1)`` with exclusive ends.
        score: Segmentation quality in ``[0, 1]``.
        label: Best label, or ``None`` when unknown (empty store or below the unknown threshold).
        confidence: Classification confidence in ``[0, 1]``.
        neighbours: The k nearest stored examples, best first.
        embedding: The L2-normalised embedding of the faded crop; lets a user teach this instance
            later without recomputing it.
        id: Index of the instance within its frame.
        track_id: The object's id across frames from :meth:`~sam_detect.SAMDetect.track`
            (stable while it is followed, kept when it leaves and comes back); 0 = not tracked.

    Example:
        >>> import numpy as np
        >>> m = np.zeros((4, 4), bool); m[1:3, 1:3] = True
        >>> inst = Instance.from_segment(Segment(m, 0.9), label="cup", confidence=0.8)
        >>> inst["label"], inst.area, inst.bbox
        ('cup', 4, (1, 1, 3, 3))
    """

    mask: np.ndarray
    bbox: BBox
    score: float = 1.0
    label: str | None = None
    confidence: float = 0.0
    neighbours: list[Neighbour] = field(default_factory=list)
    embedding: np.ndarray | None = field(default=None, repr=False)
    id: int = 0
    track_id: int = 0

    @classmethod
    def from_segment(cls, segment: Segment, **fields: Any) -> Instance:
        """Build an instance from a segmenter's :class:`Segment`."""
        return cls(mask=segment.mask, bbox=segment.bbox, score=float(segment.score), **fields)

    @property
    def area(self) -> int:
        """Return the number of mask pixels."""
        return int(np.count_nonzero(self.mask))

    def __getitem__(self, key: str) -> Any:
        """Dict-style access (``result["label"]``), as in the seed's examples."""
        if key not in self.__dataclass_fields__ and key != "area":
            raise KeyError(key)
        return getattr(self, key)

    def keys(self) -> list[str]:
        """Return the field names usable with ``instance[key]``."""
        return [*self.__dataclass_fields__, "area"]

    def get(self, key: str, default: Any = None) -> Any:
        """Return ``instance[key]``, or ``default`` for an unknown key (as ``dict.get``)."""
        return self[key] if key in self else default

    def __contains__(self, key: object) -> bool:
        return key in self.__dataclass_fields__ or key == "area"

    def to_dict(self, include_mask: bool = True) -> dict[str, Any]:
        """Return a JSON-ready dict; the mask is COCO RLE (``pycocotools``) when included."""
        data: dict[str, Any] = {
            "id": self.id,
            "track_id": self.track_id,
            "label": self.label,
            "confidence": round(float(self.confidence), 6),
            "score": round(float(self.score), 6),
            "bbox": list(self.bbox),
            "area": self.area,
            "neighbours": [n.to_dict() for n in self.neighbours],
        }
        if include_mask:
            data["mask_rle"] = encode_rle(self.mask)
        return data


@dataclass
class Detections:
    """All instances found in one image.

    Behaves as a list of :class:`Instance` (``len``, iteration, indexing), and carries the image
    size and the time each stage took, in milliseconds (``segment``, ``fade``, ``embed``,
    ``search``, ``total``).

    Example:
        >>> d = Detections(instances=[], image_size=(480, 640))
        >>> len(d), d.to_dict()["image_size"]
        (0, [480, 640])
    """

    instances: list[Instance]
    image_size: tuple[int, int]
    timings_ms: dict[str, float] = field(default_factory=dict)
    source: str | None = None

    def __len__(self) -> int:
        return len(self.instances)

    def __iter__(self) -> Iterator[Instance]:
        return iter(self.instances)

    def __getitem__(self, index: int) -> Instance:
        return self.instances[index]

    @property
    def labels(self) -> list[str | None]:
        """Return the label of each instance (``None`` for unknown)."""
        return [inst.label for inst in self.instances]

    def to_dict(self, include_masks: bool = True) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "source": self.source,
            "image_size": list(self.image_size),
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
            "instances": [inst.to_dict(include_mask=include_masks) for inst in self.instances],
        }


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """Encode a boolean mask as COCO RLE with a UTF-8 ``counts`` string."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def decode_rle(rle: dict[str, Any]) -> np.ndarray:
    """Decode COCO RLE (compressed string or uncompressed list counts) to a boolean mask."""
    from pycocotools import mask as mask_utils

    if isinstance(rle.get("counts"), list):
        rle = mask_utils.frPyObjects(rle, *rle["size"])
    elif isinstance(rle.get("counts"), str):
        rle = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
    return mask_utils.decode(rle).astype(bool)
