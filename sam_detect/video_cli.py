# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""``sam-detect VIDEO --track``: follow objects through a video file or a camera.

Frames are read with OpenCV (a file OpenCV can decode, or a camera index such as ``0``), run
through :meth:`sam_detect.SAMDetect.track`, and, as asked, written as an overlay video
(``--output out.mp4``; ``.avi`` is written as MJPG) and printed as JSON lines (``--json``: one
object per frame with its index and every instance's ``track_id``). A progress bar shows on a
terminal; without ``--json`` a summary of the tracks ends the run.

What it refuses (one line, exit status 2; docs/hardening.md): an ``--output`` that is the input
itself (by any path: a symbolic or hard link too), a disk too full for the next overlay frame
(checked before each write, and the finished file's frame count is checked against the frames
written), and a video that stops decoding before the frame count its container declares (the
frames before the damage are tracked and printed; the error says how many).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sam_detect.errors import SamDetectError

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}
#: Containers whose header holds the exact frame count (others: an estimate from the duration).
EXACT_FRAME_COUNT = (".avi", ".mp4", ".m4v", ".mov")
#: Free space kept beyond each overlay frame (its uncompressed size) and the file's index.
DISK_MARGIN_BYTES = 1 << 20


def refuse_overwriting_input(source: str, output: str | None) -> None:
    """Refuse an ``--output`` that is the input video by another name.

    Raises:
        SamDetectError: when ``output`` resolves to ``source`` (same path, a symbolic link to
            it, or a hard link: the same file).
    """
    if output is None or source.isdigit():
        return
    same = Path(output).resolve() == Path(source).resolve()
    try:
        same = same or os.path.samefile(source, output)
    except OSError:  # the output does not exist yet
        pass
    if same:
        raise SamDetectError(f"--output {output} is the input video {source}; writing the "
                             "overlay there would destroy it: choose another file")


def require_space(output: str, frame_bytes: int, written: int) -> None:
    """Refuse the next overlay frame when the disk under ``output`` cannot hold it.

    Raises:
        SamDetectError: naming the file, the free space and the frames written so far.
    """
    from sam_detect.vector_store.disk_space import free_bytes

    free = free_bytes(output)
    if free < frame_bytes + DISK_MARGIN_BYTES:
        raise SamDetectError(
            f"--output {output}: the disk is full ({free / 1e6:.1f} MB free, "
            f"{(frame_bytes + DISK_MARGIN_BYTES) / 1e6:.1f} MB needed for the next frame); the "
            f"overlay video stopped after {written} frame(s) and is incomplete")


def check_written(output: str, written: int) -> None:
    """Check that the finished overlay video holds every frame written.

    OpenCV's writer reports no error, so a disk that filled anyway (another process wrote
    meanwhile) shows only here, in the frame count the file's index declares.

    Raises:
        SamDetectError: when the file cannot be opened or holds fewer frames.
    """
    import cv2

    capture = cv2.VideoCapture(output)
    try:
        found = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if capture.isOpened() else 0
    finally:
        capture.release()
    if found < written:
        raise SamDetectError(f"--output {output} holds {found} of the {written} frame(s) "
                             "written (is the disk full?); the overlay video is incomplete")


def open_capture(source: str) -> Any:
    """Open a video file, or a camera when ``source`` is an index (``0``, ``1``...).

    Raises:
        SamDetectError: when OpenCV cannot open it.
    """
    import cv2

    if source.isdigit():
        capture = cv2.VideoCapture(int(source))
    else:
        if not Path(source).is_file():
            raise SamDetectError(f"no video file {source}")
        capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise SamDetectError(f"cannot open video {source} (not a video OpenCV can decode, or "
                             "no such camera)")
    return capture


def open_writer(path: str, fps: float, size: tuple[int, int]) -> Any:
    """Open an overlay video writer for ``path`` (codec by suffix), ``size`` = (width, height).

    Raises:
        SamDetectError: for an unknown suffix or a file OpenCV cannot write.
    """
    import cv2

    suffix = Path(path).suffix.lower()
    if suffix not in FOURCC:
        raise SamDetectError(f"--output {path}: write a video file ({', '.join(FOURCC)})")
    if not Path(path).parent.is_dir():  # a typo must not create folders anywhere
        raise SamDetectError(f"--output {path}: the folder {Path(path).parent} does not exist")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*FOURCC[suffix]), fps, size)
    if not writer.isOpened():
        raise SamDetectError(f"cannot write the video {path}")
    return writer


def track_video(detector: Any, source: str, output: str | None = None, as_json: bool = False,
                quiet: bool = False, max_frames: int | None = None) -> dict[str, Any]:
    """Track objects through ``source``; return a summary (frames, key frames, tracks).

    Args:
        detector: A :class:`~sam_detect.SAMDetect` (its store gives the labels).
        source: A video file or a camera index.
        output: Overlay video to write, or None.
        as_json: Print one JSON line per frame to stdout.
        quiet: No progress bar.
        max_frames: Stop after this many frames (a camera never ends on its own).
    """
    import cv2

    from sam_detect.progress import progress_bar, write_result

    refuse_overwriting_input(source, output)
    capture = open_capture(source)
    writer = None
    declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if not source.isdigit() else 0
    total = declared
    if max_frames is not None:
        total = min(total, max_frames) if total > 0 else max_frames
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0) or 30.0
    bar = progress_bar(total=total or None, unit="frame", quiet=quiet, minimum=0)
    detector.reset_tracking()
    frames = 0
    try:
        while max_frames is None or frames < max_frames:
            ok, bgr = capture.read()
            if not ok:
                break
            # A "bgr" detector converts by itself; visualize() answers in the same order.
            frame = bgr if detector.channel_order == "bgr" else cv2.cvtColor(
                bgr, cv2.COLOR_BGR2RGB)
            detections = detector.track(frame)
            detections.source = f"{source}#{frames}"
            if output is not None:
                require_space(output, frame.nbytes, frames)
                if writer is None:
                    writer = open_writer(output, fps, (frame.shape[1], frame.shape[0]))
                overlay = detector.visualize(frame, detections)
                if detector.channel_order == "rgb":
                    overlay = cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR)
                writer.write(overlay)
            if as_json:
                keyframe = detector.video_tracker().last_keyframe
                write_result(json.dumps({"frame": frames, "keyframe": keyframe,
                                         **detections.to_dict(include_masks=True)}))
            frames += 1
            bar.update(1)
    finally:
        bar.close()
        capture.release()
        if writer is not None:
            writer.release()
    if frames == 0:
        raise SamDetectError(f"no frame could be read from {source}")
    if writer is not None:
        check_written(output, frames)
    tracks = detector.tracks()
    return {"source": source, "frames": frames, "keyframes": detector.video_tracker().keyframes,
            "tracks": [{"track_id": t.track_id, "label": t.label,
                        "confidence": round(float(t.confidence), 3), "frames": t.hits}
                       for t in tracks], "output": output,
            "damaged": damaged(source, declared, frames, max_frames)}


def damaged(source: str, declared: int, frames: int, max_frames: int | None) -> str:
    """Return why the video ended before the frames its container declares, or ``""``.

    Example:
        >>> damaged("run.avi", 12, 1, None)
        'run.avi is damaged: frame 2 of 12 could not be decoded; frames 1-1 were tracked'
        >>> damaged("run.mkv", 12, 11, None)  # an estimated count: one frame of slack
        ''
    """
    wanted = declared if max_frames is None else min(declared, max_frames)
    slack = 0 if Path(source).suffix.lower() in EXACT_FRAME_COUNT else max(1, declared // 100)
    if declared <= 0 or frames >= wanted - slack:
        return ""
    return (f"{source} is damaged: frame {frames + 1} of {declared} could not be decoded; "
            f"frames 1-{frames} were tracked")


def format_summary(summary: dict[str, Any]) -> str:
    """Return the end-of-run summary of :func:`track_video` as text."""
    lines = [f"{summary['source']}: {summary['frames']} frame(s), {summary['keyframes']} key "
             f"frame(s), {len(summary['tracks'])} track(s)"
             + (f"; overlay written to {summary['output']}" if summary["output"] else "")]
    if summary.get("damaged"):
        lines[0] += " (the video is damaged: see the error)"
    for track in summary["tracks"]:
        lines.append(f"  track {track['track_id']:<3} {track['label'] or 'unknown':<20} "
                     f"confidence {track['confidence']:.2f}  seen in {track['frames']} frame(s)")
    return "\n".join(lines)


__all__ = ["check_written", "damaged", "format_summary", "open_capture", "open_writer",
           "refuse_overwriting_input", "require_space", "track_video"]
