# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The ``sam_detect`` lifecycle node: camera images in, labelled instances out, taught live.

Topics (relative to the node's namespace; with ``cameras: [front, wrist]`` each camera's topics
live under its name: ``front/image``, ``front/detections``...):

* ``image`` (sensor_msgs/Image) or, with ``image_transport: compressed``, ``image/compressed``
  (sensor_msgs/CompressedImage, JPEG or PNG); sensor-data QoS unless ``image_qos: reliable``.
* ``depth`` (sensor_msgs/Image 16UC1 mm or 32FC1 m, aligned to the colour image) and
  ``camera_info`` (sensor_msgs/CameraInfo), subscribed with ``use_depth``.
* ``detections`` (sam_detect_ros/InstanceArray, reliable; the source image's header).
* ``overlay`` (sensor_msgs/Image bgr8, reliable; only while subscribed or ``publish_overlay``).
* ``markers`` (visualization_msgs/MarkerArray; with ``use_depth``).
* ``/diagnostics`` (diagnostic_msgs/DiagnosticArray; lifecycle state and frame counters, every
  ``diagnostics_period`` seconds).

Services (under the node's name): ``~/add_example``, ``~/label_instance`` (and
``~/<camera>/label_instance`` per camera), ``~/remove_label``, ``~/list_labels``, and the
standard lifecycle services ``~/change_state``, ``~/get_state``...

Lifecycle: configure reads and checks the parameters and opens the store; activate loads the models
and subscribes; deactivate unsubscribes and frees the models (and cached GPU memory); cleanup
closes the store, releasing its lock. ``autostart`` (default true) configures and activates at
start. A failed transition returns FAILURE with the reason in the log; the process lives on.

Latest frame wins, per camera (:mod:`sam_detect_ros.frame_worker`): a worker thread runs
inference; frames that arrive while it is busy wait in a one-frame slot per camera, and the
frames of several cameras go through the models as one batch. Services run on other executor
threads and answer during inference; ``~/add_example`` and parameter changes wait for the frame
in progress, so no frame mixes old and new fade or k-NN values.

The node is a thin adapter over :class:`sam_detect.SAMDetect`; every core option is a parameter
(see ``config/detect.yaml``). Run it with ``ros2 run sam_detect_ros detect_node`` or
``python -m sam_detect_ros.detect_node --ros-args -p embedder:=average``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import gc
import os
import signal
import sys
import threading
import time
from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sam_detect.classifier import visible_labels
from sam_detect.classifier.background import refuse_reserved
from sam_detect.errors import InvalidLabelError, SamDetectError
from sam_detect.image_io import validate_label, validate_mask
from sam_detect.results import Detections
from sam_detect_ros.compute_lock import ComputeLock
from sam_detect_ros.conversions import (
    compressed_msg_to_rgb,
    depth_msg_to_metres,
    detections_to_msg,
    image_msg_to_rgb,
    is_empty_image,
    markers_msg,
    mask_msg_to_bool,
    rgb_to_image_msg,
    stamp_key,
)
from sam_detect_ros.depth import instance_positions, Intrinsics, StampPairer
from sam_detect_ros.frame_history import FrameHistory, RecentFrame
from sam_detect_ros.frame_worker import Frame, FrameWorker
from sam_detect_ros.msg import InstanceArray
from sam_detect_ros.parameters import (
    build_detector,
    check_values,
    descriptor,
    detector_options,
    Param,
    PARAMETERS,
    render_error,
    runtime_settings,
)
from sam_detect_ros.srv import AddExample, LabelInstance, ListLabels, RemoveLabel
from sam_detect_ros.topics import camera_topics, CameraTopics, check_input_values
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from visualization_msgs.msg import MarkerArray

NODE_NAME = "sam_detect"
WARN_PERIOD_S = 5.0  # throttle for warnings about bad frames
LOG_PERIOD_S = 60.0  # throttle for the frame counter line
DEPTH_WAIT_S = 0.1  # how long a frame waits for its depth image, while depth keeps coming
OPEN_SET_WAIT_S = 10.0  # a teaching service answers once the decision is refitted (or after this)
# Requests queued per service before DDS drops any: a burst of this many concurrent calls is
# answered in full (the default depth, 10, silently dropped the rest of a burst of 30).
SERVICE_QUEUE_DEPTH = 1000
SERVICE_QOS = QoSProfile(depth=SERVICE_QUEUE_DEPTH, reliability=ReliabilityPolicy.RELIABLE,
                         history=HistoryPolicy.KEEP_LAST)


def free_accelerator_memory() -> None:
    """Return cached GPU memory to the driver (models just dropped); nothing without CUDA."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _settle(detector: Any) -> None:
    """Let a teaching service answer once the open-set decision is refitted to its change.

    Called outside every lock: frames go on meanwhile with the previous decision, and the first
    frame after the answer is labelled with the new one.
    """
    wait = getattr(detector, "wait_for_open_set", None)
    if wait is not None:
        wait(OPEN_SET_WAIT_S)


def _declare(node: Any, name: str, param: Param) -> None:
    """Declare one parameter; a list parameter with an empty default is a typed, unset one."""
    from rclpy.parameter import Parameter

    default = param.default
    if isinstance(default, list) and not default:
        default = Parameter.Type.STRING_ARRAY
    node.declare_parameter(name, default, descriptor(name))


def _stamp_ns(stamp: Any) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


@dataclass
class Camera:
    """One camera's topics, publishers, subscriptions and depth state (``name`` "" when single).

    Attributes:
        depth: Recent depth images, paired with colour frames by stamp.
        intrinsics: From the latest ``camera_info``; None before the first or when K is unset.
    """

    topics: CameraTopics
    detections_pub: Any = None
    overlay_pub: Any = None
    markers_pub: Any = None
    subscriptions: list[Any] = field(default_factory=list)
    depth: StampPairer = field(default_factory=StampPairer)
    intrinsics: Intrinsics | None = None

    @property
    def name(self) -> str:
        """Return the camera's namespace (``""`` for the single ``image`` input)."""
        return self.topics.name


class _Lent:
    """A store lent out: everything but ``close`` reaches the store."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def close(self) -> None:
        """Leave the store open: its owner closes it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class _ServiceGate:
    """Lets services use the store while it is open, and cleanup wait for them to finish."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._inside = 0
        self.open = False

    def __enter__(self) -> bool:
        with self._condition:
            self._inside += 1
            return self.open

    def __exit__(self, *exc: object) -> None:
        with self._condition:
            self._inside -= 1
            self._condition.notify_all()

    def close(self, timeout: float = 60.0) -> None:
        """Refuse new service work and wait for the calls in progress."""
        with self._condition:
            self.open = False
            self._condition.wait_for(lambda: self._inside == 0, timeout)


class DetectNode(LifecycleNode):
    """ROS 2 lifecycle node running :class:`sam_detect.SAMDetect` on camera streams.

    Args:
        node_name: The node's name (services live under it).
        detector: A ready detector to use instead of building one from the parameters (tests,
            embedding the node in another program). It serves every activation; the node closes
            it on destroy.
        **kwargs: Passed to :class:`rclpy.node.Node` (``namespace``, ``parameter_overrides``,
            ``context``...).

    Raises:
        SamDetectError: with ``autostart``, when configuring or activating fails (the reason).

    Attributes:
        detector: The :class:`sam_detect.SAMDetect` while active, else None.
        last_error: Why the last transition failed ("" when it did not).
    """

    def __init__(self, node_name: str = NODE_NAME, *, detector: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        for name, param in PARAMETERS.items():
            _declare(self, name, param)
        self._values = self._read_values()
        self._injected = detector
        self.detector: Any = None
        self.last_error = ""
        self._last_exception: BaseException | None = None
        self.last_latency_ms = 0.0
        self._store: Any = None
        self._cameras: list[Camera] = []
        self._history = FrameHistory(self._values["history_size"])
        self._worker = FrameWorker(self._process_batch, self._on_worker_error)
        self._gate = _ServiceGate()
        self._web: Any = None  # the annotation UI (sam_detect_ros/web.py) while active, web_port
        self._last_counts: dict[str, int] = {}
        self._warned: dict[str, float] = {}
        # Inference, example embedding, runtime parameter changes and swapping the detector take
        # this lock: they share the models, and a frame or an example must see one set of options.
        # Taken in arrival order, so neither frames nor requests starve (compute_lock.py).
        self._compute_lock = ComputeLock()
        self._group = ReentrantCallbackGroup()
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        for srv_type, name, handler in (
                (AddExample, "~/add_example", self._on_add_example),
                (LabelInstance, "~/label_instance", self._on_label_instance),
                (RemoveLabel, "~/remove_label", self._on_remove_label),
                (ListLabels, "~/list_labels", self._on_list_labels)):
            self.create_service(srv_type, name, handler, qos_profile=SERVICE_QOS,
                                callback_group=self._group)
        self._camera_services: dict[str, Any] = {}
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if self._values["diagnostics_period"] > 0:
            self.create_timer(self._values["diagnostics_period"], self._publish_diagnostics,
                              callback_group=self._group)
        if self._values["autostart"]:
            for transition in (self.trigger_configure, self.trigger_activate):
                if transition() != TransitionCallbackReturn.SUCCESS:
                    self._stop_frames()
                    self._close_store()  # a failed start never leaves the store locked
                    # The library's own error (DiskFullError, an OptionError naming the
                    # parameter...) reaches whoever started the node, as it did before lifecycle.
                    if isinstance(self._last_exception, SamDetectError):
                        raise self._last_exception
                    raise SamDetectError(self.last_error or "autostart failed")

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def cameras(self) -> list[Camera]:
        """Return the configured camera list: one named "" by default, none unconfigured."""
        return list(self._cameras)

    def state(self) -> str:
        """Return the lifecycle state's label (``unconfigured``, ``inactive``, ``active``...)."""
        return self._state_machine.current_state[1]

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Read and check the parameters, open the store, create the publishers."""
        try:
            values = self._read_values()
            check_values(values)
            check_input_values(values)
            store = (self._injected.vector_store if self._injected is not None
                     else detector_options(values).open_store())
        except Exception as error:
            return self._fail("configure", error)
        self._values, self._store = values, store
        self._history.size = values["history_size"]
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        for topics in camera_topics(values["cameras"]):
            camera = Camera(topics, depth=StampPairer(values["depth_slop"]))
            camera.detections_pub = self.create_lifecycle_publisher(
                InstanceArray, topics.detections, reliable)
            camera.overlay_pub = self.create_lifecycle_publisher(Image, topics.overlay, reliable)
            if values["use_depth"]:
                camera.markers_pub = self.create_lifecycle_publisher(
                    MarkerArray, topics.markers, reliable)
            if topics.name:
                self._camera_services[topics.name] = self.create_service(
                    LabelInstance, f"~/{topics.name.strip('/')}/label_instance",
                    lambda request, response, name=topics.name: self._on_label_instance(
                        request, response, name),
                    qos_profile=SERVICE_QOS, callback_group=self._group)
            self._cameras.append(camera)
        self._gate.open = True
        self.last_error = ""
        self.get_logger().info(f"configured: store {values['store']}, "
                               f"{sum(visible_labels(store.labels()).values())} examples")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the models, subscribe to the cameras and start the worker."""
        try:
            if self._injected is not None:
                detector = self._injected
            else:
                # build closes the store it was given when a model fails to load; the node's
                # store stays open until cleanup, so it only lends a handle build cannot close.
                detector = detector_options(self._values).build(
                    store=_Lent(self._store), log=self.get_logger().info)
                detector.vector_store = self._store
        except Exception as error:
            return self._fail("activate", error)
        if self._values["web_port"]:
            web = None
            try:
                from sam_detect_ros.web import LiveWeb

                web = LiveWeb(detector, self._values["web_port"], self._values["web_host"],
                              model_lock=self._compute_lock)
                self.get_logger().info(f"annotation UI at {web.start()}")
            except Exception as error:
                if web is not None:
                    web.stop()  # its prefetch thread holds the detector
                if detector is not self._injected:
                    del detector
                    free_accelerator_memory()
                return self._fail("activate", error)
            self._web = web
        # The open-set decision refits in the background: a frame never waits for it.
        if hasattr(detector, "open_set"):
            detector.open_set.background = True
        with self._compute_lock:
            self.detector = detector
        self._apply_runtime_values(self._values, set(PARAMETERS))
        result = super().on_activate(state)  # the lifecycle publishers
        image_qos = (QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
                     if self._values["image_qos"] == "reliable" else qos_profile_sensor_data)
        compressed = self._values["image_transport"] == "compressed"
        for camera in self._cameras:
            topics = camera.topics
            camera.subscriptions.append(self.create_subscription(
                CompressedImage if compressed else Image,
                topics.compressed if compressed else topics.image,
                lambda msg, name=camera.name: self._worker.submit(
                    name, msg, _stamp_ns(msg.header.stamp)),
                image_qos, callback_group=self._group))
            if self._values["use_depth"]:
                camera.subscriptions.append(self.create_subscription(
                    Image, topics.depth,
                    lambda msg, c=camera: c.depth.add(_stamp_ns(msg.header.stamp), msg),
                    image_qos, callback_group=self._group))
                camera.subscriptions.append(self.create_subscription(
                    CameraInfo, topics.camera_info,
                    lambda msg, c=camera: setattr(c, "intrinsics",
                                                  Intrinsics.from_camera_info(msg)),
                    image_qos, callback_group=self._group))
        self._worker.start()
        inputs = ", ".join(sub.topic_name for c in self._cameras for sub in c.subscriptions)
        self.get_logger().info(
            f"ready: segmenter {self._values['segmenter']}, embedder "
            f"{getattr(detector.embedder, 'name', '?')}, store {self._values['store']}, "
            f"{sum(detector.labels().values())} examples; listening on {inputs}")
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Unsubscribe, finish the frame in progress, drop the models and free GPU memory."""
        self._stop_frames()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Close the store (releasing its lock) and remove the publishers."""
        self._close_store()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """From any state: finish the frame in progress and close the store; nothing is lost."""
        self._stop_frames()
        self._close_store()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Tidy up after an unexpected error in a transition; back to unconfigured."""
        self._stop_frames()
        self._close_store()
        return TransitionCallbackReturn.SUCCESS

    def _fail(self, transition: str, error: BaseException) -> TransitionCallbackReturn:
        reason = str(error) if isinstance(error, SamDetectError) else repr(error)
        self.last_error = f"{transition} failed: {reason}"
        self._last_exception = error
        self.get_logger().error(self.last_error)
        return TransitionCallbackReturn.FAILURE

    def _stop_frames(self) -> None:
        web, self._web = self._web, None
        if web is not None:
            web.stop()
        for camera in self._cameras:
            for subscription in camera.subscriptions:
                self.destroy_subscription(subscription)
            camera.subscriptions.clear()
        if not self._worker.stop(timeout=60.0):
            self.get_logger().warning(
                "inference still running after 60 s; the models are freed once it ends")
        with self._compute_lock:  # never under a running inference or add_example
            dropped, self.detector = self.detector, None
        if dropped is not None and dropped is not self._injected:
            del dropped
            free_accelerator_memory()

    def _close_store(self) -> None:
        self._gate.close()
        for camera in self._cameras:
            for publisher in (camera.detections_pub, camera.overlay_pub, camera.markers_pub):
                if publisher is not None:
                    self.destroy_lifecycle_publisher(publisher)
        for service in self._camera_services.values():
            self.destroy_service(service)
        self._camera_services.clear()
        self._cameras = []
        store, self._store = self._store, None
        if store is None or self._injected is not None:
            return
        try:
            store.close()
            self.get_logger().info("store closed")
        except Exception as error:  # closing regardless
            self.get_logger().error(f"closing the store failed: {error!r}")

    # -- frames --------------------------------------------------------------------------------

    def _decode(self, frame: Frame) -> Any:
        if isinstance(frame.message, CompressedImage):
            return compressed_msg_to_rgb(frame.message)
        return image_msg_to_rgb(frame.message)

    def _process_batch(self, frames: list[Frame]) -> None:
        """Run the detector on the waiting frames of every camera at once and publish."""
        started = time.perf_counter()
        decoded = []
        for frame in frames:
            try:
                decoded.append((frame, self._decode(frame)))
            except SamDetectError as error:
                self._skip(frame.camera, error)
        if not decoded:
            return
        with self._compute_lock:
            detector = self.detector
            if detector is None:  # deactivated meanwhile
                return
            try:
                images = [image for _, image in decoded]
                if self._values["tracking"]:  # each camera is its own video
                    results = []
                    for frame, image in decoded:
                        try:
                            results.append(detector.track(image, stream=frame.camera))
                        except SamDetectError as error:  # one camera's error is its own
                            self._skip(frame.camera, error)
                            results.append(None)
                else:
                    results = ([detector.detect(images[0])] if len(images) == 1
                               else detector.detect_batch(images))
            except SamDetectError as error:
                for frame, _ in decoded:
                    self._skip(frame.camera, error)
                return
        cameras = {camera.name: camera for camera in self._cameras}
        for (frame, image), detections in zip(decoded, results):
            camera = cameras.get(frame.camera)
            if camera is not None and detections is not None:
                if self._web is not None:  # before publishing: whoever saw it can Freeze it
                    self._web.observe(image, detections)
                self.publish(camera, frame.message.header, image, detections, detector, started)

    def publish(self, camera: Camera, header: Any, image: Any, detections: Detections,
                detector: Any, started: float | None = None) -> None:
        """Remember a frame's results for ``~/label_instance`` and publish them."""
        # Bookkeeping first, so whoever receives the detections can already label them.
        self._history.add(RecentFrame(
            stamp_key(header.stamp),
            tuple(replace(inst, mask=None, neighbours=[]) for inst in detections), camera.name))
        self._worker.count(camera.name, "processed")
        if started is not None:
            self.last_latency_ms = (time.perf_counter() - started) * 1e3
        positions = None
        if camera.markers_pub is not None:
            positions = self.positions(camera, header, detections)
        camera.detections_pub.publish(detections_to_msg(detections, header, positions))
        if positions is not None:
            camera.markers_pub.publish(markers_msg(detections, positions, header))
        if self._values["publish_overlay"] or camera.overlay_pub.get_subscription_count() > 0:
            overlay = detector.visualize(image, detections)
            camera.overlay_pub.publish(rgb_to_image_msg(overlay, header))

    def positions(self, camera: Camera, header: Any, detections: Detections) -> list[Any]:
        """Return each instance's 3D position from the depth image paired by stamp (or None)."""
        depth_msg = camera.depth.nearest(_stamp_ns(header.stamp), wait_s=DEPTH_WAIT_S)
        depth = None
        if depth_msg is not None:
            try:
                depth = depth_msg_to_metres(depth_msg)
            except SamDetectError as error:
                self._warn(f"{camera.name}/depth", f"ignoring depth image: {error}")
        return instance_positions(detections, depth, camera.intrinsics)

    def _skip(self, camera: str, error: BaseException) -> None:
        self._worker.count(camera, "failed")
        where = f" from camera {camera}" if camera else ""
        self._warn(camera, f"skipping frame{where}: {error}")

    def _warn(self, key: str, message: str) -> None:
        # Throttled per camera: one broken camera must not silence the other's warnings.
        now = time.monotonic()
        if now - self._warned.get(key, -WARN_PERIOD_S) >= WARN_PERIOD_S:
            self._warned[key] = now
            self.get_logger().warning(message)

    def _on_worker_error(self, error: BaseException) -> None:
        self.get_logger().error(f"frame failed: {error!r}", throttle_duration_sec=WARN_PERIOD_S)

    def frame_counts(self, camera: str | None = None) -> dict[str, int]:
        """Return the frame counters of ``camera`` (None: all) at one instant.

        ``received``, ``processed``, ``dropped`` (replaced by a newer frame before the worker got
        to them), ``failed`` (rejected or failed in inference) and ``lost`` (never received:
        estimated from gaps in the header stamps).
        """
        return self._worker.counts(camera)

    @property
    def frames_received(self) -> int:
        """Images received, all cameras."""
        return self.frame_counts()["received"]

    @property
    def frames_processed(self) -> int:
        """Images run through the detector and published."""
        return self.frame_counts()["processed"]

    @property
    def frames_dropped(self) -> int:
        """Images replaced by a newer one before the worker got to them."""
        return self.frame_counts()["dropped"]

    @property
    def frames_failed(self) -> int:
        """Images rejected (bad encoding or size) or whose inference failed."""
        return self.frame_counts()["failed"]

    def recent_frame(self, stamp: Any = None, camera: str | None = None) -> RecentFrame | None:
        """Return a recently published frame (by header stamp; None: the latest published one).

        Raises:
            SamDetectError: when several cameras published a frame with that stamp and no
                ``camera`` is named.
        """
        if stamp is None:
            return self._history.latest(camera)
        return self._history.get(stamp_key(stamp), camera)

    # -- services ------------------------------------------------------------------------------

    def _active_detector(self) -> Any:
        detector = self.detector
        if detector is None:
            raise SamDetectError(f"the node is {self.state()}, not active: activate it "
                                 "(ros2 lifecycle set /sam_detect activate)")
        return detector

    def _on_add_example(self, request: AddExample.Request,
                        response: AddExample.Response) -> AddExample.Response:
        def run() -> str:
            label = validate_label(request.label)
            image = image_msg_to_rgb(request.image)
            mask = None
            if not is_empty_image(request.mask):
                mask = validate_mask(mask_msg_to_bool(request.mask), image.shape)
            how = "the largest segmented object" if mask is None else "the masked object"
            with self._compute_lock:  # one lock for both, so the segmenter and fade agree
                detector = self._active_detector()
                if mask is None:
                    (mask,) = detector.masks_for_teaching(image, "largest")
                # The frame's other objects are known background: what the label is not.
                ids = detector.add_example(image, label, mask=mask,
                                           payload={"source": "ros:add_example"},
                                           background=True)
            response.examples_added = len(ids)
            response.total_examples = sum(detector.labels().values())
            _settle(detector)
            return f"stored {how} as '{label}'"

        return self._answer("add_example", run, response)

    def _on_label_instance(self, request: LabelInstance.Request, response: LabelInstance.Response,
                           camera: str | None = None) -> LabelInstance.Response:
        def run() -> str:
            label = validate_label(request.label)
            detector = self._active_detector()
            if request.track_id:  # a track names the object across frames: its whole history
                stream = camera if camera is not None else self._default_stream()
                payload = {"source": "ros:label_instance", "track_id": int(request.track_id)}
                if stream:
                    payload["camera"] = stream
                with self._gate as store_open:
                    if not store_open:
                        raise SamDetectError(self._no_store())
                    with self._compute_lock:  # the worker updates the tracks
                        ids = detector.teach_track(request.track_id, label, payload, stream)
                _settle(detector)
                return (f"stored {len(ids)} view(s) of track {request.track_id} as '{label}'")
            latest = request.stamp.sec == 0 and request.stamp.nanosec == 0
            frame = self.recent_frame(None if latest else request.stamp, camera)
            if frame is None:
                when = "yet" if latest else (
                    f"with stamp {request.stamp.sec}.{request.stamp.nanosec:09d}; only the last "
                    f"{self._values['history_size']} frames are kept")
                raise SamDetectError(f"no published frame {when}")
            # Ids are only meaningful within one frame: name the frame in every answer, so a
            # user who asked for "the latest" sees which one that was.
            found = [inst for inst in frame.instances if inst.id == request.instance_id]
            if not found:
                raise SamDetectError(
                    f"no instance {request.instance_id} in {frame.describe()}; it "
                    f"has {len(frame.instances)} instance(s) with ids "
                    f"{[i.id for i in frame.instances]}")
            instance = found[0]
            payload = {"source": "ros:label_instance", "instance_id": int(instance.id),
                       "stamp": list(frame.stamp), "bbox": [int(v) for v in instance.bbox]}
            if frame.camera:
                payload["camera"] = frame.camera
            with self._gate as store_open:  # cleanup waits for the write to finish
                if not store_open:
                    raise SamDetectError(self._no_store())
                # The frame's other objects (by box: the history keeps no masks) are known
                # background, so the label does not spread to them.
                detector.teach(instance, label, payload=payload, background=frame.instances)
            answer = f"stored instance {instance.id} of {frame.describe()} as '{label}'"
            if instance.track_id:  # the object keeps the label from its next frame on
                detector.relabel_track(instance.track_id, label, frame.camera)
                answer += f"; track {instance.track_id} carries it"
            _settle(detector)
            return answer

        return self._answer("label_instance", run, response)

    def _default_stream(self) -> str:
        """Return the only camera's name ("" for the default topics); refuse a guess."""
        names = [camera.name for camera in self._cameras]
        if len(names) > 1:
            raise SamDetectError("track ids belong to one camera: call "
                                 f"~/<camera>/label_instance (cameras: {', '.join(names)})")
        return names[0] if names else ""

    def _on_remove_label(self, request: RemoveLabel.Request,
                         response: RemoveLabel.Response) -> RemoveLabel.Response:
        def run() -> str:
            label = refuse_reserved(validate_label(request.label))
            with self._gate as store_open:
                if not store_open:
                    raise SamDetectError(self._no_store())
                detector = self.detector
                # Through the detector when active, so the tracks' label votes are forgotten.
                removed = (detector.remove_label(label) if detector is not None
                           else self._store.remove(label=label))
            response.removed = int(removed)
            if removed == 0:
                raise InvalidLabelError(f"no examples labelled '{label}'")
            if detector is not None:
                _settle(detector)
            return f"removed {removed} example(s) of '{label}'"

        return self._answer("remove_label", run, response)

    def _on_list_labels(self, request: ListLabels.Request,
                        response: ListLabels.Response) -> ListLabels.Response:
        try:
            with self._gate as store_open:
                if not store_open:
                    self.get_logger().warning(f"list_labels: {self._no_store()}",
                                              throttle_duration_sec=WARN_PERIOD_S)
                    return response
                counts = sorted(visible_labels(self._store.labels()).items())
        except Exception as error:  # a service must answer
            self.get_logger().error(f"list_labels failed: {error!r}")
            return response
        response.labels = [label for label, _ in counts]
        response.counts = [int(count) for _, count in counts]
        return response

    def _no_store(self) -> str:
        return (f"the node is {self.state()}: no store is open (configure it: "
                "ros2 lifecycle set /sam_detect configure)")

    def _answer(self, service: str, run: Callable[[], str], response: Any) -> Any:
        """Fill ``success``/``message`` from ``run``: user errors become ``success: false``."""
        try:
            response.message = run()
            response.success = True
            self.get_logger().info(f"{service}: {response.message}")
        except SamDetectError as error:
            response.success = False
            response.message = str(error)
            self.get_logger().warning(f"{service} refused: {error}")
        except Exception as error:  # a service must answer, and the node live on
            response.success = False
            response.message = f"internal error: {error!r}"
            self.get_logger().error(f"{service} failed: {error!r}")
        return response

    # -- parameters ----------------------------------------------------------------------------

    def _read_values(self) -> dict[str, Any]:
        from rclpy.parameter import Parameter

        values = {}
        for name, param in PARAMETERS.items():
            if isinstance(param.default, list):  # an unset list parameter is the empty list
                values[name] = list(self.get_parameter_or(name, Parameter(name)).value or [])
            else:
                values[name] = self.get_parameter(name).value
        return values

    def _on_set_parameters(self, parameters: list[Any]) -> SetParametersResult:
        values = dict(self._values)
        # Unconfigured, every parameter may change: configure reads them all.
        configured = self.state() not in ("unconfigured", "finalized")
        for parameter in parameters:
            if parameter.name not in PARAMETERS:
                continue
            value = parameter.value
            if isinstance(PARAMETERS[parameter.name].default, list):
                value = list(value or [])
            if configured and not PARAMETERS[parameter.name].runtime and (
                    value != self._values[parameter.name]):
                return SetParametersResult(
                    successful=False, reason=f"restart the node to change {parameter.name} "
                                             "(or cleanup and configure it again)")
            values[parameter.name] = value
        if not configured:
            return SetParametersResult(successful=True)  # checked by configure
        try:
            check_values(values)
        except SamDetectError as error:
            return SetParametersResult(successful=False, reason=str(error))
        changed = self._apply_runtime_values(values)
        if changed:
            self.get_logger().info(
                "parameters changed: " + ", ".join(f"{n}={values[n]}" for n in sorted(changed)))
        return SetParametersResult(successful=True)

    def _apply_runtime_values(self, values: dict[str, Any],
                              changed: set[str] | None = None) -> set[str]:
        """Apply checked values to the detector (when active); returns the names that changed.

        ``changed`` None means "compare with the current values".
        """
        # Waits for a running inference or add_example, so none of them mixes old and new values.
        with self._compute_lock:
            if changed is None:
                changed = {name for name in PARAMETERS if values[name] != self._values[name]}
            if self.detector is not None:
                self.detector.update(**runtime_settings(values, changed))
                if "tracking" in changed:
                    self.detector.reset_tracking()  # tracks from before a pause would be stale
            self._history.size = values["history_size"]
            self._worker.max_batch = values["max_batch"]
            for camera in self._cameras:
                camera.depth.slop_ns = int(values["depth_slop"] * 1e9)
            self._values = values
        return changed

    # -- diagnostics and shutdown --------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        counts = self.frame_counts()
        state = self.state()
        examples = -1
        with self._gate as store_open:
            if store_open:
                try:
                    examples = sum(visible_labels(self._store.labels()).values())
                except Exception:  # diagnostics must not take the node down
                    examples = -1
        healthy = examples >= 0 or state == "unconfigured"
        values = [KeyValue(key="state", value=state)]
        values += [KeyValue(key=f"frames_{k}", value=str(v)) for k, v in counts.items()]
        if len(self._cameras) > 1:
            for camera in self._cameras:
                values += [KeyValue(key=f"{camera.name}/frames_{k}", value=str(v))
                           for k, v in self.frame_counts(camera.name).items()]
        values += [KeyValue(key="last_latency_ms", value=f"{self.last_latency_ms:.1f}"),
                   KeyValue(key="examples", value=str(examples))]
        status = DiagnosticStatus(
            level=DiagnosticStatus.OK if healthy else DiagnosticStatus.ERROR,
            name=f"{self.get_fully_qualified_name()}: detection",
            message=(("running" if state == "active" else state) if healthy
                     else "vector store unavailable"),
            values=values)
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)
        if counts != self._last_counts:
            self._last_counts = counts
            self.get_logger().info(
                f"frames: {counts['received']} received, {counts['processed']} processed, "
                f"{counts['dropped']} dropped (the camera outpaces inference), "
                f"{counts['failed']} failed, {counts['lost']} lost before reaching the node "
                f"(gaps in the stamps); last took {self.last_latency_ms:.0f} ms",
                throttle_duration_sec=LOG_PERIOD_S)

    def destroy_node(self) -> None:
        """Stop the worker, close the detector (flushing the store), and destroy the node."""
        self._stop_frames()
        self._close_store()
        if self._injected is not None:
            with self._compute_lock:
                try:
                    self._injected.close()
                except Exception as error:  # shutting down regardless
                    self.get_logger().error(f"closing the detector failed: {error!r}")
        self.get_logger().info(f"stopped after {self.frames_processed} frames; store closed")
        super().destroy_node()


SIGNAL_POLL_S = 0.2  # how soon the main thread sees Ctrl-C / SIGTERM while idle


class _StopSignals:
    """SIGINT / SIGTERM: interrupt a node still starting; stop a spinning one between rounds.

    Raising inside the spin could leave the executor's own state half-changed, so once it spins
    the handler only asks the loop to stop.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.spinning = False
        self.requested = False
        self._previous = {signum: signal.signal(signum, self) for signum in self.SIGNALS}

    def __call__(self, signum: int, _frame: Any) -> None:
        self.requested = True
        if not self.spinning:
            raise KeyboardInterrupt(signal.Signals(signum).name)

    def ignore(self) -> None:
        for signum in self.SIGNALS:
            signal.signal(signum, signal.SIG_IGN)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C / SIGTERM; returns the process exit code."""
    # rclpy's own handlers shut the ROS context down inside the signal handler, while the frame
    # worker may be publishing on it: a rare segfault in librcl (seen in CI-like runs, 2 stops in
    # 10 under load). Ours only stop the spin; the node then stops its worker and closes the
    # store, and ROS shuts down last.
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    signals = _StopSignals()
    node = executor = None
    try:
        node = DetectNode()
        # Enough threads that services answer while others wait for a running inference.
        executor = MultiThreadedExecutor(num_threads=max(8, os.cpu_count() or 1))
        executor.add_node(node)
        signals.spinning = True
        while rclpy.ok() and not signals.requested:  # a timeout, so the handler gets to run
            executor.spin_once(timeout_sec=SIGNAL_POLL_S)
    except (SamDetectError, ParameterException) as error:
        print(f"sam_detect: {render_error(error)}", file=sys.stderr)
        if node is None:
            # A node that failed to start holds no store (a failed start closes it) and nothing
            # to flush. Tearing its DDS participant down while discovery traffic arrives can
            # deadlock in Fast DDS 2.14 (rmw destroy_participant spinning in set_listener, seen
            # once in CI with other nodes in the domain), so the process leaves without it.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(2)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # A second Ctrl-C must not cut the store's close short; launch escalates to SIGKILL,
        # which the store survives (acknowledged examples are in its write-ahead log).
        signals.ignore()
        if executor is not None:
            executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        signals.restore()
    return 0


__all__ = ["DetectNode", "PARAMETERS", "RecentFrame", "build_detector", "check_values",
           "detector_options", "main"]


if __name__ == "__main__":
    sys.exit(main())
