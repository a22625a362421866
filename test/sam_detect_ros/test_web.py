# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The node's annotation UI (parameter web_port): Freeze a camera frame, click, name, teach."""

from __future__ import annotations

from pathlib import Path
import socket
from typing import Any

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")
pytest.importorskip("fastapi", reason="needs the 'ui' extra (fastapi, uvicorn)")

from sam_detect.errors import SamDetectError  # noqa: E402
from sam_detect_ros.demo import object_centre, SCENE, synthetic_frame  # noqa: E402

BALL = SCENE[0]
CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_web_ui_is_off_by_default(harness: Any) -> None:
    assert harness.node._web is None


def test_other_hosts_need_a_token_and_the_node_says_so(harness_factory: Any,
                                                       monkeypatch: Any) -> None:
    monkeypatch.delenv("SAM_DETECT_TOKEN", raising=False)
    with pytest.raises(SamDetectError, match="SAM_DETECT_TOKEN"):
        harness_factory({"web_port": free_port(), "web_host": "0.0.0.0"})


def test_freeze_and_teach_over_http_is_label_instance(harness_factory: Any) -> None:
    import httpx

    harness = harness_factory({"web_port": free_port()})
    url = harness.node._web.url
    # The header the page's own requests carry (changes without it are refused: CSRF).
    with httpx.Client(base_url=url, timeout=30,
                      headers={"X-Requested-With": "sam-detect"}) as http:
        assert http.get("api/state").json()["live"] is True
        refused = http.post("api/freeze")
        assert refused.status_code == 404 and "no camera frame" in refused.json()["detail"]
        harness.client.send(synthetic_frame(0), 0)
        view = http.post("api/freeze").json()
        x, y = object_centre(BALL, 0)
        (ball,) = [i for i in view["instances"]
                   if i["bbox"][0] <= x < i["bbox"][2] and i["bbox"][1] <= y < i["bbox"][3]]
        saved = http.post(f"api/images/{view['index']}/save",
                          json={"label": "ball", "instance": ball["id"]})
        assert saved.status_code == 200, saved.text
    detector = harness.node.detector
    assert detector.labels() == {"ball": 1}
    # The stored vector is the node's own embedding of that instance, as label_instance stores.
    frame = harness.node.recent_frame()
    (instance,) = [i for i in frame.instances if i.id == ball["id"]]
    hit = detector.vector_store.search(instance.embedding, k=1)[0][0]
    assert hit.score == pytest.approx(1.0, abs=1e-5) and hit.label == "ball"
    assert hit.payload["via"] == "annotate-live"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                  "(scripts/bootstrap.sh installs it)")
def test_a_person_teaches_the_robot_from_the_browser(harness_factory: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    harness = harness_factory({"web_port": free_port()})
    detector = harness.node.detector
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(harness.node._web.url)
            expect = sync_api.expect
            expect(page.get_by_role("status")).to_contain_text("Press Freeze")

            def freeze_and_click(index: int) -> None:
                harness.client.send(synthetic_frame(index), index)
                page.get_by_role("button", name="Freeze").click()
                expect(page.get_by_role("status")).to_contain_text("objects found")
                picture = page.get_by_role("img", name="image")
                box = picture.bounding_box()
                x, y = object_centre(BALL, index)
                page.mouse.click(box["x"] + (x + 0.5) * box["width"] / 320,
                                 box["y"] + (y + 0.5) * box["height"] / 240)

            freeze_and_click(0)
            page.get_by_role("textbox", name="Label").fill("ball")
            page.get_by_role("button", name="Save example").click()
            expect(page.get_by_role("list", name="Labels").get_by_role("listitem")).to_have_text(
                ["ball (1)"])
            assert detector.labels() == {"ball": 1}

            freeze_and_click(4)  # a later frame: the ball has moved
            expect(page.get_by_role("button", name="ball", exact=True)).to_be_visible()
        finally:
            browser.close()
    stored = [e for e in detector.vector_store.list_examples() if e.label != "__background__"]
    assert [e.payload["via"] for e in stored] == ["annotate-live"]
    assert np.isfinite(stored[0].payload["bbox"]).all()


def test_the_nodes_page_refuses_other_sites_rebinding_and_huge_bodies(
        harness_factory: Any, stream_chunked: Any) -> None:
    """Issue 17, items 1-3, on the node's own UI (the same guard as sam-detect annotate)."""
    import httpx

    harness = harness_factory({"web_port": free_port()})
    url = harness.node._web.url
    harness.client.send(synthetic_frame(0), 0)
    ours = {"X-Requested-With": "sam-detect"}
    with httpx.Client(base_url=url, timeout=30) as http:
        view = http.post("api/freeze", headers=ours).json()
        saved = http.post(f"api/images/{view['index']}/save", headers=ours,
                          json={"label": "ball", "instance": view["instances"][0]["id"]})
        assert saved.status_code == 200, saved.text
        for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "same-site"}, {},
                        {"Content-Type": "application/x-www-form-urlencoded"}):
            for path in ("api/undo", "api/freeze"):
                refused = http.post(path, headers=headers)
                assert refused.status_code == 403, (path, headers, refused.text)
        rebinding = {"Host": f"attacker.example:{harness.node._web.port}"}
        for path in ("api/examples", "api/export/coco", "api/state"):
            rebound = http.get(path, headers=rebinding)
            assert rebound.status_code == 403, rebound.text
    assert harness.node.detector.labels() == {"ball": 1}
    status, sent = stream_chunked(url, "/api/undo", 300 * 1024 * 1024)
    assert status == 413 and sent < 64 * 1024 * 1024, (status, sent)
    assert harness.node.detector.labels() == {"ball": 1}


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                  "(scripts/bootstrap.sh installs it)")
def test_a_form_on_another_port_cannot_undo_what_the_robot_was_taught(
        harness_factory: Any) -> None:
    """The QA pass's attack on the node's page, in Chromium: a foreign page posts a form."""
    import http.server
    import threading

    sync_api = pytest.importorskip("playwright.sync_api")
    harness = harness_factory({"web_port": free_port()})
    web = harness.node._web
    harness.client.send(synthetic_frame(0), 0)
    view = web.session.freeze()
    web.session.save(view["index"], "ball", instance=view["instances"][0]["id"])
    taught = harness.node.detector.labels()
    target = web.url
    page_html = (f'<form id="f" method="post" action="{target}api/undo"></form>'
                 '<script>document.getElementById("f").submit()</script>').encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page_html)))
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, *args: Any) -> None:
            pass

    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page()
                with page.expect_navigation(url=f"{target}api/undo"):
                    page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
                assert "this server's own page" in page.content()
            finally:
                browser.close()
    finally:
        evil.shutdown()
    assert harness.node.detector.labels() == taught == {"ball": 1}
