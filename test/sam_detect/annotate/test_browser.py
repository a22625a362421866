# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A person in a real browser (Debian's chromium, driven by Playwright) teaches a folder."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (scripts/bootstrap.sh installs it)")


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for the module."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def server(photos, detector):
    """Serve the folder app on a free port; return its URL."""
    from sam_detect import AnnotationUI

    folder, _ = photos
    running = AnnotationUI(detector).serve(image_directory=folder, port=0)
    yield running
    running.stop()


def click_at(page, image_xy, width=320, height=240):
    """Click the picture (role img, name "image") at a pixel of the image."""
    picture = page.get_by_role("img", name="image")
    box = picture.bounding_box()
    x = box["x"] + (image_xy[0] + 0.5) * box["width"] / width
    y = box["y"] + (image_xy[1] + 0.5) * box["height"] / height
    page.mouse.click(x, y)


def centre(mask: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(mask)
    return int(np.median(xs)), int(np.median(ys))


def test_a_person_names_an_object_and_sees_it_suggested_on_the_next_picture(
        page, server, photos, detector):
    _, masks = photos
    page.goto(server.url)
    expect = sync_api.expect
    expect(page.get_by_role("status")).to_contain_text("objects found")
    expect(page.get_by_text("1 / 3: a.png")).to_be_visible()

    click_at(page, centre(masks["a.png"]["red_disc"]))
    expect(page.get_by_text("No suggestion yet")).to_be_visible()
    page.get_by_role("textbox", name="Label").fill("mug")
    page.get_by_role("button", name="Save example").click()
    expect(page.get_by_role("list", name="Labels").get_by_role("listitem")).to_have_text(
        ["mug (1)"])
    assert detector.labels() == {"mug": 1}
    expect(page.get_by_role("status")).to_contain_text('Saved "mug"')
    expect(page.get_by_label("Timings")).to_contain_text(re.compile(r"save→refreshed \d+ ms"))

    page.get_by_role("button", name="Next image").click()
    expect(page.get_by_text("2 / 3: b.png")).to_be_visible()
    click_at(page, centre(masks["b.png"]["red_disc"]))
    suggestion = page.get_by_role("button", name="mug", exact=True)
    expect(suggestion).to_be_visible()
    suggestion.click()  # accepting the suggestion teaches a second example
    expect(page.get_by_role("listitem")).to_have_text(["mug (2)"])
    assert detector.labels() == {"mug": 2}

    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("listitem")).to_have_text(["mug (1)"])
    assert detector.labels() == {"mug": 1}

    page.get_by_role("button", name="Previous image").click()
    expect(page.get_by_text("1 / 3: a.png")).to_be_visible()


def test_keys_points_and_the_gallery(page, server, photos, detector):
    _, masks = photos
    page.goto(server.url)
    expect = sync_api.expect
    expect(page.get_by_role("status")).to_contain_text("objects found")
    picture = page.get_by_role("img", name="image")

    # A drag draws a box: GrabCut makes candidate masks, Tab cycles them, Enter saves.
    box = picture.bounding_box()
    scale = box["width"] / 320
    x0, y0, x1, y1 = 40, 50, 122, 132  # around the red disc (centre 80, 90; radius 32)
    page.mouse.move(box["x"] + x0 * scale, box["y"] + y0 * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + x1 * scale, box["y"] + y1 * scale, steps=5)
    page.mouse.up()
    expect(page.get_by_role("status")).to_contain_text("A mask from grabcut")
    page.keyboard.press("Tab")
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Candidate mask 1 of 1"))
    page.get_by_role("textbox", name="Label").fill("disc")
    page.get_by_role("textbox", name="Label").press("Enter")
    expect(page.get_by_role("listitem")).to_have_text(["disc (1)"])
    stored = detector.vector_store.list_examples()[0].payload["bbox"]
    assert 40 <= stored[0] <= 52 and 112 <= stored[2] <= 122, stored
    page.keyboard.press("z")
    expect(page.get_by_role("listitem")).to_have_count(0)
    # Shift-click adds a negative point; alone it is refused with a clear message.
    page.keyboard.down("Shift")
    click_at(page, (10, 230))
    page.keyboard.up("Shift")
    expect(page.get_by_role("status")).to_contain_text("at least one positive point")
    page.keyboard.press("Escape")

    click_at(page, centre(masks["a.png"]["blue_square"]))
    picture.focus()
    page.get_by_role("textbox", name="Label").fill("box")
    page.get_by_role("textbox", name="Label").press("Enter")
    expect(page.get_by_role("listitem")).to_have_text(["box (1)"])

    picture.focus()
    page.keyboard.press("d")
    expect(page.get_by_text("2 / 3: b.png")).to_be_visible()
    page.keyboard.press("a")
    expect(page.get_by_text("1 / 3: a.png")).to_be_visible()
    click_at(page, centre(masks["a.png"]["blue_square"]))
    expect(page.get_by_role("button", name="box", exact=True)).to_be_visible()
    page.keyboard.press("1")
    expect(page.get_by_role("listitem")).to_have_text(["box (2)"])
    page.keyboard.press("z")
    expect(page.get_by_role("listitem")).to_have_text(["box (1)"])

    # The explain panel shows the example that voted; the gallery can relabel and delete it.
    click_at(page, centre(masks["a.png"]["blue_square"]))
    voter = page.get_by_role("button", name=re.compile(r"^example \d+: box 1\.00$"))
    expect(voter).to_be_visible()
    page.get_by_role("button", name="box (1)").click()
    page.get_by_role("button", name=re.compile(r"^example \d+: box$")).click()
    page.get_by_role("textbox", name="New label").fill("crate")
    page.get_by_role("button", name="Relabel").click()
    expect(page.get_by_role("listitem")).to_have_text(["crate (1)"])
    assert detector.labels() == {"crate": 1}
    page.get_by_role("button", name=re.compile(r"^example \d+: crate$")).click()
    page.get_by_role("button", name="Delete example").click()
    expect(page.get_by_role("listitem")).to_have_count(0)
    assert detector.labels() == {}


def test_saving_right_after_a_click_stores_the_new_mask_not_the_old_selection(
        page, server, photos, detector):
    """A quick person types and saves while the clicked mask is still on its way."""
    _, masks = photos
    page.goto(server.url)
    sync_api.expect(page.get_by_role("status")).to_contain_text("objects found")
    click_at(page, centre(masks["a.png"]["red_disc"]))  # selects the disc (no request)
    click_at(page, (300, 20))  # ground: a point prompt, answered by the server
    page.get_by_role("textbox", name="Label").fill("ground")
    page.get_by_role("button", name="Save example").click()
    sync_api.expect(page.get_by_role("listitem")).to_have_text(["ground (1)"])
    (example,) = detector.vector_store.list_examples()
    x0, y0, x1, y1 = example.payload["bbox"]
    assert x0 <= 300 < x1 and y0 <= 20 < y1, example.payload["bbox"]


def test_label_all_similar_and_the_hard_example_queue(page, server, photos, detector):
    _, masks = photos
    server_session = server.server.config.app.state.session
    server_session.similar_threshold = 0.8
    page.goto(server.url)
    expect = sync_api.expect
    expect(page.get_by_role("status")).to_contain_text("objects found")
    page.get_by_role("button", name="Show hard examples").click()
    hard = page.get_by_role("list", name="Hard examples").get_by_role("button")
    expect(hard.first).to_be_visible()
    hard.first.click()  # opens its picture with that object selected
    expect(page.get_by_role("group", name="Suggestions")).to_contain_text("No suggestion yet")

    click_at(page, centre(masks["a.png"]["red_disc"]))
    page.get_by_role("textbox", name="Label").fill("mug")
    page.get_by_role("button", name="Save example").click()
    expect(page.get_by_role("listitem").filter(has_text="mug")).to_have_text(["mug (1)"])
    page.get_by_role("button", name="Next image").click()  # encodes b.png (and c.png behind)
    expect(page.get_by_text("2 / 3: b.png")).to_be_visible()
    page.get_by_role("button", name="Previous image").click()
    expect(page.get_by_text("1 / 3: a.png")).to_be_visible()
    click_at(page, centre(masks["a.png"]["red_disc"]))
    page.get_by_role("button", name="mug", exact=True).click()  # a second save, same object
    expect(page.get_by_role("status")).to_contain_text('Saved "mug"')
    page.get_by_role("button", name="Label all similar").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Labelled [1-9]\d* similar"))
    assert detector.labels()["mug"] >= 3
    page.get_by_role("button", name="Show hard examples").click()
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"Hard examples among the [23] of 3 pictures"))
    saved = {e.payload["source"] for e in detector.vector_store.list_examples()
             if e.label != "__background__"}
    assert "a.png" in saved and len(saved) >= 2


@pytest.fixture
def other_site():
    """Serve one HTML page (set ``other_site.html``) on another port of this machine."""
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        html = ""

        def do_GET(self):  # noqa: N802 - the http.server name
            body = Page.html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    site.page = Page
    site.url = f"http://127.0.0.1:{site.server_address[1]}/"
    yield site
    site.shutdown()
    thread.join(timeout=10)


def test_a_form_on_another_port_cannot_change_the_store(page, server, other_site, detector,
                                                        photos):
    """The QA pass's attack: a page on another port posts a form (and no-cors fetches) at us."""
    session = server.server.config.app.state.session
    view = session.view(0)
    for inst in view["instances"]:
        session.save(0, "mug", instance=inst["id"])
    before = detector.vector_store.count()
    assert detector.labels() == {"mug": len(view["instances"])}
    target = server.url
    other_site.page.html = f"""<!doctype html><title>cats</title>
<form id="undo" method="post" action="{target}api/undo"></form>
<script>
  const hits = ["api/undo", "api/undo", "api/examples/1/relabel"].map((path) =>
    fetch("{target}" + path, {{method: "POST", mode: "no-cors", body: '{{"label": "pwned"}}',
                               headers: {{"Content-Type": "text/plain"}}}}).catch(() => null));
  Promise.all(hits).then(() => document.getElementById("undo").submit());
</script>"""
    with page.expect_navigation(url=f"{target}api/undo"):
        page.goto(other_site.url)
    assert "this server's own page" in page.content()
    assert detector.vector_store.count() == before
    assert detector.labels() == {"mug": len(view["instances"])}
    # The page itself still changes things (its requests carry X-Requested-With).
    page.goto(target)
    sync_api.expect(page.get_by_role("status")).to_contain_text("objects found")
    page.get_by_role("button", name="Undo").click()
    sync_api.expect(page.get_by_role("list", name="Labels").get_by_role("listitem")).to_have_text(
        [f"mug ({len(view['instances']) - 1})"])
