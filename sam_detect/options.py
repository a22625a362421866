# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""THE option table: every option of sam_detect, described once for every front end.

The table is data: it imports nothing above :mod:`sam_detect.errors` and builds nothing.
Building a detector from options is :meth:`sam_detect.SAMDetect.from_options`; opening the
store they describe is :func:`sam_detect.vector_store.store_from_options`. The stages' registries
(``SEGMENTERS``, ``EMBEDDERS``, ``FADES``, ``STORE_KINDS``, ``DEVICES``) take their names from
the choices here, so a new kind is added in one place (and a test checks the two agree).

Each :class:`Option` says its name, type, default, choices, bounds, whether it changes while a
detector runs (``runtime``), its help text, and which front ends have it (``library``: a field of
:class:`DetectorOptions` and a keyword of :class:`~sam_detect.SAMDetect`; ``cli``: a
``sam-detect`` flag; ``node``: a ROS parameter). From this one table come:

* the ``sam-detect`` flags and their ``--help`` (:mod:`sam_detect.cli`),
* the ROS parameter descriptors, declared defaults and validation
  (:mod:`sam_detect_ros.parameters`),
* :class:`DetectorOptions` (one field per library option), the keywords of
  :class:`~sam_detect.SAMDetect` and the runtime settings of :meth:`~sam_detect.SAMDetect.update`,
* the validation of all of them: :meth:`Option.check` raises
  :class:`~sam_detect.errors.OptionError` naming the option (``top_k``), which each front end
  renders the way its users know it (``--top-k``, the parameter ``top_k``).

Adding an option is one entry in :data:`OPTIONS`::

    Option("keyframe_interval", int, 1, "run the segmenter on every Nth frame", "tracking",
           low=1, high=1000, runtime=True),

That gives a ``--keyframe-interval`` flag (in a "tracking" section of ``--help``), a
``keyframe_interval`` node parameter with its descriptor, a ``DetectorOptions.keyframe_interval``
field, and ``SAMDetect(keyframe_interval=...)``/``update(keyframe_interval=...)`` (the value lands
in ``SAMDetect.options``; a runtime option that must reach a stage also gets a line in
``SAMDetect._apply``). For the node, add it with a comment to ``config/detect.yaml`` and paste
``python -m sam_detect_ros.parameters`` (the parameter table) into docs/ros.md: tests check both.
``fronts=frozenset({NODE})`` makes a node-only parameter, ``frozenset({CLI})`` a CLI-only flag.
ROS parameters cannot be unset, so an option whose default is ``None`` gives the node a
``node_default`` and/or a ``node_unset`` value that stands for None (``""``, or a negative number
meaning "any negative").

Example:
    >>> options = DetectorOptions(embedder="average", store="memory", fade="gaussian", sigma=15)
    >>> options.fade, options.sigma, options.detector_keywords()["top_k"]
    ('gaussian', 15.0, 5)
    >>> DetectorOptions(sigma=-5)
    Traceback (most recent call last):
    ...
    sam_detect.errors.OptionError: sigma must be a positive number, got -5.0
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from sam_detect.errors import OptionError, SamDetectError

LIBRARY, CLI, NODE = "library", "cli", "node"
EVERYWHERE = frozenset({LIBRARY, CLI, NODE})

# Option groups: the CLI's --help sections and the node's parameter groups.
MODELS = "models"
STORE = "vector store"
FADING = "context fading"
KNN = "k-NN"
TRACKING = "tracking"
TOPICS = "topics"
WEB = "web UI"


# The kinds of each stage (the stages' registries read them from here).
SEGMENTER_KINDS = ("auto", "naive", "objectness", "sam2")
# ``efficientnet`` builds the newest efficientnet embedder for a new store and keeps a store's own;
# the exact names ask for one (efficientnet-lite0: the earlier vectors).
EMBEDDER_KINDS = ("auto", "average", "efficientnet", "clip", "efficientnet-lite0-whitened",
                  "efficientnet-lite0")
FADE_KINDS = ("identity", "hard_crop", "gaussian", "linear", "exponential")
STORE_KINDS = ("memory", "edge", "qdrant")
DEVICES = ("auto", "cpu", "cuda")


class _NotSet:
    """The marker of an Option field left out (``None`` is a meaningful value)."""

    def __repr__(self) -> str:
        return "NOT_SET"


NOT_SET: Any = _NotSet()


@dataclass(frozen=True)
class Option:
    """One option, as every front end sees it.

    Attributes:
        name: The library's name, also the ROS parameter's (``top_k``).
        type: ``bool``, ``int``, ``float`` or ``str``.
        default: The library's and the CLI's default; ``None`` means "the stage's own default"
            (see ``none_means``).
        help: One line saying what it does; the CLI's ``--help`` and the node's parameter
            description both start with it.
        group: The section it belongs to (:data:`MODELS`, :data:`STORE`, ...).
        choices: The values it takes: a tuple (or a function returning them).
        low: Smallest value (numbers), or None.
        high: Largest value (numbers), or None.
        low_exclusive: ``low`` itself is not allowed (``sigma > 0``).
        problem: Replaces the generated range message, e.g. "is a cosine similarity, in [-1, 1]".
        runtime: Changes while a detector runs (:meth:`~sam_detect.SAMDetect.update`, ``ros2
            param set``); the others are read when it is built.
        fronts: The front ends that have it: a subset of ``{"library", "cli", "node"}``.
        none_means: What ``None`` stands for, shown in the help ("the embedder's default").
        node_default: The node's default where it differs from ``default`` (ROS parameters
            cannot be None, and a robot wants other defaults than a command line).
        node_unset: The node's value that stands for None: ``""``, ``0``, or a negative number
            meaning "any negative value".
        flag: The CLI flag; ``--`` + the name with dashes when empty.
        aliases: Other keywords :class:`~sam_detect.SAMDetect` accepts for it
            (``tensorrt_enabled``).
    """

    name: str
    type: type
    default: Any
    help: str
    group: str
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    low: float | None = None
    high: float | None = None
    low_exclusive: bool = False
    problem: str = ""
    runtime: bool = False
    fronts: frozenset[str] = EVERYWHERE
    none_means: str = ""
    node_default: Any = NOT_SET
    node_unset: Any = NOT_SET
    flag: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def cli_flag(self) -> str:
        """Return the option's ``sam-detect`` flag (``--top-k``)."""
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def node_value(self) -> Any:
        """Return the node's declared default (never None)."""
        if self.node_default is not NOT_SET:
            return self.node_default
        return self.default if self.default is not None else self.node_unset

    def allowed(self) -> tuple[Any, ...] | None:
        """Return the values the option takes, or None when it is not a choice."""
        if self.choices is None:
            return None
        return tuple(self.choices() if callable(self.choices) else self.choices)

    def is_node_unset(self, value: Any) -> bool:
        """Return True when the node's ``value`` stands for None (``""``, a negative number)."""
        unset = self.node_unset
        if unset is NOT_SET or isinstance(value, bool):
            return False
        if isinstance(unset, numbers.Real) and not isinstance(unset, bool) and unset < 0:
            return isinstance(value, numbers.Real) and value < 0
        return value == unset

    def describe_range(self) -> str:
        """Return the valid values in words ("at least 1", "in [0, 1]"), or ``""``."""
        if self.problem:
            return self.problem
        low, high = _number(self.low), _number(self.high)
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_exclusive else '['}{low}, {high}]"
        if self.low is not None:
            return f"{'>' if self.low_exclusive else '>='} {low}"
        return f"<= {high}" if self.high is not None else ""

    def check(self, value: Any) -> Any:
        """Return ``value`` as the option's type, or raise if the option cannot take it.

        Raises:
            OptionError: naming the option, with what is wrong and what it takes.
        """
        if value is None:
            if self.default is None:
                return None
            raise OptionError(self.name, f"must be {_a(self.type)}, got None")
        value = self._coerce(value)
        allowed = self.allowed()
        if allowed is not None and value not in allowed:
            raise OptionError(self.name, f"must be one of {', '.join(map(str, allowed))}, "
                              f"got '{value}'")
        if self.type in (int, float):
            self._check_bounds(value)
        return value

    def _coerce(self, value: Any) -> Any:
        wrong = OptionError(self.name, f"must be {_a(self.type)}, got {value!r}")
        if self.type is bool:
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise wrong
        if self.type is str:
            if isinstance(value, (str, os.PathLike)):
                return os.fspath(value)
            raise wrong
        if self.type is list:  # a list of strings (ROS string arrays)
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return list(value)
            raise wrong
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise wrong
        if self.type is int:
            if not isinstance(value, numbers.Integral):
                if not (math.isfinite(value) and float(value).is_integer()):
                    raise wrong
            return int(value)
        value = float(value)
        if not math.isfinite(value):
            raise OptionError(self.name, f"must be a finite number, got {value}")
        return value

    def _check_bounds(self, value: float) -> None:
        below = self.low is not None and (value < self.low or self.low_exclusive
                                          and value == self.low)
        above = self.high is not None and value > self.high
        if not (below or above):
            return
        if self.problem:
            raise OptionError(self.name, f"{self.problem}; got {value}")
        if below and self.low_exclusive and self.low == 0:
            text = "must be a positive number"
        elif below:
            text = (f"must be greater than {_number(self.low)}" if self.low_exclusive
                    else f"must be at least {_number(self.low)}")
        else:
            text = f"must be at most {_number(self.high)}"
        raise OptionError(self.name, f"{text}, got {value}")


def _a(kind: type) -> str:
    return {bool: "true or false", int: "an integer", float: "a number",
            str: "a string", list: "a list of strings"}[kind]


def _number(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


OPTIONS: tuple[Option, ...] = (
    # --- models (read when the detector is built) ---
    Option("segmenter", str, "auto", "auto (default): objectness if the efficientnet extra is "
                                     "installed, else naive; naive: classical colour/texture "
                                     "contrast with the frame border; objectness: unique regions "
                                     "in EfficientNet-Lite0 features, holds up on clutter (both "
                                     "CPU, offline); sam2: SAM2", MODELS, choices=SEGMENTER_KINDS),
    Option("sam_model", str, None, "SAM2 size (tiny, small, base, large, or the SAM2 repo's "
                                   "names such as sam2_hiera_large), hub id or local folder",
           MODELS, none_means="base", node_default="base"),
    Option("points_per_side", int, None, "SAM2 segment-everything grid size", MODELS,
           low=1, high=128, none_means="16", node_default=16),
    Option("masks_per_point", int, None, "SAM2 segment-everything candidates per grid point: 1 "
                                         "keeps its best mask, 3 all three (Meta's generator: "
                                         "finds nested parts, 3x the NMS work)", MODELS,
           choices=(1, 3), none_means="1", node_default=1),
    Option("stability_at", str, None, "SAM2 stability score on the decoder's low_res logits or "
                                      "full (after upsampling, as Meta's generator; slower)",
           MODELS, choices=("low_res", "full"), none_means="low_res", node_default="low_res"),
    Option("embedder", str, "auto", "auto: CLIP if cached, else EfficientNet-Lite0 if "
                                    "installed, else average; a store keeps the embedder that "
                                    "filled it (efficientnet: efficientnet-lite0-whitened for a "
                                    "new store; efficientnet-lite0: the earlier vectors)",
           MODELS, choices=EMBEDDER_KINDS,
           aliases=("embedding_model",)),
    Option("teach_views", str, "all", "views stored per example taught from an image "
                                      "(efficientnet-lite0-whitened): all: the crop, mirrored "
                                      "and turned by 45, 90, 180 and 270 degrees, so an object "
                                      "seen later at another angle is recognised; none: the "
                                      "crop alone (one vector per example)", MODELS,
           choices=("all", "none")),
    Option("frame_features", bool, False, "embed each object by pooling the objectness "
                                          "segmenter's feature map of the frame inside its mask "
                                          "(one network pass per frame: faster, less accurate) "
                                          "instead of running the embedder on every crop",
           MODELS),
    Option("clip_model", str, None, "CLIP hub id or local folder", MODELS,
           none_means="openai/clip-vit-base-patch32", node_unset=""),
    Option("clip_resize", str, None, "CLIP crop resize: torch (one float pass on the device) or "
                                     "pil (the reference processor's two-pass 8-bit resize, "
                                     "exactly; CPU)", MODELS, choices=("torch", "pil"),
           none_means="torch", node_default="torch"),
    Option("device", str, "auto", "where the models run: auto (cuda when available), cpu or "
                                  "cuda", MODELS, choices=DEVICES),
    Option("precision", str, None, "SAM2/CLIP arithmetic on CUDA (bf16: ~2x faster)", MODELS,
           choices=("fp32", "fp16", "bf16"), none_means="fp32", node_unset=""),
    Option("compile", bool, None, "torch.compile SAM2's image encoder and CLIP (slow first "
                                  "frame)", MODELS, none_means="off", node_default=False),
    Option("tensorrt", bool, None, "compile SAM2/CLIP with torch-tensorrt (extra 'tensorrt', "
                                   "CUDA)", MODELS, none_means="off", node_default=False,
           aliases=("tensorrt_enabled",)),
    Option("max_instances", int, None, "keep at most this many objects per image, best "
                                       "segmentation score first; 0: no limit", MODELS,
           low=0, high=1000, runtime=True, none_means="the segmenter's own (naive 20, sam2 32)",
           node_default=20),
    Option("embedding_cache_size", int, 0, "crop embeddings remembered (LRU, by the faded "
                                           "crop's bytes) so a repeated crop skips the "
                                           "embedder; 0: no cache", MODELS,
           low=0, high=10_000_000, runtime=True),
    # --- vector store (read when the detector is built; SAMDetect takes a built vector_store) ---
    Option("store", str, "edge", "edge: embedded Qdrant on disk (default, persists); memory: "
                                 "this run only; qdrant: a Qdrant server or cloud (qdrant_url)",
           STORE, choices=STORE_KINDS),
    Option("store_path", str, None, "folder of the edge store (~ is expanded)", STORE,
           none_means="$SAM_DETECT_HOME or ~/.local/share/sam_detect/store",
           node_default="~/.local/share/sam_detect/ros_store"),
    Option("qdrant_url", str, None, "Qdrant server URL for store qdrant (API key from "
                                    "$QDRANT_API_KEY)", STORE, none_means="$QDRANT_URL",
           node_unset=""),
    Option("collection", str, "sam_detect", "Qdrant collection name (store qdrant)", STORE),
    # --- context fading (runtime) ---
    Option("fade", str, "hard_crop", "hard_crop: black outside the mask (default, best on our "
                                     "benchmark); gaussian: keep context, fading with distance;"
                                     " linear, exponential; identity: the box as it is",
           FADING, choices=FADE_KINDS, runtime=True),
    Option("sigma", float, None, "gaussian fade width in pixels", FADING, low=0.0,
           high=1000.0, low_exclusive=True, runtime=True, none_means="10", node_default=10.0),
    Option("min_fade", float, None, "floor of the fade, 0..1 (gaussian, linear, exponential, "
                                    "hard_crop)", FADING, low=0.0, high=1.0, runtime=True,
           none_means="each fade's own (0.05; hard_crop 0)", node_unset=-1.0),
    Option("max_distance", float, None, "linear/exponential: distance in pixels where the fade "
                                        "ends", FADING, low=0.0, high=10000.0,
           low_exclusive=True, runtime=True, none_means="100 (exponential: none)",
           node_default=100.0),
    Option("decay", float, None, "exponential fade decay rate per pixel", FADING, low=0.0,
           high=10.0, low_exclusive=True, runtime=True, none_means="0.05", node_default=0.05),
    Option("context", float, None, "identity: pixels of context kept around the box", FADING,
           low=0.0, high=10000.0, runtime=True, none_means="16", node_default=16.0),
    # --- k-NN (runtime) ---
    Option("top_k", int, 5, "neighbours fetched per object", KNN, low=1, high=1000,
           runtime=True, aliases=("default_top_k",)),
    Option("unknown_threshold", float, None, "sensitivity of the open-set decision: cosine "
                                             "similarity floor below which an object is "
                                             "unknown; above it a label must also beat known "
                                             "background and generic objects",
           KNN, low=-1.0, high=1.0, problem="is a cosine similarity, in [-1, 1]", runtime=True,
           none_means="the embedder's default", node_unset=-1.0),
    Option("qdrant_batch_size", int, 0, "objects per k-NN query to the store (a frame's "
                                        "queries are sent in batches of this many); 0: all in "
                                        "one", KNN, low=0, high=100_000, runtime=True),
    # --- tracking (SAMDetect.track, sam-detect VIDEO --track, the node) ---
    Option("keyframe_interval", int, 5, "tracking: full segmentation every this many frames, "
                                        "cheap propagation in between", TRACKING, low=1,
           high=1000, runtime=True),
    Option("tracking", bool, True, "follow objects across frames (track_id, labels voted over "
                                   "each track); false: detect every frame from scratch",
           TRACKING, runtime=True, fronts=frozenset({NODE})),
    # --- the node's topics ---
    Option("publish_overlay", bool, False, "publish overlay even when nobody subscribes",
           TOPICS, runtime=True, fronts=frozenset({NODE})),
    Option("history_size", int, 30, "recent frames kept for label_instance", TOPICS, low=1,
           high=10000, runtime=True, fronts=frozenset({NODE})),
    Option("image_qos", str, "sensor_data", "QoS of the image subscription: sensor_data (best "
                                            "effort) or reliable", TOPICS,
           choices=("sensor_data", "reliable"), fronts=frozenset({NODE})),
    Option("diagnostics_period", float, 5.0, "seconds between /diagnostics messages; 0: off",
           TOPICS, low=0.0, high=3600.0, fronts=frozenset({NODE})),
    # --- the node's inputs and lifecycle (sam_detect_ros/detect_node.py, topics.py) ---
    Option("autostart", bool, True, "configure and activate at start; false: wait for "
                                    "~/change_state (lifecycle)", TOPICS,
           fronts=frozenset({NODE})),
    Option("image_transport", str, "raw", "raw (sensor_msgs/Image on image) or compressed "
                                          "(sensor_msgs/CompressedImage on image/compressed)",
           TOPICS, choices=("raw", "compressed"), fronts=frozenset({NODE})),
    Option("cameras", list, [], "camera namespaces, e.g. [front, wrist]: <cam>/image in, "
                                "<cam>/detections, <cam>/overlay out; empty: image, "
                                "detections...", TOPICS, fronts=frozenset({NODE})),
    Option("use_depth", bool, False, "subscribe depth (aligned, 16UC1 mm or 32FC1 m) and "
                                     "camera_info: Instance.position and markers", TOPICS,
           fronts=frozenset({NODE})),
    Option("depth_slop", float, 0.05, "seconds between a colour frame's stamp and its depth "
                                      "image's, at most", TOPICS, low=0.0, high=10.0,
           runtime=True, fronts=frozenset({NODE})),
    Option("max_image_pixels", int, 8192 * 8192, "largest camera frame accepted, in pixels "
                                                 "(width x height; compressed frames are "
                                                 "checked on their header, before decoding); "
                                                 "larger frames count as failed", TOPICS,
           low=1, high=2 ** 30, runtime=True, fronts=frozenset({NODE})),
    Option("max_batch", int, 0, "frames of different cameras run through the models together, "
                                "at most; 0: every waiting camera", TOPICS, low=0, high=1000,
           runtime=True, fronts=frozenset({NODE})),
    # --- the node's annotation web UI (docs/annotate.md) ---
    Option("web_port", int, 0, "port of the annotation web UI (Freeze, click, name); 0: off",
           WEB, low=0, high=65535, fronts=frozenset({NODE})),
    Option("web_host", str, "127.0.0.1", "address the web UI binds; any other than the loopback "
                                         "needs $SAM_DETECT_TOKEN", WEB, fronts=frozenset({NODE})),
)

BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
ALIASES: dict[str, str] = {alias: option.name for option in OPTIONS for alias in option.aliases}

# Named embedders a user may pass as embedding_model (the brief's "clip-vit-b").
EMBEDDING_MODELS: dict[str, tuple[str, str | None]] = {
    "clip-vit-b": ("clip", "openai/clip-vit-base-patch32"),
    "clip-vit-b-32": ("clip", "openai/clip-vit-base-patch32"),
    "clip-vit-b-16": ("clip", "openai/clip-vit-base-patch16"),
    "clip-vit-l": ("clip", "openai/clip-vit-large-patch14"),
    "clip-vit-l-14": ("clip", "openai/clip-vit-large-patch14"),
    "efficientnet-lite0": ("efficientnet", None),
}
FADE_OPTIONS = tuple(o.name for o in OPTIONS if o.group == FADING)
STORE_OPTIONS = tuple(o.name for o in OPTIONS if o.group == STORE)


def options_for(front: str, group: str | None = None) -> tuple[Option, ...]:
    """Return the options a front end has (``"library"``, ``"cli"``, ``"node"``), in order."""
    return tuple(o for o in OPTIONS if front in o.fronts and group in (None, o.group))


def option(name: str) -> Option:
    """Return the option called ``name`` (or one of its aliases)."""
    try:
        return BY_NAME[ALIASES.get(name, name)]
    except KeyError:
        raise OptionError(name, "is not an option" + _did_you_mean(name)) from None


def _did_you_mean(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, [*BY_NAME, *ALIASES], n=1)
    return f"; did you mean {close[0]}?" if close else ""


def resolve_keywords(keywords: Mapping[str, Any], allowed: Iterable[str],
                     refused: str = "cannot be given here") -> dict[str, Any]:
    """Turn the keywords a user passed into checked values by canonical name.

    Aliases become their option (``tensorrt_enabled`` -> ``tensorrt``, ``default_top_k`` ->
    ``top_k``); ``embedding_model`` takes the brief's names (``clip-vit-b`` -> embedder
    ``clip`` with ``clip_model openai/clip-vit-base-patch32``) as well as the embedder kinds.

    Args:
        keywords: What the user passed.
        allowed: The canonical names the caller takes (e.g. the runtime options).
        refused: Why an option of the table that the caller does not take is refused.

    Raises:
        OptionError: for an unknown keyword, one the caller does not take, an option given
            twice (by name and alias), or a value the option cannot take.
    """
    allowed = set(allowed)
    resolved: dict[str, Any] = {}
    for keyword, value in keywords.items():
        target = option(keyword)
        if target.name not in allowed:
            if LIBRARY not in target.fronts:
                refused = "is an option of the " + " and the ".join(sorted(target.fronts))
            raise OptionError(keyword, refused)
        values = {target.name: value}
        if keyword == "embedding_model" and isinstance(value, (str, os.PathLike)):
            values = _embedding_model(os.fspath(value))
        for name, item in values.items():
            if name in resolved:
                raise OptionError(keyword, f"gives {name} twice")
            resolved[name] = BY_NAME[name].check(item)
    return resolved


def _embedding_model(value: str) -> dict[str, Any]:
    """Return the embedder options ``embedding_model=value`` stands for.

    An embedder kind, a name of :data:`EMBEDDING_MODELS`, or a CLIP hub id / local folder.
    """
    name = value.strip().lower()
    if name in EMBEDDING_MODELS:
        kind, model = EMBEDDING_MODELS[name]
        return {"embedder": kind, **({"clip_model": model} if model else {})}
    if name not in BY_NAME["embedder"].allowed() and ("/" in value or os.path.isdir(value)):
        return {"embedder": "clip", "clip_model": value}
    return {"embedder": value}


def check_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check every value by the table (whichever fade is active); returns the checked values.

    Raises:
        OptionError: for the first value its option cannot take.
    """
    return {name: option(name).check(value) for name, value in values.items()}


class _DetectorOptionsMethods:
    """The methods of :class:`DetectorOptions` (its fields come from :data:`OPTIONS`)."""

    def __post_init__(self) -> None:
        # Every option is checked, whichever fade or store is in use: a bad sigma given with
        # hard_crop must not wait to fail until someone switches to gaussian.
        for name, value in check_options(dataclasses.asdict(self)).items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_mapping(cls, values: Any) -> Any:
        """Take the options from a mapping or namespace that has (at least) these names."""
        get = values.get if isinstance(values, dict) else lambda k, d: getattr(values, k, d)
        return cls(**{f.name: get(f.name, f.default) for f in dataclasses.fields(cls)})

    def detector_keywords(self) -> dict[str, Any]:
        """Return the keywords of :class:`~sam_detect.SAMDetect` these options describe."""
        return {name: value for name, value in dataclasses.asdict(self).items()
                if name not in STORE_OPTIONS}


DetectorOptions = dataclasses.make_dataclass(
    "DetectorOptions",
    [(o.name, Any, field(default=o.default)) for o in options_for(LIBRARY)],
    bases=(_DetectorOptionsMethods,),
    namespace={"__module__": __name__, "__doc__": (
        "Everything that configures a detector, by name: one field per library option of "
        ":data:`OPTIONS`.\n\n    ``None`` means \"the stage's own default\". Values are checked "
        "when the options are made\n    (:class:`~sam_detect.errors.OptionError`); "
        ":meth:`sam_detect.SAMDetect.from_options`\n    builds the detector they describe.\n"
        "    ")},
)

__all__ = ["ALIASES", "BY_NAME", "DEVICES", "DetectorOptions", "EMBEDDER_KINDS",
           "EMBEDDING_MODELS", "FADE_KINDS", "FADE_OPTIONS", "OPTIONS", "Option", "OptionError",
           "SEGMENTER_KINDS", "STORE_KINDS", "STORE_OPTIONS", "SamDetectError", "check_options",
           "option", "options_for", "resolve_keywords"]
