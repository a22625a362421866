# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The page with an embedder that has teaching-time views: views saved, examples shown."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from sam_detect import AnnotationUI, SAMDetect  # noqa: E402
from sam_detect.vector_store import MemoryVectorStore  # noqa: E402


def test_the_page_saves_views_and_shows_deletes_and_undoes_examples(
        photos, mirror_views) -> None:
    viewing = SAMDetect(embedder=mirror_views, segmenter="naive",
                        vector_store=MemoryVectorStore())
    folder, masks = photos
    local = {"base_url": "http://127.0.0.1:8000", "headers": {"X-Requested-With": "sam-detect"}}
    app = AnnotationUI(viewing).app(folder)
    with TestClient(app, **local) as client:
        view = client.get("/api/images/0").json()
        disc = max(view["instances"], key=lambda inst: int(masks["a.png"]["red_disc"][
            inst["bbox"][1]:inst["bbox"][3], inst["bbox"][0]:inst["bbox"][2]].sum()))
        saved = client.post("/api/images/0/save", json={"label": "disc", "instance": disc["id"]})
        assert saved.status_code == 200, saved.text
        assert len(saved.json()["saved_ids"]) == 2  # the picture was at hand: both views
        assert saved.json()["labels"] == {"disc": 1}
        gallery = client.get("/api/examples").json()
        assert [e["label"] for e in gallery] == ["disc"]  # one tile per example
        assert client.post("/api/undo").json()["removed"] == 1
        assert viewing.vector_store.count() == len(viewing.vector_store.list_examples(
            label="__background__"))
        saved = client.post("/api/images/0/save", json={"label": "disc", "instance": disc["id"]})
        (tile,) = client.get("/api/examples").json()
        assert client.delete(f"/api/examples/{tile['id']}").json()["removed"] == 1
        assert not viewing.vector_store.list_examples(label="disc")  # every view went
    app.state.session.close()
