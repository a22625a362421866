# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The annotation UI served by the running node (parameter ``web_port``; 0 = off).

It works on the node's own detector and store, so there is never a second process fighting for
the store's lock. The node hands every processed frame to :meth:`LiveWeb.observe` (a reference,
no copy); "Freeze" in the page takes the latest one with its detections, and teaching from it is
``SAMDetect.add_examples`` with the instance's embedding - the same as ``~/label_instance``.
Prompted masks (points, box) run the models under the node's compute lock, between frames.

The page is the annotation app's, behind the same guard (sam_detect/annotate/guard.py: token,
loopback Host names, same-origin changes, a body cap read from the stream; docs/hardening.md).

No rclpy here: the node creates one :class:`LiveWeb` and stops it on destroy.

Example (what the node does):
    >>> web = LiveWeb(detector, port=8000, model_lock=lock)   # doctest: +SKIP
    >>> web.start(); web.observe(rgb, detections); web.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

from sam_detect.results import Instance


class LiveWeb:
    """The annotation app over frames frozen from the node's camera.

    Args:
        detector: The node's :class:`~sam_detect.SAMDetect`.
        port: TCP port (0: pick a free one, for tests).
        host: Address to bind; anything but localhost needs ``$SAM_DETECT_TOKEN`` (a token
            is never a ROS parameter, which any node on the network could read).
        model_lock: The node's compute lock, held around every model call of the page.
        token: The token (default ``$SAM_DETECT_TOKEN``).
    """

    def __init__(self, detector: Any, port: int, host: str = "127.0.0.1",
                 model_lock: Any = None, token: str | None = None) -> None:
        from sam_detect.annotate.session import AnnotationSession, LiveSource

        self.detector = detector
        self.host, self.port = host, port
        self.token = token
        self._latest: tuple[np.ndarray, tuple[Instance, ...]] | None = None
        self._lock = threading.Lock()
        self.source = LiveSource(self.latest)
        self.session = AnnotationSession(detector, self.source, model_lock=model_lock)
        self.server: Any = None

    def observe(self, image: np.ndarray, instances: Sequence[Instance]) -> None:
        """Remember the latest processed RGB frame and its detections (masks and embeddings)."""
        with self._lock:
            self._latest = (image, tuple(instances))

    def latest(self) -> tuple[np.ndarray, tuple[Instance, ...]] | None:
        """Return the latest observed frame and its detections, or None before the first."""
        with self._lock:
            return self._latest

    def start(self) -> str:
        """Start serving in a background thread; return the page's URL.

        Raises:
            SamDetectError: when the host needs a token, or the port cannot be bound.
        """
        from sam_detect.annotate.app import ServerThread, create_app, resolve_token

        token = resolve_token(self.host, self.token)
        app = create_app(self.session, token=token)
        self.server = ServerThread(app, self.host, self.port).start()
        return self.server.url

    @property
    def url(self) -> str:
        """Return the page's address (after :meth:`start`)."""
        return self.server.url if self.server is not None else ""

    def stop(self) -> None:
        """Stop the server and the session's background work (idempotent)."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        else:
            self.session.close()


def start_live_web(detector: Any, port: int, host: str, model_lock: Any,
                   log: Any = None) -> LiveWeb:
    """Serve the annotation UI on ``detector``; return it running (stopped again on failure).

    Raises:
        SamDetectError: when the host needs a token, or the port cannot be bound.
    """
    web = LiveWeb(detector, port, host, model_lock=model_lock)
    try:
        url = web.start()
    except BaseException:
        web.stop()  # its prefetch thread holds the detector
        raise
    if log is not None:
        log(f"annotation UI at {url}")
    return web


__all__ = ["LiveWeb", "start_live_web"]
