# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The ``sam_detect`` node: camera images in, labelled instances out, taught while it runs.

Topics (relative to the node's namespace):

* ``image`` (sensor_msgs/Image, subscribed; sensor-data QoS unless ``image_qos: reliable``).
* ``detections`` (sam_detect_ros/InstanceArray, reliable; the source image's header).
* ``overlay`` (sensor_msgs/Image bgr8, reliable; only while subscribed or ``publish_overlay``).
* ``/diagnostics`` (diagnostic_msgs/DiagnosticArray; frame counters, every
  ``diagnostics_period`` seconds).

Services (under the node's name): ``~/add_example``, ``~/label_instance``, ``~/remove_label``,
``~/list_labels``.

Latest frame wins: a worker thread runs inference; a frame that arrives while it is busy waits in
a one-frame slot, and a newer frame replaces it (``frames_dropped`` counts the replaced ones).
Services run on other executor threads and answer during inference; ``~/add_example`` and
parameter changes wait for the frame in progress, so no frame mixes old and new fade or k-NN
values.

The node is a thin adapter over :class:`sam_detect.SAMDetect`; every core option is a parameter
(see ``config/detect.yaml``). Run it with ``ros2 run sam_detect_ros detect_node`` or
``python -m sam_detect_ros.detect_node --ros-args -p embedder:=average``.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, replace
import sys
import threading
import time
from typing import Any, Callable

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sam_detect.errors import InvalidLabelError, SamDetectError
from sam_detect.fading import FADES
from sam_detect.image_io import validate_label, validate_mask
from sam_detect.options import DetectorOptions
from sam_detect.results import Detections, Instance
from sam_detect_ros.conversions import (
    detections_to_msg,
    image_msg_to_rgb,
    is_empty_image,
    mask_msg_to_bool,
    rgb_to_image_msg,
    stamp_key,
)
from sam_detect_ros.msg import InstanceArray
from sam_detect_ros.srv import AddExample, LabelInstance, ListLabels, RemoveLabel
from sensor_msgs.msg import Image

NODE_NAME = "sam_detect"
WARN_PERIOD_S = 5.0  # throttle for warnings about bad frames
LOG_PERIOD_S = 60.0  # throttle for the frame counter line


@dataclass(frozen=True)
class Param:
    """One node parameter: its default, what it does, and whether it changes at run time."""

    default: Any
    description: str
    runtime: bool = False
    bounds: tuple[float, float] | None = None


# Every core option, with the defaults of config/detect.yaml (a test keeps the two in sync).
PARAMETERS: dict[str, Param] = {
    "segmenter": Param("naive", "naive (classical, CPU, offline) or sam2"),
    "sam_model": Param("base", "SAM2 size (tiny, small, base, large), hub id or local folder"),
    "points_per_side": Param(16, "SAM2 segment-everything grid size", bounds=(1, 128)),
    "embedder": Param("auto", "auto, average, efficientnet or clip"),
    "clip_model": Param("", "CLIP hub id or local folder; empty: the default model"),
    "device": Param("auto", "auto, cpu or cuda"),
    "store": Param("edge", "edge (embedded Qdrant on disk), memory, or qdrant (a server)"),
    "store_path": Param("~/.local/share/sam_detect/ros_store",
                        "folder of the edge store; ~ is expanded"),
    "qdrant_url": Param("", "Qdrant server URL for store qdrant; empty: $QDRANT_URL"),
    "collection": Param("sam_detect", "Qdrant collection (store qdrant)"),
    "fade": Param("hard_crop", "hard_crop, gaussian, identity, linear or exponential",
                  runtime=True),
    "sigma": Param(10.0, "gaussian fade width in pixels", True, (0.0, 1000.0)),
    "min_fade": Param(-1.0, "floor of the fade, 0..1 (gaussian, linear, exponential, "
                            "hard_crop); negative: each fade's own default", True, (-1.0, 1.0)),
    "max_distance": Param(100.0, "linear/exponential: distance in pixels where the fade ends",
                          True, (0.0, 10000.0)),
    "decay": Param(0.05, "exponential fade decay rate per pixel", True, (0.0, 10.0)),
    "context": Param(16.0, "identity: pixels of context kept around the box", True,
                     (0.0, 10000.0)),
    "top_k": Param(5, "neighbours fetched per instance", True, (1, 1000)),
    "unknown_threshold": Param(-1.0, "similarity floor below which an instance is unknown (a "
                                     "label must also beat known background and generic "
                                     "objects); negative: the embedder's default", True,
                               (-1.0, 1.0)),
    "max_instances": Param(20, "keep at most this many instances per frame; 0: no limit", True,
                           (0, 1000)),
    "publish_overlay": Param(False, "publish overlay even when nobody subscribes", True),
    "history_size": Param(30, "recent frames kept for label_instance", True, (1, 10000)),
    "image_qos": Param("sensor_data", "sensor_data (best effort) or reliable"),
    "diagnostics_period": Param(5.0, "seconds between /diagnostics messages; 0: off",
                                bounds=(0.0, 3600.0)),
}
FADE_PARAMETERS = ("fade", "sigma", "min_fade", "max_distance", "decay", "context")
IMAGE_QOS = ("sensor_data", "reliable")


def _descriptor(name: str, param: Param) -> ParameterDescriptor:
    kinds = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
             float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}
    descriptor = ParameterDescriptor(
        name=name, type=kinds[type(param.default)], description=param.description,
        additional_constraints="" if param.runtime else "restart the node to change it")
    if param.bounds is not None and isinstance(param.default, float):
        low, high = (float(v) for v in param.bounds)
        descriptor.floating_point_range = [FloatingPointRange(from_value=low, to_value=high)]
    elif param.bounds is not None:
        low, high = (int(v) for v in param.bounds)
        descriptor.integer_range = [IntegerRange(from_value=low, to_value=high, step=1)]
    return descriptor


def check_values(values: dict[str, Any]) -> None:
    """Validate parameter values beyond their types and ranges.

    Raises:
        SamDetectError: naming the parameter and what is wrong with it.
    """
    for name, param in PARAMETERS.items():
        value = values[name]
        if param.bounds is not None and not param.bounds[0] <= value <= param.bounds[1]:
            raise SamDetectError(
                f"{name} must be in [{param.bounds[0]}, {param.bounds[1]}], got {value}")
    if values["image_qos"] not in IMAGE_QOS:
        raise SamDetectError(f"image_qos must be one of {', '.join(IMAGE_QOS)}, "
                             f"got '{values['image_qos']}'")
    # Every fade's parameters are checked, not only the current fade's: a bad sigma set while
    # the fade is hard_crop must not wait to fail until someone switches to gaussian.
    options = detector_options(values)
    options.fade_strategy()  # an unknown fade kind first
    for fade in FADES:
        replace(options, fade=fade).fade_strategy()


def detector_options(values: dict[str, Any]) -> DetectorOptions:
    """Translate parameter values into the core's :class:`~sam_detect.options.DetectorOptions`.

    ROS parameters cannot be unset, so a few values stand for "the default": an empty
    ``clip_model`` or ``qdrant_url``, a negative ``unknown_threshold`` or ``min_fade`` and
    ``max_instances: 0`` (no limit) all become None.
    """
    threshold = values["unknown_threshold"]
    return DetectorOptions.from_mapping({
        **values,
        "clip_model": values["clip_model"] or None,
        "qdrant_url": values["qdrant_url"] or None,
        "unknown_threshold": None if threshold < 0 else threshold,
        "min_fade": None if values["min_fade"] < 0 else values["min_fade"],
        "max_instances": values["max_instances"] or None,
        # store_path is the edge store's folder; for qdrant a path would mean client-local mode.
        "store_path": values["store_path"] if values["store"] == "edge" else None,
    })


def build_detector(values: dict[str, Any], log: Callable[[str], Any] | None = None) -> Any:
    """Build the :class:`sam_detect.SAMDetect` that the parameter values describe.

    Args:
        values: A value for every name in :data:`PARAMETERS`.
        log: Receives one line saying which embedder ``auto`` chose.

    Raises:
        SamDetectError: for an invalid option, a missing extra or a store that cannot be opened.
    """
    check_values(values)
    return detector_options(values).build(log=log)


@dataclass(frozen=True)
class RecentFrame:
    """What ``~/label_instance`` needs of a published frame.

    Attributes:
        stamp: The frame's ``header.stamp`` as ``(sec, nanosec)``.
        instances: Its instances without their full-frame masks (``mask`` is None): a 1080p frame
            of 20 masks is ~40 MB, the embeddings a few kB.
    """

    stamp: tuple[int, int]
    instances: tuple[Instance, ...]

    def describe_stamp(self) -> str:
        """Return the stamp as ``sec.nanosec``, as ``ros2 topic echo`` shows it."""
        return f"{self.stamp[0]}.{self.stamp[1]:09d}"


class DetectNode(Node):
    """ROS 2 node running :class:`sam_detect.SAMDetect` on a camera stream.

    Args:
        node_name: The node's name (services live under it).
        detector: A ready detector to use instead of building one from the parameters (tests,
            embedding the node in another program). The node closes it on destroy.
        **kwargs: Passed to :class:`rclpy.node.Node` (``namespace``, ``parameter_overrides``,
            ``context``...).

    Attributes:
        frames_received: Images received.
        frames_processed: Images run through the detector and published.
        frames_dropped: Images replaced by a newer one before the worker got to them.
        frames_failed: Images rejected (bad encoding or size) or whose inference failed.
    """

    def __init__(self, node_name: str = NODE_NAME, *, detector: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        for name, param in PARAMETERS.items():
            self.declare_parameter(name, param.default, _descriptor(name, param))
        self._values = {name: self.get_parameter(name).value for name in PARAMETERS}
        self.frames_received = 0
        self.frames_processed = 0
        self.frames_dropped = 0
        self.frames_failed = 0
        self.last_latency_ms = 0.0
        self._last_counts: dict[str, int] = {}
        self._slot = threading.Condition()  # guards the pending frame and the counters
        self._pending: Image | None = None
        self._stopping = False
        self._history: collections.OrderedDict[tuple[int, int], RecentFrame] = (
            collections.OrderedDict())
        self._history_lock = threading.Lock()
        self._latest: RecentFrame | None = None
        # Inference, example embedding and runtime parameter changes take this lock: they share
        # the models, and a frame or an example must see one fade and one set of options.
        self._compute_lock = threading.Lock()
        if detector is None:
            detector = build_detector(self._values, log=self.get_logger().info)
        else:
            check_values(self._values)
        self.detector = detector
        self._apply_runtime_values(self._values, set(PARAMETERS))

        group = ReentrantCallbackGroup()
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        image_qos = (reliable if self._values["image_qos"] == "reliable"
                     else qos_profile_sensor_data)
        self._detections_pub = self.create_publisher(InstanceArray, "detections", reliable)
        self._overlay_pub = self.create_publisher(Image, "overlay", reliable)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._image_sub = self.create_subscription(Image, "image", self._on_image, image_qos,
                                                   callback_group=group)
        self.create_service(AddExample, "~/add_example", self._on_add_example,
                            callback_group=group)
        self.create_service(LabelInstance, "~/label_instance", self._on_label_instance,
                            callback_group=group)
        self.create_service(RemoveLabel, "~/remove_label", self._on_remove_label,
                            callback_group=group)
        self.create_service(ListLabels, "~/list_labels", self._on_list_labels,
                            callback_group=group)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if self._values["diagnostics_period"] > 0:
            self.create_timer(self._values["diagnostics_period"], self._publish_diagnostics,
                              callback_group=group)
        self._worker = threading.Thread(target=self._work, name="sam_detect_worker",
                                        daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"ready: segmenter {self._values['segmenter']}, embedder "
            f"{getattr(detector.embedder, 'name', '?')}, store {self._values['store']}, "
            f"{sum(detector.labels().values())} examples; listening on "
            f"{self._image_sub.topic_name}")

    # -- frames --------------------------------------------------------------------------------

    def _on_image(self, msg: Image) -> None:
        with self._slot:
            self.frames_received += 1
            if self._pending is not None:
                self.frames_dropped += 1
            self._pending = msg
            self._slot.notify()

    def _work(self) -> None:
        while True:
            with self._slot:
                while self._pending is None and not self._stopping:
                    self._slot.wait()
                if self._stopping:
                    return
                msg, self._pending = self._pending, None
            try:
                self.process(msg)
            except Exception as error:  # the worker must outlive any bug
                self._count_failure()
                self.get_logger().error(f"frame failed: {error!r}",
                                        throttle_duration_sec=WARN_PERIOD_S)

    def process(self, msg: Image) -> Detections | None:
        """Run the detector on one image message and publish the results.

        Called by the worker thread; returns None when the image is rejected.
        """
        start = time.perf_counter()
        try:
            image = image_msg_to_rgb(msg)
            with self._compute_lock:
                detections = self.detector.detect(image)
        except SamDetectError as error:
            self._count_failure()
            self.get_logger().warning(f"skipping frame: {error}",
                                      throttle_duration_sec=WARN_PERIOD_S)
            return None
        # Bookkeeping first, so whoever receives the detections can already label them.
        frame = RecentFrame(stamp_key(msg.header.stamp),
                            tuple(replace(inst, mask=None, neighbours=[]) for inst in detections))
        with self._history_lock:
            self._history[frame.stamp] = frame
            self._history.move_to_end(frame.stamp)
            while len(self._history) > self._values["history_size"]:
                self._history.popitem(last=False)
            self._latest = frame
        with self._slot:
            self.frames_processed += 1
            self.last_latency_ms = (time.perf_counter() - start) * 1e3
        self._detections_pub.publish(detections_to_msg(detections, msg.header))
        if self._values["publish_overlay"] or self._overlay_pub.get_subscription_count() > 0:
            overlay = self.detector.visualize(image, detections)
            self._overlay_pub.publish(rgb_to_image_msg(overlay, msg.header))
        return detections

    def _count_failure(self) -> None:
        with self._slot:
            self.frames_failed += 1

    def frame_counts(self) -> dict[str, int]:
        """Return the frame counters (received, processed, dropped, failed) at one instant."""
        with self._slot:
            return {"received": self.frames_received, "processed": self.frames_processed,
                    "dropped": self.frames_dropped, "failed": self.frames_failed}

    def recent_frame(self, stamp: Any = None) -> RecentFrame | None:
        """Return a recently published frame (by header stamp; None: the latest published one).

        The latest frame is kept even after ``history_size`` shrinks below what is stored.
        """
        with self._history_lock:
            return self._latest if stamp is None else self._history.get(stamp_key(stamp))

    # -- services ------------------------------------------------------------------------------

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
                if mask is None:
                    (mask,) = self.detector.masks_for_teaching(image, "largest")
                ids = self.detector.add_example(image, label, mask=mask,
                                                payload={"source": "ros:add_example"},
                                                background=True)
            response.examples_added = len(ids)
            response.total_examples = sum(self.detector.labels().values())
            return f"stored {how} as '{label}'"

        return self._answer("add_example", run, response)

    def _on_label_instance(self, request: LabelInstance.Request,
                           response: LabelInstance.Response) -> LabelInstance.Response:
        def run() -> str:
            label = validate_label(request.label)
            latest = request.stamp.sec == 0 and request.stamp.nanosec == 0
            frame = self.recent_frame(None if latest else request.stamp)
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
                    f"no instance {request.instance_id} in frame {frame.describe_stamp()}; it "
                    f"has {len(frame.instances)} instance(s) with ids "
                    f"{[i.id for i in frame.instances]}")
            instance = found[0]
            self.detector.teach(instance, label, payload={
                "source": "ros:label_instance", "instance_id": int(instance.id),
                "stamp": list(frame.stamp), "bbox": [int(v) for v in instance.bbox]},
                background=frame.instances)  # the frame's other objects: what it is not
            return f"stored instance {instance.id} of frame {frame.describe_stamp()} as '{label}'"

        return self._answer("label_instance", run, response)

    def _on_remove_label(self, request: RemoveLabel.Request,
                         response: RemoveLabel.Response) -> RemoveLabel.Response:
        def run() -> str:
            label = validate_label(request.label)
            removed = self.detector.remove_label(label)
            response.removed = int(removed)
            if removed == 0:
                raise InvalidLabelError(f"no examples labelled '{label}'")
            return f"removed {removed} example(s) of '{label}'"

        return self._answer("remove_label", run, response)

    def _on_list_labels(self, request: ListLabels.Request,
                        response: ListLabels.Response) -> ListLabels.Response:
        try:
            counts = sorted(self.detector.labels().items())
        except Exception as error:  # a service must answer
            self.get_logger().error(f"list_labels failed: {error!r}")
            return response
        response.labels = [label for label, _ in counts]
        response.counts = [int(count) for _, count in counts]
        return response

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

    def _on_set_parameters(self, parameters: list[Any]) -> SetParametersResult:
        values = dict(self._values)
        for parameter in parameters:
            if parameter.name not in PARAMETERS:
                continue
            if not PARAMETERS[parameter.name].runtime and (
                    parameter.value != self._values[parameter.name]):
                return SetParametersResult(
                    successful=False, reason=f"restart the node to change {parameter.name}")
            values[parameter.name] = parameter.value
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
        """Apply checked values to the detector; returns the names that changed.

        ``changed`` None means "compare with the current values".
        """
        detector = self.detector
        options = detector_options(values)
        # Waits for a running inference or add_example, so none of them mixes old and new values.
        with self._compute_lock:
            if changed is None:
                changed = {name for name in PARAMETERS if values[name] != self._values[name]}
            if changed & set(FADE_PARAMETERS):
                detector.set_fade_strategy(options.fade_strategy())
            if "top_k" in changed:
                detector.default_top_k = options.top_k
            if "unknown_threshold" in changed:
                detector.unknown_threshold = (detector.embedder.unknown_threshold
                                              if options.unknown_threshold is None
                                              else options.unknown_threshold)
            if "max_instances" in changed and hasattr(detector.segmenter, "max_instances"):
                detector.segmenter.max_instances = options.max_instances
            self._values = values
        return changed

    # -- diagnostics and shutdown --------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        counts = self.frame_counts()
        try:
            examples = sum(self.detector.labels().values())
        except Exception:  # diagnostics must not take the node down
            examples = -1
        status = DiagnosticStatus(
            level=DiagnosticStatus.OK if examples >= 0 else DiagnosticStatus.ERROR,
            name=f"{self.get_fully_qualified_name()}: detection",
            message="running" if examples >= 0 else "vector store unavailable",
            values=[KeyValue(key=f"frames_{k}", value=str(v)) for k, v in counts.items()]
            + [KeyValue(key="last_latency_ms", value=f"{self.last_latency_ms:.1f}"),
               KeyValue(key="examples", value=str(examples))])
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)
        if counts != self._last_counts:
            self._last_counts = counts
            self.get_logger().info(
                f"frames: {counts['received']} received, {counts['processed']} processed, "
                f"{counts['dropped']} dropped (the camera outpaces inference), "
                f"{counts['failed']} failed; last took {self.last_latency_ms:.0f} ms",
                throttle_duration_sec=LOG_PERIOD_S)

    def destroy_node(self) -> None:
        """Stop the worker, close the detector (flushing the store), and destroy the node."""
        with self._slot:
            self._stopping = True
            self._slot.notify_all()
        if self._worker.is_alive() and self._worker is not threading.current_thread():
            self._worker.join(timeout=30.0)
            if self._worker.is_alive():
                self.get_logger().warning(
                    "inference is still running after 30 s; waiting for it to close the store")
        # Never close the store under a running inference or add_example.
        with self._compute_lock:
            try:
                self.detector.close()
                self.get_logger().info(
                    f"stopped after {self.frames_processed} frames; store closed")
            except Exception as error:  # shutting down regardless
                self.get_logger().error(f"closing the detector failed: {error!r}")
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C / SIGTERM; returns the process exit code."""
    rclpy.init(args=args)
    node = executor = None
    try:
        node = DetectNode()
        executor = MultiThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (SamDetectError, ParameterException) as error:
        print(f"sam_detect: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # A signal shut ROS down while the node was starting: that is a normal stop.
    finally:
        if executor is not None:
            executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
