# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Running a node as a process: ROS start-up, stop signals, the executor, the exit status.

:func:`run_node` is what ``ros2 run sam_detect_ros detect_node`` (and ``python -m
sam_detect_ros.detect_node``) runs: it spins the node until Ctrl-C or SIGTERM, stops it in
order (the worker, the store, then ROS), and prints a start-up error as one line, exit status 2.
An exception escaping a callback (rclpy lets some reach the executor) is logged and the node
keeps serving.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.signals import SignalHandlerOptions
from sam_detect.errors import SamDetectError

SIGNAL_POLL_S = 0.2  # how soon the main thread sees Ctrl-C / SIGTERM while idle
ERROR_PERIOD_S = 5.0  # throttle for the line about a callback that failed


class StopSignals:
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
        """Ignore further signals (while the node stops)."""
        for signum in self.SIGNALS:
            signal.signal(signum, signal.SIG_IGN)

    def restore(self) -> None:
        """Put the previous handlers back."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def run_node(make_node: Callable[[], Any], render_error: Callable[[BaseException], str],
             args: list[str] | None = None, name: str = "sam_detect") -> int:
    """Run the node ``make_node`` builds until Ctrl-C / SIGTERM; return the exit status.

    Args:
        make_node: Builds the node (after ``rclpy.init``).
        render_error: Words a start-up error for the user (options named as parameters).
        args: Command-line arguments for ROS (``--ros-args ...``).
        name: Prefix of the one-line error.
    """
    # rclpy's own handlers shut the ROS context down inside the signal handler, while the frame
    # worker may be publishing on it: a rare segfault in librcl (seen in CI-like runs, 2 stops in
    # 10 under load). Ours only stop the spin; the node then stops its worker and closes the
    # store, and ROS shuts down last.
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    signals = StopSignals()
    node = executor = None
    try:
        node = make_node()
        # Enough threads that services answer while others wait for a running inference.
        executor = MultiThreadedExecutor(num_threads=max(8, os.cpu_count() or 1))
        executor.add_node(node)
        signals.spinning = True
        while rclpy.ok() and not signals.requested:  # a timeout, so the handler gets to run
            try:
                executor.spin_once(timeout_sec=SIGNAL_POLL_S)
            except ExternalShutdownException:
                raise
            except Exception as error:  # a callback's bug is logged; the node keeps serving
                node.get_logger().error(f"a callback failed: {error!r}",
                                        throttle_duration_sec=ERROR_PERIOD_S)
    except (SamDetectError, ParameterException) as error:
        print(f"{name}: {render_error(error)}", file=sys.stderr)
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


__all__ = ["ERROR_PERIOD_S", "SIGNAL_POLL_S", "StopSignals", "run_node"]
