# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The annotation HTTP API, through FastAPI's TestClient (no browser, no server thread)."""

from __future__ import annotations

import base64
import time

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from sam_detect import AnnotationUI  # noqa: E402
from sam_detect.classifier import BACKGROUND_LABEL  # noqa: E402
from sam_detect.errors import SamDetectError  # noqa: E402
from sam_detect.results import decode_rle  # noqa: E402

TOKEN = "s3cret-token-123"
#: A loopback Host and the header the page's own requests carry (test_security.py: why).
LOCAL = {"base_url": "http://127.0.0.1:8000", "headers": {"X-Requested-With": "sam-detect"}}


@pytest.fixture
def client(photos, detector):
    folder, _ = photos
    app = AnnotationUI(detector).app(folder)
    with TestClient(app, **LOCAL) as client:
        yield client
    app.state.session.close()


def red_disc_instance(view, mask):
    """Return the instance of ``view`` that overlaps ``mask`` most."""
    def overlap(inst):
        x0, y0, x1, y1 = inst["bbox"]
        return mask[y0:y1, x0:x1].sum()
    return max(view["instances"], key=overlap)


def decode_png(png, shape):
    data = np.frombuffer(base64.b64decode(png), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def test_state_lists_the_folder(client):
    state = client.get("/api/state").json()
    assert state == {"live": False, "count": 3, "names": ["a.png", "b.png", "sub/c.png"],
                     "labels": {}, "masker": "grabcut", "colours": {},
                     "max_body_bytes": 64 * 1024}


def test_view_sends_small_png_masks_that_match_the_objects(client, photos):
    _, masks = photos
    view = client.get("/api/images/0").json()
    assert (view["width"], view["height"], view["name"]) == (320, 240, "a.png")
    inst = red_disc_instance(view, masks["a.png"]["red_disc"])
    crop = decode_png(inst["png"], None) > 127
    x0, y0, x1, y1 = inst["bbox"]
    truth = masks["a.png"]["red_disc"][y0:y1, x0:x1]
    assert crop.shape == truth.shape
    assert (crop & truth).sum() / (crop | truth).sum() > 0.8
    assert len(inst["png"]) < 4000  # a mask, never an embedding
    assert client.get("/api/images/0/jpeg").headers["content-type"] == "image/jpeg"


def test_pictures_are_encoded_once_and_the_next_ones_in_the_background(client):
    first = client.get("/api/images/0").json()
    assert first["cached"] is False
    assert client.get("/api/images/0").json()["cached"] is True
    session = client.app.state.session
    for _ in range(600):  # the worker runs on its own thread: wait until it is done
        if {1, 2} <= set(session._summaries):
            break
        time.sleep(0.05)
    assert client.get("/api/images/1").json()["cached"] is True


def test_teach_then_the_next_picture_suggests_the_name(client, photos, detector):
    _, masks = photos
    view = client.get("/api/images/0").json()
    inst = red_disc_instance(view, masks["a.png"]["red_disc"])
    saved = client.post("/api/images/0/save", json={"label": "mug", "instance": inst["id"]})
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["labels"] == {"mug": 1} and detector.labels() == {"mug": 1}
    refreshed = next(i for i in body["instances"] if i["id"] == inst["id"])
    assert refreshed["suggestions"][0]["label"] == "mug"
    assert refreshed["suggestions"][0]["similarity"] == pytest.approx(1.0, abs=1e-3)
    payload = detector.vector_store.list_examples(label="mug")[0].payload
    assert payload["source"] == "a.png" and payload["thumbnail"].startswith("data:image/jpeg")
    assert decode_rle(payload["rle"]).sum() == inst["area"]
    nxt = client.get("/api/images/1").json()
    other = red_disc_instance(nxt, masks["b.png"]["red_disc"])
    assert other["label"] == "mug"
    # The picture's other objects were stored as known background: they take part in the vote
    # (and are never suggested), so mug's share is most, not all, of it.
    assert other["suggestions"][0]["label"] == "mug" and other["suggestions"][0]["share"] > 0.5
    assert all(s["label"] != "__background__" for s in other["suggestions"])


@pytest.mark.parametrize("prompt, inside", [
    ({"points": [[80, 90]]}, (90, 80)),
    ({"points": [[80, 90], [230, 150]], "labels": [1, 0]}, (90, 80)),
    ({"box": [40, 50, 120, 130]}, (90, 80)),
])
def test_prompts_make_a_mask_that_can_be_taught(client, detector, prompt, inside):
    result = client.post("/api/images/0/prompt", json=prompt)
    assert result.status_code == 200, result.text
    result = result.json()
    first = result["candidates"][0]
    x0, y0, x1, y1 = first["bbox"]
    assert x0 <= inside[1] < x1 and y0 <= inside[0] < y1
    assert 2000 < first["area"] < 6000  # the disc (~3200 px), not the whole picture
    saved = client.post("/api/images/0/save", json={"label": "disc", "prompt": result["prompt"]})
    assert saved.status_code == 200 and detector.labels() == {"disc": 1}


def test_undo_really_deletes_from_the_store(client, detector):
    view = client.get("/api/images/0").json()
    for inst in view["instances"]:
        client.post("/api/images/0/save", json={"label": f"thing{inst['id']}",
                                                "instance": inst["id"]})
    assert detector.vector_store.count() == 2
    assert client.post("/api/undo").json()["removed"] == 1
    assert detector.vector_store.count() == 1
    assert client.post("/api/undo").json()["removed"] == 1
    assert detector.vector_store.count() == 0
    nothing = client.post("/api/undo")
    assert nothing.status_code == 404 and "nothing to undo" in nothing.json()["detail"]


def test_gallery_lists_relabels_and_deletes(client, detector):
    client.get("/api/images/0")
    client.post("/api/images/0/save", json={"label": "mug", "instance": 0})
    client.post("/api/images/0/save", json={"label": "mug", "instance": 1})
    examples = client.get("/api/examples", params={"label": "mug"}).json()
    assert [e["label"] for e in examples] == ["mug", "mug"]
    first = examples[0]["id"]
    assert client.get(f"/api/examples/{first}").json()["source"] == "a.png"
    assert client.post(f"/api/examples/{first}/relabel", json={"label": "cup"}).json()[
        "labels"] == {"cup": 1, "mug": 1}
    assert client.delete(f"/api/examples/{first}").json()["labels"] == {"mug": 1}
    assert client.delete(f"/api/examples/{first}").status_code == 404
    assert detector.labels() == {"mug": 1}


def test_explain_lists_the_examples_that_voted(client):
    client.get("/api/images/0")
    client.post("/api/images/0/save", json={"label": "mug", "instance": 0})
    explained = client.post("/api/images/0/explain", json={"instance": 0}).json()
    assert explained["label"] == "mug"
    assert explained["neighbours"][0]["label"] == "mug"
    assert explained["neighbours"][0]["similarity"] == pytest.approx(1.0, abs=1e-3)
    assert explained["neighbours"][0]["thumbnail"].startswith("data:image/jpeg")


def test_hard_examples_leave_out_saved_ones_and_put_doubt_first(client):
    view = client.get("/api/images/0").json()
    first = view["instances"][0]["id"]
    client.post("/api/images/0/save", json={"label": "mug", "instance": first})
    hard = client.get("/api/hard").json()
    items = hard["items"]
    assert items and all(not (i["index"] == 0 and i["instance"] == first)
                         for i in items)
    assert [i["doubt"] for i in items] == sorted((i["doubt"] for i in items), reverse=True)


def test_label_all_similar_teaches_the_other_pictures(client, photos, detector):
    _, masks = photos
    session = client.app.state.session
    session.similar_threshold = 0.8
    for index in range(3):
        client.get(f"/api/images/{index}")
    view = client.get("/api/images/0").json()
    inst = red_disc_instance(view, masks["a.png"]["red_disc"])
    client.post("/api/images/0/save", json={"label": "mug", "instance": inst["id"]})
    result = client.post("/api/images/0/similar", json={"label": "mug", "instance": inst["id"]})
    assert result.json()["taught"] >= 2, result.text
    assert set(result.json()["images"]) >= {"b.png", "sub/c.png"}
    assert detector.labels()["mug"] == 1 + result.json()["taught"]
    client.post("/api/undo")
    assert detector.labels() == {"mug": 1}


def test_coco_export_round_trips_the_masks(client, photos):
    from pycocotools import mask as mask_utils

    _, masks = photos
    view = client.get("/api/images/1").json()
    inst = red_disc_instance(view, masks["b.png"]["red_disc"])
    client.post("/api/images/1/save", json={"label": "mug", "instance": inst["id"]})
    coco = client.get("/api/export/coco").json()
    assert coco["categories"] == [{"id": 1, "name": "mug"}]
    assert coco["images"] == [{"id": 2, "file_name": "b.png", "height": 240, "width": 320}]
    (annotation,) = coco["annotations"]
    rle = {"size": annotation["segmentation"]["size"],
           "counts": annotation["segmentation"]["counts"].encode()}
    decoded = mask_utils.decode(rle).astype(bool)
    truth = masks["b.png"]["red_disc"]
    assert (decoded & truth).sum() / (decoded | truth).sum() > 0.8
    assert annotation["area"] == decoded.sum() and annotation["iscrowd"] == 0


@pytest.mark.parametrize("method, path, body, status, detail", [
    ("get", "/api/images/7", None, 404, "no image 7"),
    ("get", "/api/images/-1", None, 404, "no image -1"),
    ("get", "/api/images/../../etc/passwd", None, 404, None),
    ("get", "/static/../app.py", None, 404, None),
    ("post", "/api/images/0/save", {"label": "   ", "instance": 0}, 400, "label is empty"),
    ("post", "/api/images/0/save", {"label": "mug"}, 400, "select an object first"),
    ("post", "/api/images/0/save", {"label": "mug", "instance": 99}, 404, "no instance 99"),
    ("post", "/api/images/0/save", {"label": "mug", "prompt": "gone"}, 404, "no longer"),
    ("post", "/api/images/0/save", {"label": "x" * 300, "instance": 0}, 422, None),
    ("post", "/api/images/0/prompt", {"points": [[5000, 1]]}, 400, "inside the 320x240"),
    ("post", "/api/images/0/prompt", {}, 400, "box or at least one positive point"),
    ("post", "/api/images/0/prompt", {"points": [[1, 1]] * 65}, 422, None),
    ("post", "/api/images/0/prompt", {"box": [10, 10, 10, 10]}, 400, "box is empty"),
    ("post", "/api/images/0/prompt", {"points": [[1, 1]], "labels": [1, 0]}, 400,
     "1 points but 2"),
    ("post", "/api/freeze", None, 404, "live camera"),
    ("post", "/api/examples/123/relabel", {"label": "cup"}, 404, "no stored example"),
])
def test_bad_requests_get_a_clear_4xx_and_change_nothing(client, detector, method, path, body,
                                                         status, detail):
    client.get("/api/images/0")
    response = getattr(client, method)(path, **({} if body is None else {"json": body}))
    assert response.status_code == status, response.text
    if detail:
        assert detail in response.json()["detail"]
    assert detector.vector_store.count() == 0


def test_request_bodies_are_bounded(client, detector):
    huge = b'{"label": "' + b"x" * 100_000 + b'"}'
    response = client.post("/api/images/0/save", content=huge,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and detector.vector_store.count() == 0


@pytest.fixture
def guarded(photos, detector):
    folder, _ = photos
    app = AnnotationUI(detector, token=TOKEN).app(folder, host="0.0.0.0")
    with TestClient(app) as client:
        yield client
    app.state.session.close()


@pytest.mark.parametrize("headers, cookies, status", [
    ({}, {}, 401),
    ({"x-token": "wrong-token-456"}, {}, 401),
    ({"authorization": "Bearer wrong-token-456"}, {}, 401),
    ({"x-token": TOKEN}, {}, 200),
    ({"authorization": f"Bearer {TOKEN}"}, {}, 200),
    ({}, {"sam_detect_token": TOKEN}, 200),
])
def test_token_is_required_when_set(guarded, headers, cookies, status):
    guarded.cookies.clear()
    for name, value in cookies.items():
        guarded.cookies.set(name, value)
    assert guarded.get("/api/state", headers=headers).status_code == status


def test_token_in_the_url_moves_into_a_cookie(guarded):
    response = guarded.get(f"/?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303 and "token" not in response.headers["location"]
    assert TOKEN in response.headers["set-cookie"] and "HttpOnly" in response.headers["set-cookie"]


@pytest.mark.parametrize("host, token, env, ok", [
    ("127.0.0.1", None, None, True),
    ("localhost", None, None, True),
    ("::1", None, None, True),
    ("0.0.0.0", None, None, False),
    ("192.168.1.5", None, None, False),
    ("0.0.0.0", TOKEN, None, True),
    ("0.0.0.0", None, TOKEN, True),
    ("0.0.0.0", "short", None, False),
])
def test_other_hosts_need_a_token(monkeypatch, host, token, env, ok):
    from sam_detect.annotate.app import resolve_token

    monkeypatch.delenv("SAM_DETECT_TOKEN", raising=False)
    if env:
        monkeypatch.setenv("SAM_DETECT_TOKEN", env)
    if ok:
        assert resolve_token(host, token) == (token or env)
    else:
        with pytest.raises(SamDetectError):
            resolve_token(host, token)


def test_a_folder_symlink_leading_outside_is_not_served(photos, tmp_path, detector):
    from sam_detect.annotate.session import FolderSource

    folder, _ = photos
    outside = tmp_path / "secret.png"
    cv2.imwrite(str(outside), np.zeros((4, 4, 3), np.uint8))
    (folder / "link.png").symlink_to(outside)
    assert "link.png" not in FolderSource(folder).names()


def test_a_sam2_detector_answers_clicks_with_its_prompted_predictor(photos, torch_one_thread):
    pytest.importorskip("transformers")
    from sam_detect import SAMDetect
    from sam_detect.models.synthetic import random_sam2
    from sam_detect.segmentation.sam2 import SAM2Segmenter

    folder, _ = photos
    segmenter = SAM2Segmenter(model=random_sam2("mini"), device="cpu", points_per_side=2,
                              pred_iou_thresh=0.0, stability_thresh=0.0, min_area=1)
    with SAMDetect(segmenter=segmenter, embedder="average") as detector:
        app = AnnotationUI(detector).app(folder)
        with TestClient(app, **LOCAL) as client:
            assert client.get("/api/state").json()["masker"] == "sam2"
            client.get("/api/images/0")
            result = client.post("/api/images/0/prompt", json={"points": [[80, 90]]}).json()
            assert result["masker"] == "sam2" and result["candidates"]
            saved = client.post("/api/images/0/save", json={"label": "thing",
                                                            "prompt": result["prompt"]})
            assert saved.status_code == 200 and detector.labels() == {"thing": 1}
        app.state.session.close()


def test_the_cache_is_keyed_by_content_not_by_name(photos, detector):
    import shutil

    folder, _ = photos
    shutil.copy(folder / "a.png", folder / "z_copy_of_a.png")
    app = AnnotationUI(detector, prefetch=0).app(folder)
    with TestClient(app, **LOCAL) as client:
        names = client.get("/api/state").json()["names"]
        assert client.get("/api/images/0").json()["cached"] is False
        copy = client.get(f"/api/images/{names.index('z_copy_of_a.png')}").json()
        assert copy["cached"] is True and copy["name"] == "z_copy_of_a.png"
    app.state.session.close()


def test_a_click_answers_one_mask_at_once_and_the_others_follow(client, detector):
    result = client.post("/api/images/0/prompt", json={"points": [[150, 30]]}).json()
    assert len(result["candidates"]) == 1 and result["more"] is True
    everything = client.get(f"/api/prompts/{result['prompt']}").json()
    assert everything["more"] is False
    assert everything["candidates"][0] == result["candidates"][0]
    assert len(everything["candidates"]) == 2  # the ground: the two windows differ
    last = len(everything["candidates"]) - 1
    saved = client.post("/api/images/0/save", json={"label": "ground", "prompt": result["prompt"],
                                                    "candidate": last})
    assert saved.status_code == 200
    (example,) = detector.vector_store.list_examples()
    assert example.payload["bbox"] == everything["candidates"][last]["bbox"]
    assert client.get("/api/prompts/unknown").status_code == 404


# -- what the page draws, and masks edited by hand -----------------------------------------------


def column_rle(mask: np.ndarray) -> dict:
    """Return ``mask`` as the page sends it: uncompressed COCO RLE, column-major runs."""
    flat = mask.T.reshape(-1).astype(np.int8)
    changes = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]])) if flat.size else []
    counts = np.diff(np.r_[0, changes]).tolist()
    return {"size": list(mask.shape), "counts": [int(c) for c in counts]}


def test_column_rle_is_what_pycocotools_decodes():
    mask = np.zeros((5, 7), bool)
    mask[1:4, 2:6] = True
    mask[0, 0] = True
    assert (decode_rle(column_rle(mask)) == mask).all()


def test_the_view_carries_the_overlays_colours_and_caption_places(client, photos, detector):
    from sam_detect.palette import PALETTE, UNKNOWN_COLOUR, hex_colour
    from sam_detect.results import Instance
    from sam_detect.visualize import plan_overlay

    _, masks = photos
    view = client.get("/api/images/0").json()
    assert all(inst["colour"] == hex_colour(UNKNOWN_COLOUR) for inst in view["instances"])
    assert all(inst["caption"]["text"] == "?" for inst in view["instances"])
    disc = red_disc_instance(view, masks["a.png"]["red_disc"])
    client.post("/api/images/0/save", json={"label": "orange", "instance": disc["id"]})
    view = client.get("/api/images/0").json()
    labelled = [i for i in view["instances"] if i["label"]]
    assert labelled and all(i["colour"] in {hex_colour(c) for c in PALETTE} for i in labelled)
    assert view["colours"]["orange"]["colour"] == labelled[0]["colour"]
    # The same plan as the overlays (sam-detect --output, the node's overlay topic).
    plan = plan_overlay([i["label"] for i in view["instances"]],
                        [i["confidence"] for i in view["instances"]],
                        [i["bbox"] for i in view["instances"]], (240, 320),
                        list(detector.labels()))
    assert [hex_colour(p.colour) for p in plan] == [i["colour"] for i in view["instances"]]
    boxes = [i["caption"]["box"] for i in view["instances"]]
    assert [list(p.caption.box) for p in plan] == boxes
    overlay = detector.visualize(cv2.imread(str(photos[0] / "a.png"))[:, :, ::-1], [
        Instance(np.zeros((240, 320), bool), tuple(i["bbox"]), label=i["label"],
                 confidence=i["confidence"]) for i in view["instances"]])
    x0, y0, _, _ = labelled[0]["caption"]["box"]
    assert hex_colour(tuple(int(v) for v in overlay[y0, x0])) == labelled[0]["colour"]


def test_an_edited_mask_is_embedded_and_taught_in_place_of_the_selection(
        client, photos, detector):
    _, masks = photos
    view = client.get("/api/images/0").json()
    disc = red_disc_instance(view, masks["a.png"]["red_disc"])
    edited = masks["a.png"]["red_disc"].copy()
    edited[88:93, 110:170] = True  # a handle painted with the brush
    edited[85:95, 75:85] = False   # a bite taken with the eraser
    answer = client.post("/api/images/0/save", json={
        "label": "pan", "instance": disc["id"], "mask": column_rle(edited)})
    assert answer.status_code == 200, answer.text
    (example,) = [e for e in detector.vector_store.list_examples() if e.label == "pan"]
    assert (decode_rle(example.payload["rle"]) == edited).all()
    assert example.payload["edited"] is True and example.payload["bbox"] == [48, 58, 170, 123]
    # Embedded afresh: its vector is the edited mask's, not the detected instance's.
    fresh = detector.embed_masks(cv2.imread(str(photos[0] / "a.png"))[:, :, ::-1], [edited])[0]
    hit = detector.vector_store.search(fresh[None, :], k=1, label_filter=["pan"])[0][0]
    assert hit.score > 0.999
    assert detector.vector_store.labels().get(BACKGROUND_LABEL)  # the other objects: background
    assert client.post("/api/undo").json()["removed"] >= 1
    assert "pan" not in detector.labels()
    assert detector.vector_store.count() == 0  # the undo took the hidden background with it


@pytest.mark.parametrize("mask, message", [
    ({"size": [10, 10], "counts": [100]}, "the picture is"),
    ({"size": [240, 320], "counts": [76800 - 5, 10]}, "add up to"),
    ({"size": [240, 320], "counts": [76800 + 5, -5]}, "whole numbers"),
    ({"size": [240, 320], "counts": [76800]}, "empty"),
])
def test_a_bad_edited_mask_is_refused_and_nothing_is_stored(client, detector, mask, message):
    answer = client.post("/api/images/0/save", json={"label": "x", "mask": mask})
    assert answer.status_code == 400 and message in answer.json()["detail"]
    assert detector.labels() == {}


def test_a_brushed_1080p_mask_fits_the_request_cap():
    """The cap is 64 kB (MAX_BODY_BYTES); a hand-fixed 1080p mask is a few kB."""
    import json

    from sam_detect.annotate.app import MAX_BODY_BYTES

    mask = np.zeros((1080, 1920), np.uint8)
    cv2.ellipse(mask, (900, 540), (400, 250), 20, 0, 360, 1, -1)
    rng = np.random.default_rng(0)
    for _ in range(40):  # ragged brush and eraser strokes along the outline
        x, y = int(rng.integers(500, 1300)), int(rng.integers(300, 800))
        cv2.line(mask, (x, y), (x + int(rng.integers(-80, 80)), y + int(rng.integers(-80, 80))),
                 int(rng.integers(0, 2)), int(rng.integers(4, 30)))
    body = json.dumps({"label": "kettle", "instance": 3, "mask": column_rle(mask.astype(bool))})
    assert len(body) < MAX_BODY_BYTES / 2, len(body)
