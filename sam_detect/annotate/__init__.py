# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Teaching in the browser: :class:`AnnotationUI` over a folder or a robot's live camera.

``app`` holds the HTTP side (FastAPI, token, limits), ``session`` what the page can do (masks,
suggestions, teaching, undo, gallery, explain, hard examples, COCO export) and ``static/`` the
page itself (plain JavaScript and a canvas).
"""

from __future__ import annotations

from sam_detect.annotate.app import AnnotationUI, create_app

__all__ = ["AnnotationUI", "create_app"]
