# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Fixtures for the ROS node tests: an isolated DDS domain and the node spun in a thread.

Every test run picks a random ``ROS_DOMAIN_ID`` and keeps discovery on this machine, so parallel
runs (and robots on the network) never see each other. Both are set before any context starts and
are inherited by the node processes the tests start.
"""

from __future__ import annotations

import os
from pathlib import Path
import random
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
# The profile the launch file sets; the tests use it too, so a broken profile fails them.
for _name in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"):
    os.environ[_name] = str(ROOT / "config" / "fastdds_shm.xml")

try:
    import rclpy
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from sam_detect_ros.demo import DemoClient
    from sam_detect_ros.detect_node import DetectNode
    from sam_detect_ros.srv import ListLabels
except ImportError:  # each test module skips itself (pytest.importorskip) with the reason
    pass

# Fast, deterministic, in-memory: most node tests need seconds, not model loads.
FAST_PARAMETERS = {"embedder": "average", "store": "memory", "image_qos": "reliable"}
TIMEOUT = 30.0


def wait_until(condition: Callable[[], Any], timeout: float = TIMEOUT, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


class Harness:
    """The node under test and a client node, spun by one executor in a background thread.

    Attributes:
        node: The :class:`DetectNode`.
        client: A :class:`~sam_detect_ros.demo.DemoClient` on the client node (publishes frames,
            waits for detections, calls services).
    """

    def __init__(self, parameters: dict[str, Any], detector: Any = None,
                 ready: bool = True) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(context=self.context)
        self.node = self.client_node = None
        self._thread: threading.Thread | None = None
        try:
            overrides = [Parameter(k, value=v) for k, v in {**FAST_PARAMETERS,
                                                            **parameters}.items()]
            self.node = DetectNode(detector=detector, parameter_overrides=overrides,
                                   context=self.context)
            self.client_node = rclpy.create_node("sam_detect_test_client", context=self.context)
            self.client = DemoClient(self.client_node)
            self.executor.add_node(self.node)
            self.executor.add_node(self.client_node)
            self._thread = threading.Thread(target=self.executor.spin, daemon=True)
            self._thread.start()
            if ready:  # subscribed to image and serving: autostart, one raw camera
                self.client.wait_for_node(timeout=TIMEOUT)
            else:
                self.service_client(ListLabels, "list_labels")
        except BaseException:
            self.close()
            raise

    def service_client(self, srv_type: Any, name: str) -> Any:
        """Return a ready client of the node's service ``~/name``."""
        client = self.client_node.create_client(srv_type, f"/sam_detect/{name}")
        wait_until(client.service_is_ready, what=f"service {name}")
        return client

    def call(self, srv_type: Any, name: str, **fields: Any) -> Any:
        """Call the node's service ``~/name`` with a request built from ``fields``."""
        return self.client.call(self.service_client(srv_type, name), srv_type.Request(**fields),
                                timeout=TIMEOUT)

    def close(self) -> None:
        """Stop spinning, join the thread, destroy the nodes, shut the context down."""
        self.executor.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT)
        for node in (self.client_node, self.node):
            if node is not None:
                node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., Any]:
    """Return the :func:`wait_until` helper to test modules."""
    return wait_until


@pytest.fixture
def harness_factory() -> Any:
    """Return ``make(parameters=None, detector=None, ready=True) -> Harness``; all are closed.

    ``ready=False``: wait for the node's services only (not active, or not on ``image``).
    """
    made: list[Harness] = []

    def make(parameters: dict[str, Any] | None = None, detector: Any = None,
             ready: bool = True) -> Harness:
        made.append(Harness(parameters or {}, detector, ready))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


@pytest.fixture
def harness(harness_factory: Any) -> Harness:
    """Return the node with the fast test parameters (average embedder, memory store)."""
    return harness_factory()


# --- The node as its own process, as ``ros2 run`` starts it -------------------------------------
# ``ros2 run`` is not among the PyPI wheels; ``python -m sam_detect_ros.detect_node`` runs the same
# ``main`` with the same ``--ros-args``. A crash there (a SIGBUS in the store) is the node's exit
# status in one test, not the end of the pytest session.

START_TIMEOUT = 90.0  # imports and discovery on a loaded 2-core machine


def start_node(log: Path, *parameters: str) -> subprocess.Popen:
    """Start the node with config/detect.yaml, then ``parameters`` (``name:=value``) on top."""
    command = [sys.executable, "-m", "sam_detect_ros.detect_node", "--ros-args",
               "--params-file", str(ROOT / "config" / "detect.yaml")]
    for parameter in parameters:
        command += ["-p", parameter]
    # Outside the source tree, as an installed node runs.
    return subprocess.Popen(command, cwd=log.parent, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, env=dict(os.environ))


class Client:
    """A client node in its own context, spun in a thread."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("sam_detect_process_test", context=self.context)
        self.demo = DemoClient(self.node)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def call(self, client: Any, request: Any) -> Any:
        """Call ``client`` (one of ``self.demo``'s service clients) with ``request``."""
        return self.demo.call(client, request, timeout=60.0)

    def close(self) -> None:
        """Stop spinning, destroy the node, shut the context down."""
        self.executor.shutdown()
        self.thread.join(timeout=30)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:
    """Node processes started by a test; any still running at the end are killed."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def wait_for(client: Client, process: subprocess.Popen, log: Path) -> None:
    """Wait until the node process serves ``client``; fail with its log if it does not."""
    try:
        client.demo.wait_for_node(timeout=START_TIMEOUT)
    except RuntimeError:
        pytest.fail(f"node did not come up (exit {process.poll()}):\n{log.read_text()}")
