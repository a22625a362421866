# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The ``sam-detect`` command.

``sam-detect IMAGE...`` detects and labels objects (files, folders and globs; a progress bar for
batches, overlays with ``--output``); with ``--label NAME`` it teaches the images' objects instead.
Examples persist in an embedded Qdrant Edge store by default, so::

    sam-detect widget.png --label widget
    sam-detect shelf.jpg            # -> widget 0.83 ...

Other commands: ``labels`` (what the store knows), ``forget LABEL``, ``optimize`` (index a
large store), ``annotate IMAGE_DIR`` (teach in the browser), ``evaluate``,
``make-benchmark``, ``bench`` and ``dashboard`` (see
``sam-detect COMMAND --help``).
User errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from sam_detect.arguments import (  # noqa: F401 - the shared flags, also importable from here
    add_detector_arguments, add_store_arguments, build_detector, cli_help, CommandParser,
    open_store_from_args, render_error)
from sam_detect.errors import SamDetectError

SUBCOMMANDS = {
    "labels": "sam_detect.cli:labels_main",
    "forget": "sam_detect.cli:forget_main",
    "optimize": "sam_detect.cli:optimize_main",
    "annotate": "sam_detect.cli:annotate_main",
    "evaluate": "sam_detect.evaluation.cli:evaluate_main",
    "make-benchmark": "sam_detect.evaluation.cli:make_benchmark_main",
    "bench": "sam_detect.evaluation.cli:bench_main",
    "dashboard": "sam_detect.evaluation.cli:dashboard_main",
}


def detect_parser() -> argparse.ArgumentParser:
    """Return the parser of ``sam-detect IMAGE...``."""
    parser = CommandParser(
        prog="sam-detect",
        description="Detect and label objects in images, or teach them with --label. "
                    "Other commands: " + ", ".join(SUBCOMMANDS) + " (sam-detect COMMAND --help).")
    parser.add_argument("images", nargs="+", help="image files, folders or glob patterns")
    parser.add_argument("--label", help="teach: store the images' objects under this name")
    parser.add_argument("--masks", choices=("auto", "largest", "all"), default="auto",
                        help="with --label: auto = the alpha channel of a cut-out, else the "
                             "largest object; all = every object")
    parser.add_argument("--mask", metavar="MASK.png",
                        help="with --label and one image: teach exactly this object (a picture "
                             "of the image's size, white or opaque where the object is)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    parser.add_argument("--output", help="write overlay images to this folder (with --label: "
                                         "the object as stored; with --track: the overlay "
                                         "video, .mp4 or .avi)")
    parser.add_argument("--track", action="store_true",
                        help="IMAGES is one video file or camera index: follow objects across "
                             "frames (track ids, stable labels)")
    parser.add_argument("--max-frames", type=int, default=None,
                        help="with --track: stop after this many frames")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_detector_arguments(parser)
    add_store_arguments(parser)
    return parser


def detect_main(argv: Sequence[str]) -> int:
    """Run ``sam-detect IMAGE...``: detect, or teach with ``--label``."""
    from sam_detect.image_io import expand_image_paths
    from sam_detect.labels import validate_label

    args = detect_parser().parse_args(argv)
    if args.track:
        return _track(args)
    paths = expand_image_paths(args.images)
    label = validate_label(args.label) if args.label is not None else None
    with build_detector(args) as detector:
        if label is not None:
            return _teach(detector, paths, label, args)
        return _detect(detector, paths, args)


def _track(args: argparse.Namespace) -> int:
    from sam_detect.video_cli import format_summary, track_video

    if len(args.images) != 1 or args.label is not None:
        raise SamDetectError("--track takes one video file or camera index, and no --label")
    with build_detector(args) as detector:
        summary = track_video(detector, args.images[0], output=args.output, as_json=args.json,
                              quiet=args.quiet, max_frames=args.max_frames)
    if not args.json:
        print(format_summary(summary))
    if summary["damaged"]:  # what was readable is out; the run still failed
        raise SamDetectError(summary["damaged"])
    return 0


def _progress(paths: list[Path], quiet: bool) -> Any:
    from sam_detect.progress import progress_bar

    return progress_bar(paths, unit="image", quiet=quiet)


def _teach(detector: Any, paths: list[Path], label: str, args: argparse.Namespace) -> int:
    from sam_detect.image_io import load_image

    if args.mask is not None and len(paths) != 1:
        raise SamDetectError(f"--mask names the object of ONE image; {len(paths)} were given")
    output = _output_folder(args.output)
    masks = (args.masks if args.mask is None
             else _read_mask(args.mask, load_image(paths[0]).shape))
    # One call for every picture: all are embedded before anything is stored, so a bad image
    # aborts with nothing written; each picture's other objects are known background.
    ids = detector.add_examples(_progress(paths, args.quiet), label, masks=masks)
    for path, taught in zip(paths, ids.pictures):
        note = None if args.mask is not None else ambiguity_note(path, taught.masks,
                                                                 taught.others)
        if note:
            print(note, file=sys.stderr)
        if output is not None:  # exactly the masks that were stored
            _write_overlay(detector, load_image(path),
                           [_taught(mask, label) for mask in taught.masks],
                           output / f"{path.stem}.png")
    total = detector.labels().get(label, 0)
    examples = sum(len(taught.masks) for taught in ids.pictures)  # each with its views
    views = f" as {len(ids)} vectors (their teaching views)" if len(ids) > examples else ""
    if args.json:
        print(json.dumps({"label": label, "added": examples, "vectors": len(ids),
                          "total": total}))
    else:
        print(f"taught '{label}': {examples} example(s) added{views}, {total} in the store")
    return 0


#: Another object at least this share of the taught one's area makes "the largest" a guess.
SIMILAR_SIZE = 0.7


def ambiguity_note(path: Path, masks: list[Any], others: list[Any]) -> str | None:
    """Return one line when the largest object was taught but others are about as large.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((4, 8), bool); a[:, :4] = True
        >>> b = np.zeros((4, 8), bool); b[:, 5:] = True
        >>> note = ambiguity_note(Path("shelf/cup.png"), [a], [b])
        >>> print(note)  # doctest: +NORMALIZE_WHITESPACE
        shelf/cup.png: 2 objects of similar size; taught the largest, at (0, 0, 4, 4). To teach
        another, pass --mask MASK.png or pick it in the browser: sam-detect annotate shelf
    """
    from sam_detect.results import mask_to_bbox

    if len(masks) != 1 or not others:
        return None
    area = int(masks[0].sum())
    similar = [m for m in others if int(m.sum()) >= SIMILAR_SIZE * area]
    if not similar:
        return None
    return (f"{path}: {len(similar) + 1} objects of similar size; taught the largest, at "
            f"{tuple(int(v) for v in mask_to_bbox(masks[0]))}. To teach another, pass --mask "
            f"MASK.png or pick it in the browser: sam-detect annotate {path.parent}")


def _read_mask(path: str, shape: tuple[int, ...]) -> Any:
    """Return the object mask drawn in the picture ``path`` (alpha, else bright pixels)."""
    from sam_detect.image_io import load_alpha_mask, load_image, validate_mask

    alpha = load_alpha_mask(path)
    mask = alpha if alpha is not None and not alpha.all() else load_image(path).max(axis=2) > 127
    mask = validate_mask(mask, shape)
    if not mask.any():
        raise SamDetectError(f"--mask {path} marks no pixel: draw the object white (or opaque)")
    return mask


def _taught(mask: Any, label: str) -> Any:
    from sam_detect.results import Instance, mask_to_bbox

    return Instance(mask=mask, bbox=mask_to_bbox(mask), label=label, confidence=1.0)


def _output_folder(folder: str | None) -> Path | None:
    if folder is None:
        return None
    output = Path(folder)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SamDetectError(f"cannot use --output {output}: {error.strerror}; "
                             "give a folder") from None
    return output


def _write_overlay(detector: Any, image: Any, instances: Any, target: Path) -> None:
    import cv2

    overlay = detector.visualize(image, instances)
    if not cv2.imwrite(str(target), cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR)):
        raise SamDetectError(f"cannot write {target}")


def _detect(detector: Any, paths: list[Path], args: argparse.Namespace) -> int:
    from sam_detect.image_io import load_image
    from sam_detect.progress import write_result

    if args.mask is not None:
        raise SamDetectError("--mask names the object to teach: give --label too")
    output = _output_folder(args.output)
    # A stream: the next image is segmented while this one is embedded (same results).
    for path, detections in zip(paths, detector.detect_stream(_progress(paths, args.quiet))):
        detections.source = str(path)
        if output is not None:
            _write_overlay(detector, load_image(path), detections, output / f"{path.stem}.png")
        # Through the bar's own write: a result never lands on the bar's line.
        write_result(json.dumps(detections.to_dict()) if args.json
                     else format_detections(detections))
    return 0


def format_detections(detections: Any) -> str:
    """Return a short human-readable report of one image's detections."""
    times = detections.timings_ms
    lines = [f"{detections.source}: {len(detections)} object(s) in {times.get('total', 0):.0f} ms"
             f" (segment {times.get('segment', 0):.0f}, embed {times.get('embed', 0):.0f})"]
    for inst in detections:
        x0, y0, x1, y1 = inst.bbox
        lines.append(f"  #{inst.id:<2} {inst.label or 'unknown':<20} confidence "
                     f"{inst.confidence:.2f}  box ({x0}, {y0}, {x1}, {y1})  "
                     f"score {inst.score:.2f}")
    return "\n".join(lines)


def _store_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = CommandParser(prog=prog, description=description)
    add_store_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _open_existing_store(args: argparse.Namespace) -> Any:
    """Open the store for reading or forgetting; an edge store that does not exist is an error."""
    from sam_detect.vector_store import default_store_path
    from sam_detect.vector_store.folder_kind import folder_kind

    if args.store == "edge":
        path = Path(args.store_path or default_store_path()).expanduser()
        if folder_kind(path) is None:  # another kind of store, or a damaged one, says so on open
            raise SamDetectError(f"there is no store at {path}; teach with: "
                                 "sam-detect IMAGE --label NAME")
    elif args.store == "qdrant" and args.store_path and not Path(args.store_path).exists():
        raise SamDetectError(f"there is no qdrant local store at {args.store_path}")
    return open_store_from_args(args)


def labels_main(argv: Sequence[str]) -> int:
    """Run ``sam-detect labels``: list the labels in the store and their example counts."""
    from sam_detect.classifier import visible_labels
    from sam_detect.embedding.base import example_counts

    args = _store_parser("sam-detect labels", "List what the store knows.").parse_args(argv)
    store = _open_existing_store(args)
    try:
        # known background is not a label; an example's teaching-time views count once
        labels = visible_labels(example_counts(store))
    finally:
        store.close()
    if args.json:
        print(json.dumps(labels, sort_keys=True))
    else:
        from sam_detect.labels import display_label

        for label, count in sorted(labels.items()):  # older stores may hold tabs or newlines
            print(f"{display_label(label)}\t{count}")
        if not labels:
            print("the store is empty; teach with: sam-detect IMAGE --label NAME", file=sys.stderr)
    return 0


def forget_main(argv: Sequence[str]) -> int:
    """Run ``sam-detect forget LABEL``: remove every example of a label."""
    from sam_detect.labels import validate_label

    parser = _store_parser("sam-detect forget", "Remove every example of a label.")
    parser.add_argument("label")
    args = parser.parse_args(argv)
    from sam_detect.classifier.background import refuse_reserved
    from sam_detect.embedding.base import forget_label

    label = refuse_reserved(validate_label(args.label))
    store = _open_existing_store(args)
    try:
        removed = forget_label(store, label)  # examples, an example's views once
    finally:
        store.close()
    print(json.dumps({"label": label, "removed": removed}) if args.json
          else f"removed {removed} example(s) of '{label}'")
    return 0


def mute_opencv_warnings() -> None:
    """Keep OpenCV's decoder warnings (a truncated PNG) out of our one-line errors."""
    try:
        from cv2.utils import logging as cv2_logging
    except ImportError:  # OpenCV builds without the logging bindings print nothing to mute
        return
    cv2_logging.setLogLevel(cv2_logging.LOG_LEVEL_ERROR)


def optimize_main(argv: Sequence[str]) -> int:
    """Run ``sam-detect optimize``: build the edge store's HNSW index (large stores)."""
    parser = CommandParser(
        prog="sam-detect optimize",
        description="Build the HNSW index of an edge store, for fast search past ~10k examples "
                    "(exact search is used until then). Takes seconds to minutes; stop the "
                    "node or CLI using the store first.")
    parser.add_argument("--store-path", help="folder of the edge store (default: the CLI's)")
    args = parser.parse_args(argv)
    args.store, args.qdrant_url, args.collection = "edge", None, "sam_detect"
    store = _open_existing_store(args)
    try:
        changed = store.optimize()
        count = store.count()
    finally:
        store.close()
    print(f"{'indexed' if changed else 'nothing to index in'} {count} example(s)"
          + ("" if changed else " (small stores are searched exactly)"))
    return 0


def _port(text: str) -> int:
    """Return a TCP port from 1 to 65535 (argparse turns the ValueError into one line)."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"must be a number from 1 to 65535, got {text!r}")
    return int(text)


def annotate_main(argv: Sequence[str]) -> int:
    """Run ``sam-detect annotate IMAGE_DIR``: teach in the browser (see docs/annotate.md)."""
    from sam_detect.annotate.app import AnnotationUI

    parser = CommandParser(
        prog="sam-detect annotate",
        description="Open a folder of pictures in the browser: click objects, name them, and "
                    "the store learns; labels are suggested from what it already knows.")
    parser.add_argument("image_dir", help="folder of images (searched recursively)")
    parser.add_argument("--port", type=_port, default=8000, help="HTTP port (default 8000)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; others need a token)")
    parser.add_argument("--token", default=None,
                        help="required on every request (or $SAM_DETECT_TOKEN); needed for a "
                             "--host other than localhost")
    add_detector_arguments(parser)
    add_store_arguments(parser)
    args = parser.parse_args(argv)
    with build_detector(args) as detector:
        AnnotationUI(detector, token=args.token).run(image_directory=args.image_dir,
                                                     port=args.port, host=args.host)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sam-detect`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="sam-detect: %(message)s")
    mute_opencv_warnings()
    try:
        if argv and argv[0] in SUBCOMMANDS:  # a file of that name: pass ./NAME
            module, function = SUBCOMMANDS[argv[0]].split(":")
            return getattr(importlib.import_module(module), function)(argv[1:])
        return detect_main(argv)
    except SamDetectError as error:
        print(f"sam-detect: error: {render_error(error)}", file=sys.stderr)
        return 2
    except OSError as error:
        if isinstance(error, BrokenPipeError):  # `sam-detect ... | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        # A folder or file we were told to write to is not writable (--out, --json, --output).
        print(f"sam-detect: error: {error.strerror or error}"
              + (f": {error.filename}" if error.filename else ""), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
