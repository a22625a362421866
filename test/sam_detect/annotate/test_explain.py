# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The explain panel speaks the user's language: known background is named, never shown."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from sam_detect import AnnotationUI  # noqa: E402
from sam_detect.classifier import BACKGROUND_LABEL  # noqa: E402

# The page's own origin and header: the guard (annotate/guard.py) refuses anything else.
LOCAL = {"base_url": "http://127.0.0.1:8000", "headers": {"X-Requested-With": "sam-detect"}}


def instance_over(view: dict, mask) -> dict:
    """Return the instance of ``view`` that covers ``mask`` most."""
    def overlap(inst: dict) -> int:
        x0, y0, x1, y1 = inst["bbox"]
        return int(mask[y0:y1, x0:x1].sum())
    return max(view["instances"], key=overlap)


def test_an_object_closest_to_known_background_says_whose_background(photos, detector) -> None:
    folder, masks = photos
    app = AnnotationUI(detector).app(folder)
    with TestClient(app, **LOCAL) as client:
        view = client.get("/api/images/0").json()
        disc = instance_over(view, masks["a.png"]["red_disc"])
        square = instance_over(view, masks["a.png"]["blue_square"])
        saved = client.post("/api/images/0/save", json={"label": "disc", "instance": disc["id"]})
        assert saved.status_code == 200, saved.text
        # Teaching the disc stored the square beside it as known background of a.png.
        assert BACKGROUND_LABEL in detector.vector_store.labels()
        explained = client.post("/api/images/0/explain", json={"instance": square["id"]}).json()
    app.state.session.close()
    assert explained["label"] is None
    assert explained["note"] == "closer to the background of a.png"
    assert all(n["label"] != BACKGROUND_LABEL for n in explained["neighbours"])
    assert [n["label"] for n in explained["neighbours"]] == ["disc"]
