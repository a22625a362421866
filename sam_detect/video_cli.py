# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""``sam-detect VIDEO --track``: follow objects through a video file or a camera.

Frames are read with OpenCV (a file OpenCV can decode, or a camera index such as ``0``), run
through :meth:`sam_detect.SAMDetect.track`, and, as asked, written as an overlay video
(``--output out.mp4``; ``.avi`` is written as MJPG) and printed as JSON lines (``--json``: one
object per frame with its index and every instance's ``track_id``). A progress bar shows on a
terminal; without ``--json`` a summary of the tracks ends the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sam_detect.errors import SamDetectError

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


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

    capture = open_capture(source)
    writer = None
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
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
    tracks = detector.tracks()
    return {"source": source, "frames": frames, "keyframes": detector.video_tracker().keyframes,
            "tracks": [{"track_id": t.track_id, "label": t.label,
                        "confidence": round(float(t.confidence), 3), "frames": t.hits}
                       for t in tracks], "output": output}


def format_summary(summary: dict[str, Any]) -> str:
    """Return the end-of-run summary of :func:`track_video` as text."""
    lines = [f"{summary['source']}: {summary['frames']} frame(s), {summary['keyframes']} key "
             f"frame(s), {len(summary['tracks'])} track(s)"
             + (f"; overlay written to {summary['output']}" if summary["output"] else "")]
    for track in summary["tracks"]:
        lines.append(f"  track {track['track_id']:<3} {track['label'] or 'unknown':<20} "
                     f"confidence {track['confidence']:.2f}  seen in {track['frames']} frame(s)")
    return "\n".join(lines)


__all__ = ["format_summary", "open_capture", "open_writer", "track_video"]
