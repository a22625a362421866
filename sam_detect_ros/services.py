# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The node's four services: teach, label a published instance, forget a label, list labels.

``~/add_example``, ``~/label_instance`` (and ``~/<camera>/label_instance``), ``~/remove_label``
and ``~/list_labels``.

:class:`NodeServices` answers them from what it is given (the active detector, the open store,
the published frames, the lock the models share); :class:`~sam_detect_ros.detect_node.DetectNode`
only registers the handlers. No node inside: the handlers take a request and fill a response,
so they run without a ROS graph (messages are plain objects).

Every handler answers, even when the node is not active or the request is wrong: a user error
becomes ``success: false`` with the reason, anything else ``internal error: ...``, and the node
lives on. Teaching goes through :meth:`sam_detect.SAMDetect.add_examples`.

Example:
    >>> gate = ServiceGate()
    >>> with gate as store_open:
    ...     store_open
    False
"""

from __future__ import annotations

from dataclasses import dataclass
import threading
from typing import Any, Callable

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sam_detect.classifier import visible_labels
from sam_detect.classifier.background import refuse_reserved
from sam_detect.embedding.base import example_counts, forget_label
from sam_detect.errors import InvalidLabelError, SamDetectError
from sam_detect.image_io import validate_mask
from sam_detect.labels import validate_label
from sam_detect_ros.conversions import (
    image_msg_to_rgb, is_empty_image, mask_msg_to_bool, stamp_ns)
from sam_detect_ros.frame_history import FrameHistory
from sam_detect_ros.srv import AddExample, LabelInstance, ListLabels, RemoveLabel

WARN_PERIOD_S = 5.0  # throttle for warnings a caller can repeat at will
OPEN_SET_WAIT_S = 10.0  # a teaching service answers once the decision is refitted (or after this)
# Requests queued per service before DDS drops any: a burst of this many concurrent calls is
# answered in full (the default depth, 10, silently dropped the rest of a burst of 30).
SERVICE_QUEUE_DEPTH = 1000
SERVICE_QOS = QoSProfile(depth=SERVICE_QUEUE_DEPTH, reliability=ReliabilityPolicy.RELIABLE,
                         history=HistoryPolicy.KEEP_LAST)


def settle(detector: Any) -> None:
    """Let a teaching service answer once the open-set decision is refitted to its change.

    Called outside every lock: frames go on meanwhile with the previous decision, and the first
    frame after the answer is labelled with the new one.
    """
    wait = getattr(detector, "wait_for_open_set", None)
    if wait is not None:
        wait(OPEN_SET_WAIT_S)


class ServiceGate:
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


@dataclass
class NodeServices:
    """The four service handlers, on what the node lends them.

    Attributes:
        detector: Returns the active :class:`sam_detect.SAMDetect`, or None.
        store: Returns the open vector store, or None.
        state: Returns the lifecycle state's label (for the messages).
        cameras: Returns the configured camera names (``""`` for the single ``image`` input).
        history: The published frames ``~/label_instance`` looks instances up in.
        gate: Open while the store is; cleanup waits for the calls inside.
        compute_lock: Held while the models run: teaching waits for the frame in progress.
        logger: The node's logger.
        node_name: The node's name, for the hints in the messages.
    """

    detector: Callable[[], Any]
    store: Callable[[], Any]
    state: Callable[[], str]
    cameras: Callable[[], list[str]]
    history: FrameHistory
    gate: ServiceGate
    compute_lock: Any
    logger: Any
    node_name: str = "sam_detect"

    def handlers(self) -> list[tuple[Any, str, Callable[..., Any]]]:
        """Return ``(service type, name, handler)`` of each service the node offers."""
        return [(AddExample, "~/add_example", self.add_example),
                (LabelInstance, "~/label_instance", self.label_instance),
                (RemoveLabel, "~/remove_label", self.remove_label),
                (ListLabels, "~/list_labels", self.list_labels)]

    def camera_handler(self, camera: str) -> Callable[[Any, Any], Any]:
        """Return the ``~/<camera>/label_instance`` handler: instances of that camera."""
        return lambda request, response: self.label_instance(request, response, camera)

    def _active_detector(self) -> Any:
        detector = self.detector()
        if detector is None:
            raise SamDetectError(f"the node is {self.state()}, not active: activate it "
                                 f"(ros2 lifecycle set /{self.node_name} activate)")
        return detector

    def _no_store(self) -> str:
        return (f"the node is {self.state()}: no store is open (configure it: "
                f"ros2 lifecycle set /{self.node_name} configure)")

    def add_example(self, request: Any, response: Any) -> Any:
        """Store the request's masked object, or its largest one, under its label."""
        def run() -> str:
            label = validate_label(request.label)
            image = image_msg_to_rgb(request.image)
            mask = None
            if not is_empty_image(request.mask):
                mask = validate_mask(mask_msg_to_bool(request.mask), image.shape)
            how = "the largest segmented object" if mask is None else "the masked object"
            with self.compute_lock:  # one segmentation picks the object and its background
                detector = self._active_detector()
                # The frame's other objects are known background: what the label is not.
                ids = detector.add_examples(image, label,
                                            masks="largest" if mask is None else mask,
                                            background=True,
                                            payload={"source": "ros:add_example"})
            response.examples_added = ids.examples  # an example's views count once
            response.total_examples = sum(detector.labels().values())
            settle(detector)
            return f"stored {how} as '{label}'"

        return self._answer("add_example", run, response)

    def label_instance(self, request: Any, response: Any, camera: str | None = None) -> Any:
        """Store an instance of a published frame (or a track's views) under a label."""
        def run() -> str:
            label = validate_label(request.label)
            detector = self._active_detector()
            if request.track_id:  # a track names the object across frames: its whole history
                stream = camera if camera is not None else self._default_stream()
                payload = {"source": "ros:label_instance", "track_id": int(request.track_id)}
                if stream:
                    payload["camera"] = stream
                with self.gate as store_open:
                    if not store_open:
                        raise SamDetectError(self._no_store())
                    with self.compute_lock:  # the worker updates the tracks
                        detector = self._active_detector()  # still active after the wait
                        ids = detector.teach_track(request.track_id, label, payload, stream)
                settle(detector)
                return (f"stored {len(ids)} view(s) of track {request.track_id} as '{label}'")
            latest = request.stamp.sec == 0 and request.stamp.nanosec == 0
            frame = (self.history.latest(camera) if latest
                     else self.history.get(stamp_ns(request.stamp), camera))
            if frame is None:
                when = "yet" if latest else (
                    f"with stamp {request.stamp.sec}.{request.stamp.nanosec:09d}; only the last "
                    f"{self.history.size} frames are kept")
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
                       "stamp": list(frame.sec_nanosec), "bbox": [int(v) for v in instance.bbox]}
            if frame.camera:
                payload["camera"] = frame.camera
            kept = frame.kept_instance(instance)  # the latest frame keeps its pixels
            with self.gate as store_open:  # cleanup waits for the write to finish
                if not store_open:
                    raise SamDetectError(self._no_store())
                # The frame's other objects (by box: older frames keep no masks) are known
                # background, so the label does not spread to them.
                if kept is None:  # the stored embedding (an older frame: no teaching views)
                    detector.add_examples(None, label, masks=[instance],
                                          background=frame.instances, payload=payload)
                else:
                    with self.compute_lock:  # the embedder runs: every teaching view
                        detector = self._active_detector()  # still active after the wait
                        detector.add_examples(frame.picture, label, masks=[kept],
                                              background=frame.instances, payload=payload)
            answer = f"stored instance {instance.id} of {frame.describe()} as '{label}'"
            if instance.track_id:  # the object keeps the label from its next frame on
                detector.relabel_track(instance.track_id, label, frame.camera)
                answer += f"; track {instance.track_id} carries it"
            settle(detector)
            return answer

        return self._answer("label_instance", run, response)

    def _default_stream(self) -> str:
        """Return the only camera's name ("" for the default topics); refuse a guess."""
        names = self.cameras()
        if len(names) > 1:
            raise SamDetectError("track ids belong to one camera: call "
                                 f"~/<camera>/label_instance (cameras: {', '.join(names)})")
        return names[0] if names else ""

    def remove_label(self, request: Any, response: Any) -> Any:
        """Forget every example of the request's label."""
        def run() -> str:
            label = refuse_reserved(validate_label(request.label))
            with self.gate as store_open:
                if not store_open:
                    raise SamDetectError(self._no_store())
                detector = self.detector()
                # Through the detector when active, so the tracks' label votes are forgotten.
                removed = (detector.remove_label(label) if detector is not None
                           else forget_label(self.store(), label))
            response.removed = int(removed)
            if removed == 0:
                raise InvalidLabelError(f"no examples labelled '{label}'")
            if detector is not None:
                settle(detector)
            return f"removed {removed} example(s) of '{label}'"

        return self._answer("remove_label", run, response)

    def list_labels(self, request: Any, response: Any) -> Any:
        """List the labels the store knows and their example counts."""
        try:
            with self.gate as store_open:
                if not store_open:
                    self.logger.warning(f"list_labels: {self._no_store()}",
                                        throttle_duration_sec=WARN_PERIOD_S)
                    return response
                # an example's teaching-time views count once, as in `sam-detect labels`
                counts = sorted(visible_labels(example_counts(self.store())).items())
        except Exception as error:  # a service must answer
            self.logger.error(f"list_labels failed: {error!r}")
            return response
        response.labels = [label for label, _ in counts]
        response.counts = [int(count) for _, count in counts]
        return response

    def example_count(self) -> int:
        """Return how many examples the open store holds; -1 when none is open or readable."""
        with self.gate as store_open:
            if not store_open:
                return -1
            try:
                return sum(visible_labels(example_counts(self.store())).values())
            except Exception:  # diagnostics must not take the node down
                return -1

    def _answer(self, service: str, run: Callable[[], str], response: Any) -> Any:
        """Fill ``success``/``message`` from ``run``: user errors become ``success: false``."""
        try:
            response.message = run()
            response.success = True
            self.logger.info(f"{service}: {response.message}")
        except SamDetectError as error:
            response.success = False
            response.message = str(error)
            self.logger.warning(f"{service} refused: {error}")
        except Exception as error:  # a service must answer, and the node live on
            response.success = False
            response.message = f"internal error: {error!r}"
            self.logger.error(f"{service} failed: {error!r}")
        return response


__all__ = ["NodeServices", "OPEN_SET_WAIT_S", "SERVICE_QOS", "SERVICE_QUEUE_DEPTH",
           "ServiceGate", "settle", "WARN_PERIOD_S"]
