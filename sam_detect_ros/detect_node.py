# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The ``sam_detect`` lifecycle node: camera images in, labelled instances out, taught live.

The node is wiring only: it declares the parameters (:mod:`sam_detect_ros.parameters`), creates
the topics of each camera (:mod:`sam_detect_ros.topics`), feeds their frames to the worker
(:mod:`sam_detect_ros.frame_worker`, latest frame wins per camera) that runs them through the
detector and publishes (:mod:`sam_detect_ros.frames`), registers the services
(:mod:`sam_detect_ros.services`) and publishes ``/diagnostics``
(:mod:`sam_detect_ros.diagnostics`). docs/ros.md lists the topics, services and parameters.

Lifecycle: configure reads and checks the parameters and opens the store (the node owns it and
passes it to the detector); activate loads the models and subscribes; deactivate unsubscribes
and frees the models (and cached GPU memory); cleanup closes the store, releasing its lock.
``autostart`` (default true) configures and activates at start. A failed transition returns
FAILURE with the reason in the log; the process lives on. Services answer during inference;
``~/add_example`` and parameter changes wait for the frame in progress, so no frame mixes old
and new fade or k-NN values.

Run it with ``ros2 run sam_detect_ros detect_node`` or ``python -m sam_detect_ros.detect_node
--ros-args -p embedder:=average`` (:mod:`sam_detect_ros.process`: signals, exit status).
"""

from __future__ import annotations

import sys
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sam_detect.detector import SAMDetect
from sam_detect.device import free_accelerator_memory
from sam_detect.errors import SamDetectError
from sam_detect.vector_store import store_from_options
from sam_detect_ros.compute_lock import ComputeLock
from sam_detect_ros.conversions import stamp_ns
from sam_detect_ros.depth import StampPairer
from sam_detect_ros.diagnostics import diagnostic_status, FrameCountLog
from sam_detect_ros.frame_history import FrameHistory, RecentFrame
from sam_detect_ros.frame_worker import FrameWorker
from sam_detect_ros.frames import Camera, CameraFrames
from sam_detect_ros.parameters import (
    check_values,
    declare_parameters,
    detector_options,
    PARAMETERS,
    read_values,
    render_error,
    runtime_settings,
    updated_values,
)
from sam_detect_ros.process import run_node
from sam_detect_ros.services import NodeServices, SERVICE_QOS, ServiceGate, WARN_PERIOD_S
from sam_detect_ros.topics import camera_topics, check_camera_names, check_input_values
from sam_detect_ros.transitions import guard_change_state

NODE_NAME = "sam_detect"
DELIVERY_CHECK_S = 1.0  # how often the cameras' frame delivery is checked (frame_delivery.py)


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
        declare_parameters(self)
        self._values = read_values(self)
        self._injected = detector
        self.detector: Any = None
        self.last_error = ""
        self._last_exception: BaseException | None = None
        self._store: Any = None
        self._cameras: list[Camera] = []
        self._history = FrameHistory(self._values["history_size"])
        self._gate = ServiceGate()
        self._web: Any = None  # the annotation UI (sam_detect_ros/web.py) while active, web_port
        self._frame_log = FrameCountLog(self.get_logger())
        # Inference, example embedding, runtime parameter changes and swapping the detector take
        # this lock: they share the models, and a frame or an example must see one set of options.
        # Taken in arrival order, so neither frames nor requests starve (compute_lock.py).
        self._compute_lock = ComputeLock()
        self.frames = CameraFrames(
            detector=lambda: self.detector, cameras=lambda: self._cameras,
            settings=lambda: self._values, history=self._history,
            count=lambda camera, what: self._worker.count(camera, what),
            compute_lock=self._compute_lock, logger=self.get_logger())
        self._worker = FrameWorker(self.frames.process, self._on_worker_error)
        self._group = ReentrantCallbackGroup()
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.node_services = NodeServices(
            detector=lambda: self.detector, store=lambda: self._store, state=self.state,
            cameras=lambda: [camera.name for camera in self._cameras], history=self._history,
            gate=self._gate, compute_lock=self._compute_lock, logger=self.get_logger(),
            node_name=self.get_name())
        for srv_type, name, handler in self.node_services.handlers():
            self.create_service(srv_type, name, handler, qos_profile=SERVICE_QOS,
                                callback_group=self._group)
        # A transition id the state lacks is refused, not an RCLError that ends the node.
        guard_change_state(getattr(self, "_service_change_state", None), self.state,
                           lambda: self._state_machine.available_transitions,
                           self.get_logger().warning)
        self.create_timer(DELIVERY_CHECK_S, self._check_delivery, callback_group=self._group)
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
            values = read_values(self)
            check_values(values)
            check_input_values(values)
            check_camera_names(values["cameras"], self.get_namespace(), self.get_name())
            store = (self._injected.vector_store if self._injected is not None
                     else store_from_options(detector_options(values)))
        except Exception as error:
            return self._fail("configure", error)
        self._values, self._store = values, store
        self._history.size = values["history_size"]
        try:
            for topics in camera_topics(values["cameras"]):
                camera = Camera(topics, depth=StampPairer(values["depth_slop"]))
                self._cameras.append(camera)  # first: a failure below still closes its outputs
                camera.advertise(self, values["use_depth"],
                                 self.node_services.camera_handler(topics.name), SERVICE_QOS,
                                 self._group)
        except Exception as error:  # a name ROS refuses: say which, and leave nothing behind
            self._close_store()
            return self._fail("configure", error)
        self._gate.open = True
        self.last_error = ""
        self.get_logger().info(f"configured: store {values['store']}, "
                               f"{self.node_services.example_count()} examples")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the models, subscribe to the cameras and start the worker."""
        try:
            if self._injected is not None:
                detector = self._injected
            else:
                # The node owns the store (open from configure to cleanup) and passes it in.
                detector = SAMDetect.from_options(detector_options(self._values),
                                                  store=self._store, log=self.get_logger().info)
        except Exception as error:
            return self._fail("activate", error)
        if self._values["web_port"]:
            try:
                from sam_detect_ros.web import start_live_web

                web = start_live_web(detector, self._values["web_port"], self._values["web_host"],
                                     self._compute_lock, self.get_logger().info)
            except Exception as error:
                if detector is not self._injected:
                    del detector
                    free_accelerator_memory()
                return self._fail("activate", error)
            self._web, self.frames.observe = web, web.observe
        detector.open_set.background = True  # refits off the frame path: no frame waits
        with self._compute_lock:
            self.detector = detector
        self._apply_runtime_values(self._values, set(PARAMETERS))
        result = super().on_activate(state)  # the lifecycle publishers
        image_qos = (QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
                     if self._values["image_qos"] == "reliable" else qos_profile_sensor_data)
        for camera in self._cameras:
            camera.subscribe(self, self._worker.submit, image_qos,
                             self._values["image_transport"] == "compressed",
                             self._values["use_depth"], self._group, self.frames.warn)
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
        web, self._web, self.frames.observe = self._web, None, None
        if web is not None:
            web.stop()
        for camera in self._cameras:
            camera.unsubscribe(self)
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
            camera.unadvertise(self)  # its publishers and its label_instance service
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

    @property
    def last_latency_ms(self) -> float:
        """How long the last frame took, from its batch's start to publishing (ms)."""
        return self.frames.last_latency_ms

    def _check_delivery(self) -> None:
        if self.state() == "active":  # frames are expected only while subscribed
            self.frames.check_delivery(self.count_publishers, self._worker.delivery_problem)

    def _on_worker_error(self, error: BaseException) -> None:
        self.get_logger().error(f"frame failed: {error!r}", throttle_duration_sec=WARN_PERIOD_S)

    def frame_counts(self, camera: str | None = None) -> dict[str, int]:
        """Return the frame counters of ``camera`` (None: all) at one instant.

        ``received``, ``processed``, ``dropped`` (replaced by a newer frame before the worker got
        to them), ``failed`` (rejected or failed in inference) and ``lost`` (never received:
        estimated from gaps in the header stamps).
        """
        return self._worker.counts(camera)

    frames_received = property(lambda self: self.frame_counts()["received"],
                               doc="Images received, all cameras.")
    frames_processed = property(lambda self: self.frame_counts()["processed"],
                                doc="Images run through the detector and published.")
    frames_dropped = property(lambda self: self.frame_counts()["dropped"],
                              doc="Images replaced by a newer one before the worker got to them.")
    frames_failed = property(lambda self: self.frame_counts()["failed"],
                             doc="Images rejected (bad encoding or size) or failed in inference.")

    def recent_frame(self, stamp: Any = None, camera: str | None = None) -> RecentFrame | None:
        """Return a recently published frame (by header stamp; None: the latest published one).

        Raises:
            SamDetectError: when several cameras published a frame with that stamp and no
                ``camera`` is named.
        """
        if stamp is None:
            return self._history.latest(camera)
        return self._history.get(stamp_ns(stamp), camera)

    # -- parameters ----------------------------------------------------------------------------

    def _on_set_parameters(self, parameters: list[Any]) -> SetParametersResult:
        # Unconfigured, every parameter may change: configure reads them all.
        configured = self.state() not in ("unconfigured", "finalized")
        try:
            values = updated_values(self._values, parameters, configured)
        except SamDetectError as error:
            return SetParametersResult(successful=False, reason=str(error))
        if not configured:
            return SetParametersResult(successful=True)  # checked by configure
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
        examples = self.node_services.example_count()
        counts = self.frame_counts()
        cameras = ({camera.name: self.frame_counts(camera.name) for camera in self._cameras}
                   if len(self._cameras) > 1 else {})
        array = DiagnosticArray(status=[diagnostic_status(
            self.get_fully_qualified_name(), self.state(), counts, cameras,
            self.last_latency_ms, examples)])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)
        self._frame_log.update(counts, self.last_latency_ms)

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


def main(args: list[str] | None = None) -> int:
    """Run the node until Ctrl-C / SIGTERM; returns the process exit code."""
    return run_node(DetectNode, render_error, args)


__all__ = ["DetectNode", "PARAMETERS", "RecentFrame", "main"]


if __name__ == "__main__":
    sys.exit(main())
