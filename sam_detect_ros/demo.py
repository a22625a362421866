# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Self-contained demo of the ``sam_detect`` node: teach an object while it runs.

``python -m sam_detect_ros.demo [--frames N] [--out DIR]`` starts the node in this process (its
default models, a temporary Edge store), publishes a synthetic camera stream of a few objects on
a textured floor, teaches two single objects from ONE picture each: the red ball by pointing at it
in one frame (``~/label_instance`` with an instance id from a published frame) and the blue box
from one separate picture (``~/add_example``). It checks that later frames recognise them and
says what happened to the object nobody taught (the yellow wedge): left unknown, or given a
taught label. Overlays are written to ``DIR`` (default ``out/demo``). Exits 1 when the taught ball
is not recognised.

:func:`synthetic_frame` and :func:`object_picture` are also what the tests publish.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
import sys
import tempfile
import threading
import time
from typing import Any

import cv2
import numpy as np

FRAME_SIZE = (240, 320)  # (height, width)


@dataclass(frozen=True)
class SceneObject:
    """One synthetic object: its name, shape, colour and where it sits at frame 0."""

    name: str
    shape: str  # disc, box or triangle
    colour: tuple[int, int, int]  # RGB
    centre: tuple[int, int]  # (x, y) at frame 0
    radius: int


SCENE = (
    SceneObject("red ball", "disc", (215, 40, 35), (70, 80), 30),
    SceneObject("blue box", "box", (40, 70, 200), (230, 75), 32),
    SceneObject("yellow wedge", "triangle", (235, 205, 40), (160, 175), 34),
)


def floor_texture(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Return a grey-green, gravel-like RGB floor of ``shape`` (height, width)."""
    rng = np.random.default_rng(seed)
    height, width = shape
    noise = rng.normal(0.0, 1.0, (height // 4 + 1, width // 4 + 1)).astype(np.float32)
    coarse = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0.0, 1.0, (height, width)).astype(np.float32)
    light = 105.0 + 14.0 * coarse + 7.0 * fine
    floor = np.stack([light * 0.92, light * 1.05, light * 0.85], axis=2)
    return np.clip(floor, 0, 255).astype(np.uint8)


def _draw(image: np.ndarray, obj: SceneObject, centre: tuple[int, int]) -> None:
    """Draw ``obj`` at ``centre`` with a little shading and a pattern, so it has texture."""
    x, y, r = centre[0], centre[1], obj.radius
    colour = tuple(int(c) for c in obj.colour)
    darker = tuple(int(c * 0.6) for c in obj.colour)
    if obj.shape == "disc":
        cv2.circle(image, (x, y), r, colour, -1, cv2.LINE_AA)
        cv2.circle(image, (x - r // 3, y - r // 3), r // 4, (250, 235, 230), -1, cv2.LINE_AA)
    elif obj.shape == "box":
        cv2.rectangle(image, (x - r, y - r), (x + r, y + r), colour, -1)
        for offset in range(-r + 6, r, 12):
            cv2.line(image, (x - r, y + offset), (x + r, y + offset), darker, 3)
    else:
        points = np.array([(x, y - r), (x - r, y + r), (x + r, y + r)], np.int32)
        cv2.fillPoly(image, [points], colour, cv2.LINE_AA)
        cv2.circle(image, (x, y + r // 3), r // 4, darker, -1, cv2.LINE_AA)


def object_centre(obj: SceneObject, index: int) -> tuple[int, int]:
    """Return where ``obj`` is in frame ``index``: each object drifts on a small circle."""
    phase = 0.35 * index + obj.centre[0] * 0.01
    return (int(round(obj.centre[0] + 6 * np.cos(phase))),
            int(round(obj.centre[1] + 4 * np.sin(phase))))


def synthetic_frame(index: int, size: tuple[int, int] = FRAME_SIZE,
                    objects: tuple[SceneObject, ...] = SCENE) -> np.ndarray:
    """Return frame ``index`` of the synthetic stream: RGB ``uint8`` ``(H, W, 3)``.

    Example:
        >>> synthetic_frame(0).shape
        (240, 320, 3)
    """
    image = floor_texture(size, seed=index)
    for obj in objects:
        _draw(image, obj, object_centre(obj, index))
    return image


def object_picture(obj: SceneObject, size: tuple[int, int] = (160, 160),
                   seed: int = 99) -> tuple[np.ndarray, np.ndarray]:
    """Return a close-up of one object on the floor and its mask (for ``~/add_example``)."""
    floor = floor_texture(size, seed=seed)
    image = floor.copy()
    _draw(image, obj, (size[1] // 2, size[0] // 2))
    return image, np.any(image != floor, axis=2)


def instance_at(detections: Any, point: tuple[int, int]) -> Any:
    """Return the instance (message) whose roi contains ``point`` (x, y), or None."""
    for instance in detections.instances:
        roi = instance.roi
        if (roi.x_offset <= point[0] < roi.x_offset + roi.width
                and roi.y_offset <= point[1] < roi.y_offset + roi.height):
            return instance
    return None


class DemoClient:
    """Publishes frames to the node and waits for each frame's detections and overlay."""

    def __init__(self, node: Any, namespace_prefix: str = "") -> None:
        from rcl_interfaces.srv import SetParameters
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sam_detect_ros.msg import InstanceArray
        from sam_detect_ros.srv import AddExample, LabelInstance, ListLabels
        from sensor_msgs.msg import Image

        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.node = node
        self.publisher = node.create_publisher(Image, f"{namespace_prefix}image", reliable)
        self._received: dict[tuple[int, int], Any] = {}
        self._overlays: dict[tuple[int, int], Any] = {}
        self._event = threading.Condition()
        node.create_subscription(InstanceArray, f"{namespace_prefix}detections",
                                 self._on_detections, reliable)
        node.create_subscription(Image, f"{namespace_prefix}overlay", self._on_overlay, reliable)
        service = f"{namespace_prefix}sam_detect/"
        self.label_instance = node.create_client(LabelInstance, service + "label_instance")
        self.add_example = node.create_client(AddExample, service + "add_example")
        self.list_labels = node.create_client(ListLabels, service + "list_labels")
        self.set_parameters = node.create_client(SetParameters, service + "set_parameters")

    def _on_detections(self, msg: Any) -> None:
        with self._event:
            self._received[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg
            self._event.notify_all()

    def _on_overlay(self, msg: Any) -> None:
        with self._event:
            self._overlays[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg
            self._event.notify_all()

    def wait_for_node(self, timeout: float = 20.0) -> None:
        """Block until the node's subscription and services are discovered."""
        deadline = time.monotonic() + timeout
        clients = (self.label_instance, self.add_example, self.list_labels,
                   self.set_parameters)
        while (self.publisher.get_subscription_count() == 0
               or not all(c.service_is_ready() for c in clients)):
            if time.monotonic() > deadline:
                raise RuntimeError("the sam_detect node did not appear")
            time.sleep(0.05)

    def send(self, rgb: np.ndarray, index: int, want_overlay: bool = False,
             timeout: float = 30.0) -> tuple[Any, Any]:
        """Publish one frame (stamp ``index`` seconds) and return its detections (and overlay)."""
        from sam_detect_ros.conversions import rgb_to_image_msg
        from std_msgs.msg import Header

        header = Header(frame_id="demo_camera")
        header.stamp.sec = index + 1
        msg = rgb_to_image_msg(rgb, header, encoding="rgb8")
        key = (header.stamp.sec, 0)
        deadline = time.monotonic() + timeout
        self.publisher.publish(msg)
        with self._event:
            while key not in self._received or (want_overlay and key not in self._overlays):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no detections for frame {index} within {timeout} s")
                self._event.wait(left)
            return self._received.pop(key), self._overlays.pop(key, None)

    def set_parameter(self, name: str, value: float) -> Any:
        """Set a double parameter of the node as ``ros2 param set`` does; return the result."""
        from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
        from rcl_interfaces.srv import SetParameters

        value_msg = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value)
        request = SetParameters.Request(parameters=[Parameter(name=name, value=value_msg)])
        return self.call(self.set_parameters, request).results[0]

    @staticmethod
    def call(client: Any, request: Any, timeout: float = 30.0) -> Any:
        """Call a service from a thread other than the executor's and wait for the answer."""
        future = client.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        if not done.wait(timeout):
            raise RuntimeError(f"service {client.srv_name} did not answer within {timeout} s")
        return future.result()


def _save_overlay(msg: Any, path: Path) -> None:
    from sam_detect_ros.conversions import image_msg_to_rgb

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image_msg_to_rgb(msg)[:, :, ::-1])


def _describe(detections: Any) -> str:
    return ", ".join(f"#{i.id} {i.label or '?'} ({i.confidence:.2f})"
                     for i in detections.instances) or "nothing"


def run_demo(frames: int, out: Path, embedder: str = "auto", teach_at: int = 2,
             unknown_threshold: float = 0.75) -> int:
    """Run the demo; return the exit code (0: the taught ball was recognised).

    Args:
        frames: Frames to publish (at least ``teach_at + 2``).
        out: Folder for ``overlay_before.png`` (first frame) and ``overlay.png`` (last frame).
        embedder: The node's ``embedder`` parameter.
        teach_at: The frame whose ball instance is taught.
        unknown_threshold: Set two frames after teaching (through the parameter service) when
            the embedder's default is lower, so that the untaught wedge reads as unknown.
    """
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.parameter import Parameter
    from sam_detect_ros.conversions import mask_to_image_msg, rgb_to_image_msg
    from sam_detect_ros.detect_node import DetectNode
    from sam_detect_ros.srv import AddExample, LabelInstance, ListLabels

    ball, box, wedge = SCENE
    frames = max(frames, teach_at + 2)
    store = tempfile.TemporaryDirectory(prefix="sam_detect_demo_")
    rclpy.init()
    executor = MultiThreadedExecutor()
    spinner = None
    node = client_node = None
    try:
        node = DetectNode(parameter_overrides=[
            Parameter("store_path", value=str(Path(store.name) / "store")),
            Parameter("embedder", value=embedder),
            Parameter("image_qos", value="reliable"),
        ])
        client_node = rclpy.create_node("sam_detect_demo")
        client = DemoClient(client_node)
        executor.add_node(node)
        executor.add_node(client_node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        client.wait_for_node()
        print(f"node ready: embedder {node.detector.embedder.name}; publishing {frames} frames "
              f"of {FRAME_SIZE[1]}x{FRAME_SIZE[0]}")

        recognised = checked = 0
        box_named = 0
        wedge_fate: dict[str, int] = {}
        for index in range(frames):
            start = time.perf_counter()
            last = index == frames - 1
            detections, overlay = client.send(synthetic_frame(index), index,
                                              want_overlay=index == 0 or last)
            took = (time.perf_counter() - start) * 1e3
            print(f"frame {index}: {_describe(detections)}  [{took:.0f} ms]")
            if overlay is not None:
                name = "overlay_before.png" if index == 0 else "overlay.png"
                _save_overlay(overlay, out / name)
            if index == teach_at:
                pointed = instance_at(detections, object_centre(ball, index))
                if pointed is None:
                    print("the ball was not segmented; cannot teach it", file=sys.stderr)
                    return 1
                answer = client.call(client.label_instance, LabelInstance.Request(
                    label=ball.name, instance_id=pointed.id, stamp=detections.header.stamp))
                print(f"label_instance(#{pointed.id} -> '{ball.name}', ONE frame): "
                      f"{answer.message}")
                picture, mask = object_picture(box)
                answer = client.call(client.add_example, AddExample.Request(
                    label=box.name, image=rgb_to_image_msg(picture, encoding="rgb8"),
                    mask=mask_to_image_msg(mask)))
                print(f"add_example('{box.name}', from ONE separate picture): {answer.message}")
            elif index == teach_at + 2 and node.detector.unknown_threshold < unknown_threshold:
                # The wedge looks more like the box than like nothing: raise the bar for a match.
                result = client.set_parameter("unknown_threshold", unknown_threshold)
                print(f"ros2 param set /sam_detect unknown_threshold {unknown_threshold}: "
                      f"{'done' if result.successful else result.reason}")
            if index > teach_at:
                found = instance_at(detections, object_centre(ball, index))
                checked += 1
                recognised += int(found is not None and found.label == ball.name)
                found = instance_at(detections, object_centre(box, index))
                box_named += int(found is not None and found.label == box.name)
                found = instance_at(detections, object_centre(wedge, index))
                fate = ("not segmented" if found is None else "unknown" if not found.label
                        else f"'{found.label}'")
                wedge_fate[fate] = wedge_fate.get(fate, 0) + 1
        labels = client.call(client.list_labels, ListLabels.Request())
        print("store: " + ", ".join(f"{label} x{count}"
                                    for label, count in zip(labels.labels, labels.counts)))
        counts = node.frame_counts()
        print(f"frames received {counts['received']}, processed {counts['processed']}, "
              f"dropped {counts['dropped']}; overlays in {out}/")
        print(f"the taught ball was recognised in {recognised} of {checked} later frames")
        print(f"the blue box, taught from one picture, was recognised in {box_named} of "
              f"{checked} later frames")
        print(f"the {wedge.name}, which nobody taught, was left unknown in "
              f"{wedge_fate.get('unknown', 0)} of {checked} later frames"
              + "".join(f"; {fate} in {n}" for fate, n in sorted(wedge_fate.items())
                        if fate != "unknown"))
        return 0 if checked and recognised == checked else 1
    finally:
        executor.shutdown()
        if spinner is not None:
            spinner.join(timeout=10)
        for each in (client_node, node):
            if each is not None:
                each.destroy_node()
        rclpy.try_shutdown()
        store.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(prog="python -m sam_detect_ros.demo",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=8, help="frames to publish (default 8)")
    parser.add_argument("--out", type=Path, default=Path("out/demo"),
                        help="folder for the overlay PNGs (default out/demo)")
    parser.add_argument("--embedder", default="auto",
                        help="embedder kind (default auto: the best one installed)")
    parser.add_argument("--unknown-threshold", type=float, default=0.75,
                        help="raise the node's unknown_threshold to this after teaching "
                             "(default 0.75)")
    args = parser.parse_args(argv)
    return run_demo(args.frames, args.out, embedder=args.embedder,
                    unknown_threshold=args.unknown_threshold)


if __name__ == "__main__":
    sys.exit(main())
