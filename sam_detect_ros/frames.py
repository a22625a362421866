# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Camera frames through the detector to the topics: decode, detect or track, publish.

:class:`CameraFrames` is what the node's frame worker (:mod:`sam_detect_ros.frame_worker`) runs
on each batch of waiting frames, one per camera: it decodes them, runs the detector on all of
them at once (or tracks each camera as its own video), remembers the results for
``~/label_instance`` and publishes detections, markers and the overlay. It takes what it needs
from the node (the active detector, the cameras, the settings) as functions, and holds no node.

Frames over the pixel budget (``max_image_pixels``; a compressed frame is judged by its header,
before decoding) count as failed. :meth:`CameraFrames.check_delivery` warns when a camera's
topic has a publisher but its frames do not reach the node
(:mod:`sam_detect_ros.frame_delivery`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import time
from typing import Any, Callable

from rclpy.qos import QoSProfile, ReliabilityPolicy
from sam_detect.errors import SamDetectError
from sam_detect.results import Detections
from sam_detect_ros.conversions import (
    check_frame_pixels,
    compressed_msg_to_rgb,
    depth_msg_to_metres,
    detections_to_msg,
    image_msg_to_rgb,
    markers_msg,
    rgb_to_image_msg,
    stamp_ns,
)
from sam_detect_ros.depth import instance_positions, Intrinsics, MIN_FOCAL_PX, StampPairer
from sam_detect_ros.diagnostics import Throttle
from sam_detect_ros.frame_delivery import delivery_warning
from sam_detect_ros.frame_history import FrameHistory, RecentFrame
from sam_detect_ros.frame_worker import Frame
from sam_detect_ros.topics import CameraTopics
from sam_detect_ros.msg import InstanceArray
from sam_detect_ros.srv import LabelInstance
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

WARN_PERIOD_S = 5.0  # throttle for warnings about bad frames, per camera
DELIVERY_WARN_PERIOD_S = 30.0  # throttle for the warning about frames lost between processes
DEPTH_WAIT_S = 0.1  # how long a frame waits for its depth image, while depth keeps coming


@dataclass
class Camera:
    """One camera's topics, publishers, service, subscriptions and depth (``name`` "" if single).

    Attributes:
        label_instance: The ``~/<camera>/label_instance`` service of a named camera.
        depth: Recent depth images, paired with colour frames by stamp.
        intrinsics: From the latest ``camera_info``; None before the first or when K is unset.
    """

    topics: CameraTopics
    detections_pub: Any = None
    overlay_pub: Any = None
    markers_pub: Any = None
    label_instance: Any = None
    subscriptions: list[Any] = field(default_factory=list)
    depth: StampPairer = field(default_factory=StampPairer)
    intrinsics: Intrinsics | None = None

    @property
    def name(self) -> str:
        """Return the camera's namespace (``""`` for the single ``image`` input)."""
        return self.topics.name

    def advertise(self, node: Any, use_depth: bool,
                  label_instance: Callable[[Any, Any], Any] | None = None, qos: Any = None,
                  group: Any = None) -> None:
        """Create the camera's lifecycle publishers on ``node`` (markers with depth).

        A named camera also gets its ``~/<camera>/label_instance`` service, answered by
        ``label_instance`` (with ``qos`` and the callback ``group``).
        """
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.detections_pub = node.create_lifecycle_publisher(
            InstanceArray, self.topics.detections, reliable)
        self.overlay_pub = node.create_lifecycle_publisher(Image, self.topics.overlay, reliable)
        if use_depth:
            self.markers_pub = node.create_lifecycle_publisher(
                MarkerArray, self.topics.markers, reliable)
        if self.name and label_instance is not None:
            self.label_instance = node.create_service(
                LabelInstance, f"~/{self.name.strip('/')}/label_instance", label_instance,
                qos_profile=qos, callback_group=group)

    def subscribe(self, node: Any, submit: Callable[[str, Any, int], None], qos: Any,
                  compressed: bool, use_depth: bool, group: Any,
                  warn: Callable[[str, str], None] = lambda key, message: None) -> None:
        """Subscribe ``node`` to the camera's image (and depth, camera_info) topics.

        Each image goes to ``submit(camera, message, stamp_ns)`` (the frame worker); ``warn(key,
        message)`` says why a ``camera_info`` is ignored.
        """
        topics = self.topics
        self.subscriptions.append(node.create_subscription(
            CompressedImage if compressed else Image,
            topics.compressed if compressed else topics.image,
            lambda msg: submit(self.name, msg, stamp_ns(msg.header.stamp)),
            qos, callback_group=group))
        if use_depth:
            self.subscriptions.append(node.create_subscription(
                Image, topics.depth, lambda msg: self.depth.add(stamp_ns(msg.header.stamp), msg),
                qos, callback_group=group))
            self.subscriptions.append(node.create_subscription(
                CameraInfo, topics.camera_info,
                lambda msg: self.read_camera_info(msg, warn), qos, callback_group=group))

    def read_camera_info(self, msg: Any, warn: Callable[[str, str], None]) -> None:
        """Take a ``camera_info``'s intrinsics; say why an unusable one is ignored."""
        self.intrinsics = Intrinsics.from_camera_info(msg)
        if self.intrinsics is None and any(msg.k):  # all zeros: an uncalibrated driver
            warn(f"{self.name}/camera_info",
                 f"ignoring camera_info: K has fx={msg.k[0]:g}, fy={msg.k[4]:g} (focal lengths "
                 f"of at least {MIN_FOCAL_PX:g} pixel and finite values needed); no 3D "
                 "positions until a usable one arrives")

    def unsubscribe(self, node: Any) -> None:
        """Destroy the camera's subscriptions on ``node``."""
        for subscription in self.subscriptions:
            node.destroy_subscription(subscription)
        self.subscriptions.clear()

    def unadvertise(self, node: Any) -> None:
        """Destroy the camera's publishers and service on ``node``."""
        for publisher in (self.detections_pub, self.overlay_pub, self.markers_pub):
            if publisher is not None:
                node.destroy_lifecycle_publisher(publisher)
        if self.label_instance is not None:
            node.destroy_service(self.label_instance)
            self.label_instance = None


@dataclass
class CameraFrames:
    """Runs batches of camera frames through the detector and publishes their results.

    Attributes:
        detector: Returns the active detector, or None (frames are then dropped).
        cameras: Returns the configured cameras.
        settings: Returns the node's current parameter values (``tracking``,
            ``publish_overlay``, ``max_image_pixels``, ``image_qos``).
        history: Where published frames are remembered for ``~/label_instance``.
        count: Counts a frame of a camera as ``processed`` or ``failed``.
        compute_lock: Held while the models run (services and parameter changes wait).
        logger: The node's logger.
        observe: Called with each frame and its detections before they are published (the live
            annotation UI), or None.
        last_latency_ms: How long the last frame took, from its batch's start to publishing.
    """

    detector: Callable[[], Any]
    cameras: Callable[[], list[Camera]]
    settings: Callable[[], dict[str, Any]]
    history: FrameHistory
    count: Callable[[str, str], None]
    compute_lock: Any
    logger: Any
    observe: Callable[[Any, Detections], None] | None = None
    last_latency_ms: float = 0.0
    warnings: Throttle = field(default_factory=lambda: Throttle(WARN_PERIOD_S))
    delivery_warnings: Throttle = field(
        default_factory=lambda: Throttle(DELIVERY_WARN_PERIOD_S))

    def process(self, frames: list[Frame]) -> None:
        """Run the detector on the waiting frames of every camera at once and publish."""
        started = time.perf_counter()
        decoded = []
        budget = self.settings()["max_image_pixels"]
        for frame in frames:
            try:
                decoded.append((frame, decode(frame, budget)))
            except SamDetectError as error:
                self.skip(frame.camera, error)
        if not decoded:
            return
        with self.compute_lock:
            detector = self.detector()
            if detector is None:  # deactivated meanwhile
                return
            try:
                images = [image for _, image in decoded]
                if self.settings()["tracking"]:  # each camera is its own video
                    results = []
                    for frame, image in decoded:
                        try:
                            results.append(detector.track(image, stream=frame.camera))
                        except SamDetectError as error:  # one camera's error is its own
                            self.skip(frame.camera, error)
                            results.append(None)
                else:
                    results = ([detector.detect(images[0])] if len(images) == 1
                               else detector.detect_batch(images))
            except SamDetectError as error:
                for frame, _ in decoded:
                    self.skip(frame.camera, error)
                return
        cameras = {camera.name: camera for camera in self.cameras()}
        observe = self.observe
        for (frame, image), detections in zip(decoded, results):
            camera = cameras.get(frame.camera)
            if camera is not None and detections is not None:
                if observe is not None:  # before publishing: whoever saw it can Freeze it
                    observe(image, detections)
                self.publish(camera, frame.message.header, image, detections, detector, started)

    def publish(self, camera: Camera, header: Any, image: Any, detections: Detections,
                detector: Any, started: float | None = None) -> None:
        """Remember a frame's results for ``~/label_instance`` and publish them."""
        # Bookkeeping first, so whoever receives the detections can already label them.
        # The latest frame keeps its pixels (until the next): label_instance stores its views.
        self.history.add(RecentFrame(
            stamp_ns(header.stamp),
            tuple(replace(inst, mask=None, neighbours=[]) for inst in detections), camera.name,
            image, tuple(inst.mask for inst in detections)))
        self.count(camera.name, "processed")
        if started is not None:
            self.last_latency_ms = (time.perf_counter() - started) * 1e3
        positions = None
        if camera.markers_pub is not None:
            positions = self.positions(camera, header, detections)
        camera.detections_pub.publish(detections_to_msg(detections, header, positions))
        if positions is not None:
            camera.markers_pub.publish(markers_msg(detections, positions, header,
                                                   known_labels=detector.palette_labels()))
        if (self.settings()["publish_overlay"]
                or camera.overlay_pub.get_subscription_count() > 0):
            overlay = detector.visualize(image, detections)
            camera.overlay_pub.publish(rgb_to_image_msg(overlay, header))

    def positions(self, camera: Camera, header: Any, detections: Detections) -> list[Any]:
        """Return each instance's 3D position from the depth image paired by stamp (or None)."""
        depth_msg = camera.depth.nearest(stamp_ns(header.stamp), wait_s=DEPTH_WAIT_S)
        depth = None
        if depth_msg is not None:
            try:
                depth = depth_msg_to_metres(depth_msg)
            except SamDetectError as error:
                self.warn(f"{camera.name}/depth", f"ignoring depth image: {error}")
        return instance_positions(detections, depth, camera.intrinsics)

    def skip(self, camera: str, error: BaseException) -> None:
        """Count a camera's frame as failed and say why (throttled per camera)."""
        self.count(camera, "failed")
        where = f" from camera {camera}" if camera else ""
        self.warn(camera, f"skipping frame{where}: {error}")

    def warn(self, key: str, message: str, throttle: Throttle | None = None) -> None:
        """Log ``message`` unless ``key`` spoke within the last few seconds."""
        # Throttled per camera: one broken camera must not silence the other's warnings.
        if (throttle or self.warnings).ready(key, time.monotonic()):
            self.logger.warning(message)

    def check_delivery(self, publishers: Callable[[str], int],
                       problem: Callable[[str, int], str | None]) -> None:
        """Warn when a camera's image topic has a publisher but its frames do not arrive.

        Args:
            publishers: Returns how many publishers a topic has (``Node.count_publishers``).
            problem: Returns why a camera's frames do not arrive, given its publisher count, or
                None (``FrameWorker.delivery_problem``).
        """
        for camera in self.cameras():
            for subscription in camera.subscriptions[:1]:  # the image input
                count = publishers(subscription.topic_name)
                why = problem(camera.name, count)
                if why is not None:
                    self.warn(f"delivery/{camera.name}", delivery_warning(
                        subscription.topic_name, count, why, self.settings()["image_qos"]),
                        self.delivery_warnings)


def decode(frame: Frame, max_pixels: int | None = None) -> Any:
    """Return a frame's image (raw or compressed) as RGB.

    Raises:
        InvalidImageError: for a frame that cannot be decoded, or of more than ``max_pixels``
            (a compressed one judged by its header, before decoding; None: no budget).
    """
    if isinstance(frame.message, CompressedImage):
        return compressed_msg_to_rgb(frame.message, max_pixels=max_pixels)
    check_frame_pixels(frame.message, max_pixels)
    return image_msg_to_rgb(frame.message)


__all__ = ["Camera", "CameraFrames", "DELIVERY_WARN_PERIOD_S", "DEPTH_WAIT_S", "WARN_PERIOD_S",
           "decode"]
