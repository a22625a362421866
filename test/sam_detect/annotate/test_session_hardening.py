# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The annotation UI when pictures change under it, frames are dropped, and undo must undo."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from sam_detect import AnnotationUI  # noqa: E402
from sam_detect.annotate.session import LiveSource  # noqa: E402
from sam_detect.classifier import BACKGROUND_LABEL  # noqa: E402

LOCAL = "http://127.0.0.1:8000"
OURS = {"X-Requested-With": "sam-detect"}


def serve(detector, folder=None, source=None, **options):
    """Return a TestClient of the app (close its session with ``client.app.state``)."""
    app = AnnotationUI(detector, **options).app(folder, source=source)
    return TestClient(app, base_url=LOCAL, headers=OURS)


@pytest.fixture
def client(photos, detector):
    folder, _ = photos
    with serve(detector, folder) as client:
        yield client
    client.app.state.session.close()


def instance_on(view, mask):
    """Return the id of the instance of ``view`` that overlaps ``mask`` most."""
    def overlap(inst):
        x0, y0, x1, y1 = inst["bbox"]
        return mask[y0:y1, x0:x1].sum()
    return max(view["instances"], key=overlap)["id"]


# -- 8. live frames keep their number --------------------------------------------------------

def test_a_save_from_an_older_view_stores_that_frames_object_after_frames_are_dropped(
        detector, make_scene):
    scenes = [make_scene([("red_disc", (60 + 12 * i, 90), 30), ("blue_square", (240, 160), 28)],
                         seed=i) for i in range(12)]
    frames = [(image, list(detector.detect(image))) for image, _ in scenes]
    shown = {"frame": 0}
    source = LiveSource(lambda: frames[shown["frame"]])
    with serve(detector, source=source) as client:
        views = []
        for i in range(10):
            shown["frame"] = i
            views.append(client.post("/api/freeze").json())
        assert [v["index"] for v in views] == list(range(10))
        old = views[3]
        disc = instance_on(old, scenes[3][1]["red_disc"])
        shown["frame"] = 10
        newest = client.post("/api/freeze").json()  # the 11th: frame 1 is dropped
        assert newest["index"] == 10
        saved = client.post("/api/images/3/save", json={"label": "disc", "instance": disc})
        assert saved.status_code == 200, saved.text
        (example,) = [e for e in detector.vector_store.list_examples() if e.label == "disc"]
        assert example.payload["source"] == old["name"]
        digest = __import__("hashlib").sha1(np.ascontiguousarray(frames[3][0])).hexdigest()
        assert example.payload["image_sha1"] == digest
        assert example.payload["bbox"] == next(
            i["bbox"] for i in old["instances"] if i["id"] == disc)
        assert client.get("/api/images/3").json()["saved"][0]["label"] == "disc"
        gone = client.get("/api/images/0")
        assert gone.status_code == 404 and "no longer kept" in gone.json()["detail"]
        state = client.get("/api/state").json()
        assert state["count"] == 11 and state["names"][0].endswith("(no longer kept)")
    client.app.state.session.close()


# -- 9. undo undoes all of a save; hidden background is not the page's ---------------------------

def test_five_saves_and_undos_leave_the_store_as_it_was(client, detector, photos):
    _, masks = photos
    view = client.get("/api/images/0").json()
    disc = instance_on(view, masks["a.png"]["red_disc"])
    for _ in range(5):
        saved = client.post("/api/images/0/save", json={"label": "mug", "instance": disc})
        assert saved.status_code == 200, saved.text
        assert detector.vector_store.labels().get(BACKGROUND_LABEL), "nothing to undo"
        assert client.post("/api/undo").status_code == 200
        assert detector.vector_store.count() == 0, detector.vector_store.labels()


def test_hidden_background_cannot_be_relabelled_or_deleted_from_the_page(client, detector,
                                                                         photos):
    _, masks = photos
    view = client.get("/api/images/0").json()
    disc = instance_on(view, masks["a.png"]["red_disc"])
    client.post("/api/images/0/save", json={"label": "mug", "instance": disc})
    (hidden, *_) = detector.vector_store.list_examples(label=BACKGROUND_LABEL)
    before = detector.vector_store.labels()
    relabel = client.post(f"/api/examples/{hidden.id}/relabel", json={"label": "cup"})
    assert relabel.status_code == 404, relabel.text
    assert client.delete(f"/api/examples/{hidden.id}").status_code == 404
    assert client.get(f"/api/examples/{hidden.id}").status_code == 404
    assert detector.vector_store.labels() == before


# -- 11. decompression bombs in the folder -------------------------------------------------------

def jpeg_declaring(width: int, height: int) -> bytes:
    """Return a tiny JPEG whose header (SOF0) declares ``width`` x ``height``."""
    data = bytearray(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 7] = height.to_bytes(2, "big")
    data[sof + 7:sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


def test_a_picture_declaring_too_many_pixels_is_refused_from_its_header(photos, detector):
    folder, _ = photos
    (folder / "bomb1.jpg").write_bytes(jpeg_declaring(15000, 15000))
    (folder / "bomb2.jpg").write_bytes(jpeg_declaring(15000, 15000))
    assert (folder / "bomb1.jpg").stat().st_size < 1000
    with serve(detector, folder, prefetch=0) as client:
        names = client.get("/api/state").json()["names"]
        for name in ("bomb1.jpg", "bomb2.jpg"):
            index = names.index(name)
            for path in (f"/api/images/{index}", f"/api/images/{index}/jpeg"):
                response = client.get(path)
                assert response.status_code == 400, response.text
                detail = response.json()["detail"]
                assert f"{name}: it has 15000x15000 pixels, more than the budget of 67108864" \
                    in detail
                assert str(folder) not in detail
        assert client.get("/api/images/0").status_code == 200  # the others are served
    client.app.state.session.close()


# -- 12, 24. pictures deleted or replaced while served; paths in errors --------------------------

def test_a_deleted_picture_is_a_404_naming_it_relative_to_the_folder(client, photos):
    folder, _ = photos
    (folder / "b.png").unlink()
    for path in ("/api/images/1", "/api/images/1/jpeg"):
        response = client.get(path)
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "b.png is no longer in the folder"
    assert client.get("/api/images/0").status_code == 200


def test_a_picture_replaced_after_it_was_shown_is_a_409_not_another_object(
        client, photos, detector, make_scene):
    folder, masks = photos
    view = client.get("/api/images/0").json()
    disc = instance_on(view, masks["a.png"]["red_disc"])
    prompt = client.post("/api/images/0/prompt", json={"points": [[80, 90]]}).json()
    bigger, _ = make_scene([("yellow_ring", (100, 100), 40)], size=(300, 400), seed=9)
    cv2.imwrite(str(folder / "a.png"), bigger[:, :, ::-1])
    painted = {"size": [240, 320], "counts": [100, 50, 240 * 320 - 150]}  # brushed on the old one
    for body in ({"label": "mug", "instance": disc},
                 {"label": "mug", "prompt": prompt["prompt"]},
                 {"label": "mug", "mask": painted}):
        response = client.post("/api/images/0/save", json=body)
        assert response.status_code == 409, response.text
        assert "a.png changed since" in response.json()["detail"]
    assert detector.vector_store.count() == 0
    fresh = client.get("/api/images/0").json()  # looking again shows the new picture
    assert (fresh["width"], fresh["height"]) == (400, 300)


def test_label_all_similar_goes_on_when_a_picture_is_gone_or_replaced(client, photos, detector,
                                                                      make_scene):
    folder, masks = photos
    session = client.app.state.session
    session.similar_threshold = 0.8
    for index in range(3):
        client.get(f"/api/images/{index}")
    view = client.get("/api/images/0").json()
    disc = instance_on(view, masks["a.png"]["red_disc"])
    client.post("/api/images/0/save", json={"label": "mug", "instance": disc})
    (folder / "sub" / "c.png").unlink()
    other, _ = make_scene([("red_disc", (100, 100), 30)], size=(200, 200), seed=5)
    cv2.imwrite(str(folder / "b.png"), other[:, :, ::-1])
    result = client.post("/api/images/0/similar", json={"label": "mug", "instance": disc})
    assert result.status_code == 200, result.text
    body = result.json()
    assert set(body["skipped"]) == {"b.png", "sub/c.png"}
    assert "no longer in the folder" in body["skipped"]["sub/c.png"]
    assert "changed" in body["skipped"]["b.png"]
    assert all(str(folder) not in why for why in body["skipped"].values())
    sources = {e.payload["source"] for e in detector.vector_store.list_examples(label="mug")}
    assert sources <= {"a.png"}


@pytest.mark.parametrize("content", [b"not a picture", b""])
def test_an_unreadable_picture_is_named_relative_to_the_folder(photos, detector, content):
    folder, _ = photos
    (folder / "sub" / "broken.png").write_bytes(content)
    with serve(detector, folder, prefetch=0) as client:
        index = client.get("/api/state").json()["names"].index("sub/broken.png")
        response = client.get(f"/api/images/{index}")
        assert response.status_code == 400, response.text
        detail = response.json()["detail"]
        assert "sub/broken.png" in detail and str(folder) not in detail
        assert "/tmp" not in detail and "/root" not in detail
    client.app.state.session.close()


# -- 21. every picture is reachable --------------------------------------------------------------

def test_a_folder_of_5100_pictures_lists_them_all(tmp_path, detector, photos):
    folder, _ = photos
    big = tmp_path / "big"
    big.mkdir()
    for i in range(5100):
        shutil.copy(folder / "a.png", big / f"{i:05d}.png")
    with serve(detector, big, prefetch=0) as client:
        state = client.get("/api/state").json()
        assert state["count"] == 5100 and len(state["names"]) == 5100
        assert state["names"][-1] == "05099.png"
        assert client.get("/api/images/5099").json()["name"] == "05099.png"
    client.app.state.session.close()
