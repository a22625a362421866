# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Benchmark the node's own cost around the models, and one camera against two.

Run ``python bench/bench_node.py [--embedder average] [--objects 10] [--repeats 10]``. It starts
the real :class:`~sam_detect_ros.detect_node.DetectNode` in this process (memory store, classical
segmenter) and prints, in one run:

* the node's overhead per stage on a 1080p bgr8 frame with N objects (message -> array, results
  -> messages, overlay drawing and its message, publishing, history) against the model time
  (``SAMDetect.detect``), with the previous code's conversions measured alongside;
* the per-frame cost of the worker's path (decode, models, publish) with one camera against two
  cameras whose frames are batched through the models together (640x480, 5 objects).

Figures depend on the machine: compare ratios, or runs on the same machine.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rclpy  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sam_detect.image_io import load_image  # noqa: E402
from sam_detect_ros.conversions import (  # noqa: E402
    detections_to_msg,
    image_msg_to_array,
    image_msg_to_rgb,
    rgb_to_image_msg,
)
from sam_detect_ros.demo import floor_texture, SceneObject, synthetic_frame  # noqa: E402
from sam_detect_ros.detect_node import DetectNode  # noqa: E402
from sam_detect_ros.frame_history import RecentFrame  # noqa: E402
from sam_detect_ros.frame_worker import Frame  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

COLOURS = [(215, 40, 35), (40, 70, 200), (235, 205, 40), (30, 160, 60), (200, 60, 200),
           (240, 140, 30), (20, 170, 190), (120, 60, 20), (230, 230, 230), (90, 90, 230)]


def scene(size: tuple[int, int], objects: int) -> list[SceneObject]:
    """Return ``objects`` shapes spread over a frame of ``size`` (height, width)."""
    height, width = size
    columns = max(1, min(objects, 5))
    rows = (objects + columns - 1) // columns
    radius = int(min(height / (2.6 * rows), width / (2.6 * columns)))
    shapes = ("disc", "box", "triangle")
    return [SceneObject(f"object {i}", shapes[i % 3], COLOURS[i % len(COLOURS)],
                        (int((i % columns + 0.5) * width / columns),
                         int((i // columns + 0.5) * height / rows)), radius)
            for i in range(objects)]


def timed(function: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Return the medians of wall time and of this thread's CPU time, in milliseconds.

    On a shared machine the wall time includes waiting for a core; the CPU time is the work.
    """
    function()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        function()
        wall.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.thread_time() - start_cpu) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def old_image_msg_to_rgb(msg: Any) -> np.ndarray:
    """Convert as the node did before: a reversed-channel numpy view copied by the loader."""
    return load_image(image_msg_to_array(msg)[:, :, 2::-1]).copy()


def old_rgb_to_image_msg(rgb: np.ndarray, header: Header) -> Any:
    """Build the overlay message as before: numpy channel reversal, then ``tobytes``."""
    from sensor_msgs.msg import Image

    msg = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="bgr8", step=rgb.shape[1] * 3)
    msg.header = header
    msg.data = np.ascontiguousarray(rgb[:, :, ::-1]).tobytes()
    return msg


def make_node(context: Any, embedder: str, cameras: list[str]) -> DetectNode:
    values = {"embedder": embedder, "store": "memory", "publish_overlay": True,
              "max_instances": 0, "diagnostics_period": 0.0, "cameras": cameras}
    overrides = [Parameter(k, value=v) for k, v in values.items() if v != []]
    return DetectNode(parameter_overrides=overrides, context=context)


def overhead(node: DetectNode, objects: int, repeats: int) -> None:
    header = Header(frame_id="camera")
    header.stamp.sec = 1
    size = (1080, 1920)
    rgb = synthetic_frame(0, size, scene(size, objects))
    msg = rgb_to_image_msg(rgb, header, encoding="bgr8")
    camera = node.cameras[0]
    detector = node.detector
    image = image_msg_to_rgb(msg)
    detections = detector.detect(image)
    overlay = detector.visualize(image, detections)
    instances_msg = detections_to_msg(detections, header)
    overlay_msg = rgb_to_image_msg(overlay, header)
    from dataclasses import replace

    stages = {
        "message -> array (cv2)": lambda: image_msg_to_rgb(msg),
        "results -> InstanceArray": lambda: detections_to_msg(detections, header),
        "history (no masks)": lambda: node.frames.history.add(RecentFrame(
            10**9, tuple(replace(i, mask=None, neighbours=[]) for i in detections))),
        "overlay drawing": lambda: detector.visualize(image, detections),
        "overlay -> Image (cv2)": lambda: rgb_to_image_msg(overlay, header),
        "publish detections": lambda: camera.detections_pub.publish(instances_msg),
        "publish overlay": lambda: camera.overlay_pub.publish(overlay_msg),
    }
    times = {name: timed(function, repeats) for name, function in stages.items()}
    model = timed(lambda: detector.detect(image), max(3, repeats // 3))
    decode_and_publish = timed(lambda: node.frames.publish(
        camera, header, image_msg_to_rgb(msg), detections, detector), repeats)
    before = {"message -> array (numpy, before)": timed(
        lambda: old_image_msg_to_rgb(msg), repeats),
              "overlay -> Image (numpy, before)": timed(
        lambda: old_rgb_to_image_msg(overlay, header), repeats)}
    total = tuple(sum(t[i] for t in times.values()) for i in (0, 1))
    print(f"\n1080p bgr8 frame, {len(detections)} instances, embedder "
          f"{detector.embedder.name} (median of {repeats}; wall ms / CPU ms of this thread):")
    for name, (wall, cpu) in {**times, **before}.items():
        print(f"  {name:34s} {wall:8.2f} {cpu:8.2f}")
    print(f"  {'node overhead, sum of stages':34s} {total[0]:8.2f} {total[1]:8.2f}")
    print(f"  {'decode + node.publish, measured':34s} {decode_and_publish[0]:8.2f} "
          f"{decode_and_publish[1]:8.2f}")
    print(f"  {'models (SAMDetect.detect)':34s} {model[0]:8.2f} {model[1]:8.2f}")
    print(f"  overhead / models (measured, wall): {decode_and_publish[0] / model[0]:.3f}")


def cameras_cost(context: Any, embedder: str, repeats: int) -> None:
    node = make_node(context, embedder, ["front", "wrist"])
    try:
        size = (480, 640)
        objects = scene(size, 5)

        def frame(camera: str, index: int) -> Frame:
            header = Header(frame_id=camera)
            header.stamp.sec = index + 1
            return Frame(camera, rgb_to_image_msg(synthetic_frame(index, size, objects), header))

        front, wrist = frame("front", 0), frame("wrist", 1)
        # One camera sees both frames in turn, so both runs process the same pictures.
        alone = [timed(lambda: node.frames.process([each]), repeats) for each in (front, wrist)]
        single = tuple((a + b) / 2 for a, b in zip(*alone))
        batched = timed(lambda: node.frames.process([front, wrist]), repeats)
        print(f"\ninstances per frame: "
              f"{[len(node.recent_frame(None, cam).instances) for cam in ('front', 'wrist')]}")
        print(f"640x480, 5 objects per frame, worker path (decode, models, publish), "
              f"median of {repeats}; wall ms / CPU ms of this thread:")
        print(f"  1 camera : {single[0]:8.2f} {single[1]:8.2f} per frame")
        print(f"  2 cameras: {batched[0] / 2:8.2f} {batched[1] / 2:8.2f} per frame (batches of 2)")
        print(f"  per-frame cost, 2 cameras / 1 camera: wall {batched[0] / 2 / single[0]:.3f}, "
              f"CPU {batched[1] / 2 / single[1]:.3f}")
    finally:
        node.destroy_node()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", default="auto", help="auto, average or efficientnet")
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}, python "
          f"{platform.python_version()}; floor texture {floor_texture((2, 2)).shape}")
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = make_node(context, args.embedder, [])
        try:
            overhead(node, args.objects, args.repeats)
        finally:
            node.destroy_node()
        cameras_cost(context, args.embedder, args.repeats)
    finally:
        rclpy.try_shutdown(context=context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
