# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tracking evaluation on the sequences of :mod:`sam_detect.evaluation.sequences`.

For each sequence the detector's store is emptied, each object is taught from its cut-out (as a
user would teach the objects before tracking them), and every frame goes through
:meth:`~sam_detect.SAMDetect.track`. Predicted masks match ground-truth masks at
``iou_threshold``; the CLEAR-MOT and identity metrics come from ``motmetrics`` (the reference
implementation of the MOTChallenge metrics):

* **IDF1**: the F1 score of id-correct detections under the best one-to-one mapping of
  predicted to true ids over the whole sequence; it drops with misses, false alarms and id
  changes alike.
* **id switches**: a true object matched to another predicted id than before.
* **label flips per 100 frames**: how often a track's label changes, summed over tracks, per
  100 track-frames (the flicker a user sees).
* **label accuracy**: share of matched track-frames whose label is the object's category.

With ``truth_masks`` the key frames get the ground-truth masks instead of the segmenter's (and
the classical template propagation runs between them): that measures the tracker alone, apart
from how well the segmenter finds the objects.

A prediction on an object that is mostly hidden (``ignore`` in the ground truth) counts neither
as a hit nor as a false alarm.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from sam_detect.errors import SamDetectError, require_extra
from sam_detect.evaluation.sequences import SEQUENCES_FILE
from sam_detect.results import decode_rle

MOT_METRICS = ["idf1", "idp", "idr", "num_switches", "mota", "precision", "recall",
               "num_frames", "num_unique_objects"]


def _iou_matrix(truth: list[np.ndarray], predicted: list[np.ndarray]) -> np.ndarray:
    if not truth or not predicted:
        return np.zeros((len(truth), len(predicted)))
    gt = np.stack([m.ravel() for m in truth]).astype(np.float32)
    pred = np.stack([m.ravel() for m in predicted]).astype(np.float32)
    inter = gt @ pred.T
    union = gt.sum(1)[:, None] + pred.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def label_flips(labels_by_track: dict[int, list[str | None]]) -> tuple[int, int]:
    """Return ``(flips, track-frames)``: label changes between a track's consecutive frames.

    Example:
        >>> label_flips({1: ["cup", "cup", "can", "can"], 2: [None, "cup"]})
        (2, 6)
    """
    flips = sum(sum(a != b for a, b in zip(labels, labels[1:]))
                for labels in labels_by_track.values())
    return flips, sum(len(labels) for labels in labels_by_track.values())


def evaluate_tracking(detector: Any, folder: str | Path, iou_threshold: float = 0.5,
                      max_sequences: int | None = None, teach: bool = True,
                      min_confidence: float = 0.0, truth_masks: bool = False,
                      progress: bool = False) -> dict[str, Any]:
    """Track every sequence in ``folder`` with ``detector``; return the metrics.

    Args:
        detector: A :class:`~sam_detect.SAMDetect` with an empty store (emptied again after).
        folder: Written by :func:`~sam_detect.evaluation.sequences.make_sequences`.
        iou_threshold: Least mask IoU for a prediction to match an object.
        max_sequences: Use only the first N sequences.
        teach: Teach each sequence's objects first (else labels stay unknown).
        min_confidence: Count only instances with a label and at least this track confidence
            (what a user who filters unknown objects sees); 0 counts every instance.
        truth_masks: Key frames get the ground-truth masks (measures the tracker alone).
        progress: Show a progress bar on stderr.

    Returns:
        ``{"overall": {...}, "sequences": {name: {...}}, "keyframe_interval", "ms_per_frame"}``.
    """
    require_extra("motmetrics", "eval", "tracking evaluation")
    import motmetrics as mm
    from tqdm import tqdm

    from sam_detect.image_io import load_image

    root = Path(folder)
    index_file = root / SEQUENCES_FILE if root.is_dir() else root
    if not index_file.is_file():
        raise SamDetectError(f"no {SEQUENCES_FILE} in {folder}; make one with: sam-detect "
                             "make-benchmark OUT --sequences N")
    root = index_file.parent
    index = json.loads(index_file.read_text(encoding="utf-8"))
    sequences = index["sequences"][:max_sequences]
    if detector.labels():
        raise SamDetectError("tracking evaluation teaches and then removes examples: give it a "
                             "detector with an empty store")
    # A stream of its own: the detector's stages stay as they are, and so do its other tracks.
    stream = "evaluation:truth" if truth_masks else "evaluation"
    video = detector.video_tracker(stream)
    oracle = TruthSegmenter() if truth_masks else None
    if oracle is not None:
        from sam_detect.tracking import TemplatePropagator

        video.segmenter = oracle  # key frames get the ground truth; the rest is the detector's
        video.set_propagator(TemplatePropagator())
    accumulators, names, per_sequence = [], [], {}
    total_flips = total_track_frames = correct = matched = frames = keyframes = 0
    elapsed = 0.0
    bar = tqdm(total=sum(s["frames"] for s in sequences), disable=not progress, unit="frame")
    try:
        for sequence in sequences:
            video.reset()
            if teach:
                for obj in sequence["objects"]:
                    detector.add_examples_from_file(str(root / obj["example"]), obj["category"])
            accumulator = mm.MOTAccumulator(auto_id=True)
            labels_by_track: dict[int, list[str | None]] = {}
            seq_correct = seq_matched = 0
            for frame_index, frame_truth in enumerate(sequence["annotations"]):
                image = load_image(root / sequence["name"] / f"{frame_index:06d}.png")
                if oracle is not None:
                    oracle.masks = [decode_rle(a["rle"]) for a in frame_truth]
                start = time.perf_counter()
                detections = detector.track(image, stream=stream)
                elapsed += time.perf_counter() - start
                frames += 1
                truth = [a for a in frame_truth if not a["ignore"]]
                ignored = [a for a in frame_truth if a["ignore"]]
                masks = [decode_rle(a["rle"]) for a in truth]
                preds = [p for p in detections if min_confidence <= 0 or (
                    p.label is not None and p.confidence >= min_confidence)]
                ious = _iou_matrix(masks, [p.mask for p in preds])
                # Predictions on a mostly hidden object are neither hits nor false alarms.
                hidden = _iou_matrix([decode_rle(a["rle"]) for a in ignored],
                                     [p.mask for p in preds])
                keep = [j for j in range(len(preds))
                        if not (hidden.shape[0] and hidden[:, j].max() >= iou_threshold
                                and (ious.shape[0] == 0 or ious[:, j].max() < iou_threshold))]
                preds, ious = [preds[j] for j in keep], ious[:, keep]
                distances = np.where(ious >= iou_threshold, 1.0 - ious, np.nan)
                accumulator.update([a["id"] for a in truth], [p.track_id for p in preds],
                                   distances)
                for pred in preds:
                    labels_by_track.setdefault(pred.track_id, []).append(pred.label)
                for row, col in zip(*np.nonzero(ious >= iou_threshold)):
                    seq_matched += 1
                    seq_correct += int(preds[col].label == truth[row]["category"])
                bar.update(1)
            for label in list(detector.labels()):
                detector.remove_label(label)
            keyframes += video.keyframes
            flips, track_frames = label_flips(labels_by_track)
            total_flips += flips
            total_track_frames += track_frames
            correct += seq_correct
            matched += seq_matched
            accumulators.append(accumulator)
            names.append(sequence["name"])
            per_sequence[sequence["name"]] = {
                "label_flips_per_100_frames": 100.0 * flips / max(track_frames, 1),
                "label_accuracy": seq_correct / max(seq_matched, 1),
                "tracks": len(labels_by_track)}
    finally:
        bar.close()
        for label in list(detector.labels()):
            detector.remove_label(label)
    summary = mm.metrics.create().compute_many(accumulators, metrics=MOT_METRICS, names=names,
                                               generate_overall=True)
    table = {name: {metric: _plain(summary.loc[name, metric]) for metric in MOT_METRICS}
             for name in [*names, "OVERALL"]}
    for name in names:
        table[name].update(per_sequence[name])
    overall = table.pop("OVERALL")
    overall.update(label_flips_per_100_frames=100.0 * total_flips / max(total_track_frames, 1),
                   label_accuracy=correct / max(matched, 1))
    return {"overall": overall, "sequences": table, "iou_threshold": iou_threshold,
            "min_confidence": min_confidence, "truth_masks": truth_masks,
            "keyframe_interval": detector.keyframe_interval,
            "keyframe_share": keyframes / max(frames, 1),
            "ms_per_frame": 1e3 * elapsed / max(frames, 1), "dataset": str(index_file),
            "seed": index.get("seed")}


class TruthSegmenter:
    """Answers with the current frame's ground-truth masks (set ``masks`` before each frame)."""

    name = "truth"

    def __init__(self) -> None:
        self.masks: list[np.ndarray] = []

    def segment(self, image: np.ndarray) -> list[Any]:
        """Return the ground-truth masks as segments."""
        from sam_detect.results import Segment

        return [Segment(mask, 1.0) for mask in self.masks if mask.any()]


def _plain(value: Any) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else round(number, 6)


def format_tracking_report(report: dict[str, Any]) -> str:
    """Return the tracking report as a few readable lines."""
    overall = report["overall"]
    lines = [("ground-truth masks on key frames: " if report.get("truth_masks") else "")
             + f"tracking on {len(report['sequences'])} sequence(s), key frame every "
             f"{report['keyframe_interval']} ({100 * report['keyframe_share']:.0f} % of frames "
             f"were key frames), {report['ms_per_frame']:.1f} ms/frame",
             f"IDF1 {overall['idf1']:.3f}  id switches {overall['num_switches']}  "
             f"MOTA {overall['mota']:.3f}  recall {overall['recall']:.3f}  precision "
             f"{overall['precision']:.3f}",
             f"label flips per 100 track-frames {overall['label_flips_per_100_frames']:.2f}  "
             f"label accuracy {overall['label_accuracy']:.3f}"]
    for name, row in report["sequences"].items():
        lines.append(f"  {name}: IDF1 {row['idf1']:.3f}, switches {row['num_switches']}, "
                     f"flips/100 {row['label_flips_per_100_frames']:.2f}, tracks {row['tracks']}")
    return "\n".join(lines)


__all__ = ["evaluate_tracking", "format_tracking_report", "label_flips"]
