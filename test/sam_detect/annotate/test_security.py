# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The annotation UI against hostile requests: forged origins, rebinding, huge bodies, odd ids.

Through FastAPI's TestClient where the HTTP parsing does not matter, through a real uvicorn
server (ServerThread) where it does (streamed bodies). The browser side of the same rules is in
test_browser.py (a form on another port).
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402

from sam_detect import AnnotationUI  # noqa: E402
from sam_detect.errors import SamDetectError  # noqa: E402

TOKEN = "s3cret-token-123"
LOCAL = "http://127.0.0.1:8000"
OURS = {"X-Requested-With": "sam-detect"}


@pytest.fixture
def app(photos, detector):
    folder, _ = photos
    app = AnnotationUI(detector).app(folder)
    yield app
    app.state.session.close()


@pytest.fixture
def client(app):
    with TestClient(app, base_url=LOCAL) as client:
        yield client


def save_two(client) -> None:
    view = client.get("/api/images/0").json()
    for inst in view["instances"][:2]:
        saved = client.post("/api/images/0/save", json={"label": "mug", "instance": inst["id"]})
        assert saved.status_code == 200, saved.text


# -- 1. cross-site request forgery ------------------------------------------------------------

@pytest.mark.parametrize("headers, body", [
    ({"Origin": "http://evil.example"}, None),                      # curl from the QA pass
    ({"Origin": "http://evil.example"}, {"json": {}}),
    ({"Origin": "http://127.0.0.1:9999"}, None),                    # another port: another site
    ({"Origin": "null"}, None),                                     # sandboxed frame, file://
    ({"Sec-Fetch-Site": "cross-site"}, None),
    ({"Sec-Fetch-Site": "cross-site"}, {"json": {}}),
    ({"Sec-Fetch-Site": "same-site"}, None),                        # a sibling port's page
    ({}, None),                                                     # a form: no body at all
    ({"Content-Type": "application/x-www-form-urlencoded"}, {"content": b"a=b"}),
    ({"Content-Type": "text/plain"}, {"content": b'{"label": "x"}'}),  # form enctype text/plain
    ({"Content-Type": "multipart/form-data; boundary=x"}, {"content": b"--x--"}),
])
@pytest.mark.parametrize("method, path", [
    ("post", "/api/undo"),
    ("post", "/api/freeze"),
    ("delete", "/api/examples/{id}"),
    ("post", "/api/examples/{id}/relabel"),
    ("post", "/api/images/0/save"),
])
def test_a_change_from_another_site_is_refused_and_changes_nothing(
        client, detector, method, path, headers, body):
    save_two(client)
    before = sorted((e.id, e.label) for e in detector.vector_store.list_examples())
    first = detector.vector_store.list_examples(label="mug")[0].id
    kwargs = {"headers": headers, **(body or {})}
    if method == "delete":
        kwargs.pop("content", None), kwargs.pop("json", None)
    response = client.request(method.upper(), path.format(id=first), **kwargs)
    assert response.status_code == 403, response.text
    assert "this server's own page" in response.json()["detail"]
    assert sorted((e.id, e.label) for e in detector.vector_store.list_examples()) == before


@pytest.mark.parametrize("headers, body", [
    (OURS, None),                                                   # the page's own fetch
    ({**OURS, "Origin": LOCAL, "Sec-Fetch-Site": "same-origin"}, None),
    ({"Content-Type": "application/json"}, b"{}"),                  # a script's JSON body
    ({"Origin": LOCAL, "Content-Type": "application/json; charset=utf-8"}, b"{}"),
])
def test_the_pages_own_requests_and_json_clients_still_work(client, detector, headers, body):
    save_two(client)
    response = client.post("/api/undo", headers=headers, content=body)
    assert response.status_code == 200, response.text
    assert detector.labels() == {"mug": 1}


# -- 2. Host names (DNS rebinding) --------------------------------------------------------------

@pytest.mark.parametrize("host", ["attacker.example:8000", "attacker.example", "127.0.0.1.nip.io",
                                  "localhost.evil.example:8000", "0.0.0.0:8000", "[::2]:8000",
                                  "192.168.1.5:8000", ""])
@pytest.mark.parametrize("path", ["/", "/api/state", "/api/examples", "/api/export/coco",
                                  "/api/images/0/jpeg"])
def test_without_a_token_only_loopback_names_are_served(client, host, path):
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 403, response.text
    assert "127.0.0.1, localhost or [::1]" in response.json()["detail"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "127.0.0.1", "localhost:8000", "LOCALHOST",
                                  "[::1]:8000", "[::1]", "127.0.0.2:8000"])
def test_loopback_names_are_served(client, host):
    assert client.get("/api/state", headers={"Host": host}).status_code == 200


def test_with_a_token_any_host_name_is_served(photos, detector):
    folder, _ = photos
    app = AnnotationUI(detector, token=TOKEN).app(folder, host="0.0.0.0")
    with TestClient(app, base_url="http://robot.local:8000") as client:
        assert client.get("/api/state").status_code == 401
        assert client.get("/api/state", headers={"X-Token": TOKEN}).status_code == 200
    app.state.session.close()


# -- 3. bodies: the token first, then never past the cap ----------------------------------------

@pytest.fixture
def served(photos, detector):
    """Serve the folder with a real uvicorn server on a free port (folder app, no token)."""
    folder, _ = photos
    running = AnnotationUI(detector).serve(image_directory=folder, port=0)
    yield running
    running.stop()


@pytest.fixture
def served_with_token(photos, detector):
    folder, _ = photos
    running = AnnotationUI(detector, token=TOKEN).serve(image_directory=folder, port=0)
    yield running
    running.stop()


HUGE = 300 * 1024 * 1024


def test_a_huge_chunked_body_is_refused_at_the_cap_without_being_read(served, stream_chunked):
    status, sent = stream_chunked(served.url, "/api/images/0/save", HUGE)
    assert status == 413
    # What was sent before the answer: the cap, plus what the sockets buffered on the way.
    assert sent < 64 * 1024 * 1024, sent


def test_without_the_token_a_body_is_refused_before_it_is_read(
        served_with_token, stream_chunked):
    status, sent = stream_chunked(served_with_token.url, "/api/undo", HUGE)
    assert status == 401
    assert sent < 64 * 1024 * 1024, sent


def test_a_declared_length_over_the_cap_is_refused_at_once(client, detector):
    response = client.post("/api/images/0/save", headers={
        "Content-Type": "application/json", "Content-Length": str(10 ** 12)}, content=b"{}")
    assert response.status_code == 413 and detector.vector_store.count() == 0


# -- 15, 16, 25: numbers, ids and tokens ---------------------------------------------------------

@pytest.mark.parametrize("path, body", [
    ("/api/images/0/prompt", b'{"points": [[1e400, 10]]}'),
    ("/api/images/0/prompt", b'{"points": [[NaN, 10]]}'),
    ("/api/images/0/prompt", b'{"box": [0, 0, Infinity, 10]}'),
    ("/api/images/0/save", b'{"label": "mug", "instance": 1e400}'),
    ("/api/images/0/save", b'{"label": "mug", "instance": NaN}'),
    ("/api/images/0/explain", b'{"candidate": -Infinity}'),
])
def test_non_finite_numbers_are_a_422_naming_the_field(client, detector, path, body):
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.startswith("body.")
    assert detector.vector_store.count() == 0


@pytest.mark.parametrize("odd", ["²", "¹", "①", "１", "٣", "1 ", "-1", "99999999999999999999999",
                                 "abc"])
def test_example_ids_are_ascii_digits_only(client, detector, odd):
    save_two(client)
    ids = sorted(e.id for e in detector.vector_store.list_examples(label="mug"))
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/api/examples/{odd}", headers=OURS)
        assert response.status_code == 404, (method, response.text)
    relabel = client.post(f"/api/examples/{odd}/relabel", json={"label": "cup"})
    assert relabel.status_code == 404
    assert sorted(e.id for e in detector.vector_store.list_examples(label="mug")) == ids


@pytest.mark.parametrize("token", ["        ", " \t  \t   ", "token with spaces", "tökenλλλλλ",
                                   "tok\x01en-123"])
def test_a_token_no_header_can_carry_is_refused(token, monkeypatch):
    from sam_detect.annotate.app import resolve_token

    monkeypatch.delenv("SAM_DETECT_TOKEN", raising=False)
    with pytest.raises(SamDetectError, match="printable ASCII without spaces"):
        resolve_token("0.0.0.0", token)
    monkeypatch.setenv("SAM_DETECT_TOKEN", token)
    with pytest.raises(SamDetectError, match="printable ASCII without spaces"):
        resolve_token("0.0.0.0", None)
