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


# -- what the page shows before any click, and the tools to fix a mask ---------------------------

PIXEL_JS = """([x, y]) => {
  const scratch = document.createElement("canvas");
  scratch.width = state.photo.width; scratch.height = state.photo.height;
  const photo = scratch.getContext("2d");
  photo.drawImage(state.photo, 0, 0);
  return {shown: Array.from(canvas.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3)),
          photo: Array.from(photo.getImageData(x, y, 1, 1).data.slice(0, 3))};
}"""


def pixel(page, xy):
    """Return ``(shown, photo, colour distance)`` of one picture pixel on the page's canvas."""
    found = page.evaluate(PIXEL_JS, list(xy))
    shown, photo = np.array(found["shown"], float), np.array(found["photo"], float)
    return shown, photo, float(np.linalg.norm(shown - photo))


def instance_at(page, xy):
    """Return the page's instance (as the server sent it) whose mask holds image pixel ``xy``."""
    return page.evaluate("""([x, y]) => {
      const k = hitsAt(x, y)[0];
      return k === undefined ? null : state.view.instances[k];
    }""", list(xy))


def test_every_found_object_is_filled_and_lights_up_under_the_pointer(page, server, photos):
    _, masks = photos
    page.goto(server.url)
    sync_api.expect(page.get_by_role("status")).to_contain_text("objects found")
    for name in ("red_disc", "blue_square"):
        xy = centre(masks["a.png"][name])
        inst = instance_at(page, xy)
        assert inst is not None, name
        colour = np.array([int(inst["colour"][i:i + 2], 16) for i in (1, 3, 5)], float)
        shown, photo, change = pixel(page, xy)
        # Filled before any click: visibly tinted towards the label's colour (server's palette).
        assert change > 25, (name, shown, photo)
        assert np.linalg.norm(shown - colour) < np.linalg.norm(photo - colour), name
    disc = centre(masks["a.png"]["red_disc"])
    _, _, before = pixel(page, disc)
    picture = page.get_by_role("img", name="image")
    box = picture.bounding_box()
    page.mouse.move(box["x"] + (disc[0] + 0.5) * box["width"] / 320,
                    box["y"] + (disc[1] + 0.5) * box["height"] / 240)
    sync_api.expect(page.get_by_label("Under the pointer")).to_contain_text("click to select")
    _, _, hovered = pixel(page, disc)
    assert hovered > before + 15  # the object under the pointer is highlighted
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    sync_api.expect(page.get_by_label("Under the pointer")).to_have_text("")
    assert pixel(page, disc)[2] == pytest.approx(before, abs=1)
    # The suggestions are still empty: nothing was selected by pointing.
    assert page.get_by_role("group", name="Suggestions").inner_text() == ""


def test_the_picture_and_the_selection_survive_a_reload(page, server, photos):
    _, masks = photos
    page.goto(server.url)
    expect = sync_api.expect
    expect(page.get_by_role("status")).to_contain_text("objects found")
    click_at(page, centre(masks["a.png"]["red_disc"]))
    page.get_by_role("textbox", name="Label").fill("mug")
    page.get_by_role("button", name="Save example").click()
    expect(page.get_by_role("status")).to_contain_text('Saved "mug"')
    page.get_by_role("button", name="Next image").click()
    expect(page.get_by_text("2 / 3: b.png")).to_be_visible()
    click_at(page, centre(masks["b.png"]["red_disc"]))
    expect(page.get_by_role("button", name="mug", exact=True)).to_be_visible()
    assert re.search(r"image=2&instance=\d+", page.url), page.url

    page.reload()
    expect(page.get_by_text("2 / 3: b.png")).to_be_visible()
    expect(page.get_by_role("button", name="mug", exact=True)).to_be_visible()  # still selected
    selected = page.evaluate("state.selection")
    assert selected["kind"] == "instance"
    assert instance_at(page, centre(masks["b.png"]["red_disc"]))["id"] == selected["id"]

    # A clicked (prompted) mask survives a reload too, while the server keeps it.
    click_at(page, (300, 20))
    expect(page.get_by_role("status")).to_contain_text("A mask from grabcut")
    assert "prompt=" in page.url
    page.reload()
    expect(page.get_by_text("2 / 3: b.png")).to_be_visible()
    page.wait_for_function("state.selection && state.selection.kind === 'prompt'")

    # An address typed by hand opens that picture.
    page.goto(server.url.rstrip("/") + "/#image=3")
    expect(page.get_by_text("3 / 3: sub/c.png")).to_be_visible()


def drag(page, points, width=320, height=240, button="left"):
    """Press at the first image pixel, move through the others, release."""
    box = page.get_by_role("img", name="image").bounding_box()

    def screen(xy):
        return (box["x"] + (xy[0] + 0.5) * box["width"] / width,
                box["y"] + (xy[1] + 0.5) * box["height"] / height)

    page.mouse.move(*screen(points[0]))
    page.mouse.down(button=button)
    for xy in points[1:]:
        page.mouse.move(*screen(xy), steps=4)
    page.mouse.up(button=button)


def test_the_brush_adds_and_the_eraser_removes_pixels_before_saving(
        page, server, photos, detector):
    from sam_detect.results import decode_rle

    _, masks = photos
    disc = masks["a.png"]["red_disc"]  # centre (80, 90), radius 32
    page.goto(server.url)
    expect = sync_api.expect
    expect(page.get_by_role("status")).to_contain_text("objects found")
    click_at(page, centre(disc))
    brush, eraser = (page.get_by_role("button", name="Brush", exact=True),
                     page.get_by_role("button", name="Eraser", exact=True))
    size = page.get_by_role("slider", name="Brush size")
    # Keyboard shortcuts pick the tools and change the size.
    page.get_by_role("img", name="image").focus()
    page.keyboard.press("b")
    expect(brush).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("e")
    expect(eraser).to_have_attribute("aria-pressed", "true")
    expect(brush).to_have_attribute("aria-pressed", "false")
    before = int(size.input_value())
    page.keyboard.press("]")
    assert int(size.input_value()) > before

    # Brush: a stroke that joins a handle to the disc (pixels it never had).
    brush.click()
    size.fill("8")
    drag(page, [(112, 90), (140, 90), (160, 90)])
    # Eraser: a bite out of the disc's middle.
    eraser.click()
    size.fill("16")
    drag(page, [(80, 80), (80, 100)])
    page.get_by_role("textbox", name="Label").fill("pan")
    page.get_by_role("button", name="Save example").click()
    expect(page.get_by_role("list", name="Labels").get_by_role("listitem")).to_have_text(
        ["pan (1)"])
    (example,) = [e for e in detector.vector_store.list_examples() if e.label == "pan"]
    stored = decode_rle(example.payload["rle"])
    assert example.payload.get("edited") is True
    assert stored[90, 150] and stored[90, 158]            # painted
    assert not stored[90, 80] and not disc[90, 150]       # erased / never in the disc
    assert stored[70, 80] and stored[110, 80]             # the rest of the disc is kept
    ys, xs = np.mgrid[:240, :320]
    bite = (np.abs(xs - 80) <= 9) & (ys >= 71) & (ys <= 109)  # the eraser's path, a bit wider
    kept = disc & ~bite
    assert (stored & kept).sum() > 0.9 * kept.sum()


def test_the_wheel_zooms_at_the_pointer_and_a_drag_pans(page, server, photos):
    _, masks = photos
    page.goto(server.url)
    expect = sync_api.expect
    expect(page.get_by_role("status")).to_contain_text("objects found")
    picture = page.get_by_role("img", name="image")
    fit = picture.bounding_box()
    square = centre(masks["a.png"]["blue_square"])
    sx = fit["x"] + (square[0] + 0.5) * fit["width"] / 320
    sy = fit["y"] + (square[1] + 0.5) * fit["height"] / 240
    page.mouse.move(sx, sy)
    page.mouse.wheel(0, -600)
    page.wait_for_function("state.zoom.scale > 1.5")
    zoomed = picture.bounding_box()
    assert zoomed["width"] > 1.5 * fit["width"]
    # The picture point under the pointer stayed under it.
    ix = (sx - zoomed["x"]) * 320 / zoomed["width"]
    iy = (sy - zoomed["y"]) * 240 / zoomed["height"]
    assert abs(ix - square[0]) < 2 and abs(iy - square[1]) < 2
    expect(page.locator("#zoom")).not_to_have_text("100%")
    # Zoomed in, a click still selects the object under it.
    page.mouse.click(sx, sy)
    expect(page.get_by_label("Under the pointer")).to_contain_text("click to select")
    assert page.evaluate("state.selection.kind") == "instance"

    # Pan: drag with the Pan tool (or Space, or the middle button) moves the picture.
    page.get_by_role("button", name="Pan").click()
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move(sx + 80, sy + 40, steps=4)
    page.mouse.up()
    moved = picture.bounding_box()
    assert moved["x"] > zoomed["x"] + 40 or moved["x"] >= fit["x"]  # pans, within the picture
    assert page.evaluate("state.selection.kind") == "instance"  # a pan selects nothing
    page.keyboard.press("v")
    page.get_by_role("button", name="Zoom in").click()
    assert picture.bounding_box()["width"] > moved["width"]
    page.get_by_role("button", name="Fit").click()
    assert picture.bounding_box()["width"] == pytest.approx(fit["width"], abs=1)


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
