# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Take docs/img/annotate.png and annotate_brush.png: the annotation UI in chromium.

Pictures: photographic fruit stamps of Debian's ``tuxpaint-stamps-default`` on a plain table
texture; detector: the offline default (objectness segmenter, EfficientNet-Lite0, memory store).
The first shot: three fruits taught, the next picture's objects filled in their labels' colours,
the apple selected with its suggestions. The second: zoomed in on the pear, its mask being
fixed with the brush (the stroke not saved yet).

Example:
    .venv/bin/python scripts/annotate_screenshot.py docs/img/annotate.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAMPS = Path("/usr/share/tuxpaint/stamps/food/fruit")
# picture -> (stamp, centre x, centre y, size)
LAYOUT = [
    [("apple_red", 170, 200, 170), ("lemon", 450, 160, 200), ("pear", 420, 360, 150)],
    [("pear", 160, 330, 150), ("apple_red", 470, 250, 160), ("lemon", 200, 130, 190)],
]


def table(height: int, width: int, seed: int) -> np.ndarray:
    """Return a light, slightly grainy table top (RGB)."""
    rng = np.random.default_rng(seed)
    grain = cv2.resize(rng.normal(0, 1, (height // 8, width // 8)).astype(np.float32),
                       (width, height))
    light = 200 + 6 * grain + rng.normal(0, 2, (height, width))
    return np.clip(np.stack([light, light * 0.96, light * 0.9], axis=2), 0, 255).astype(np.uint8)


def paste(image: np.ndarray, stamp: str, cx: int, cy: int, size: int) -> None:
    """Alpha-blend a stamp, scaled to ``size`` pixels on its longer side, centred at cx, cy."""
    rgba = cv2.imread(str(STAMPS / f"{stamp}.png"), cv2.IMREAD_UNCHANGED)
    scale = size / max(rgba.shape[:2])
    rgba = cv2.resize(rgba, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = rgba.shape[:2]
    x0, y0 = cx - w // 2, cy - h // 2
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255
    region = image[y0:y0 + h, x0:x0 + w].astype(np.float32)
    image[y0:y0 + h, x0:x0 + w] = (alpha * rgba[:, :, 2::-1] + (1 - alpha) * region).astype(
        np.uint8)


def main(out: str) -> int:
    """Write the pictures, teach in the browser, save the screenshots (``out`` and ``*_brush``)."""
    brush_out = str(Path(out).with_name(Path(out).stem + "_brush.png"))
    from playwright.sync_api import expect, sync_playwright

    from sam_detect import AnnotationUI, SAMDetect

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for index, objects in enumerate(LAYOUT):
            image = table(480, 640, index)
            for stamp, cx, cy, size in objects:
                paste(image, stamp, cx, cy, size)
            cv2.imwrite(str(folder / f"table{index + 1}.jpg"), image[:, :, ::-1])
        with SAMDetect() as detector:
            server = AnnotationUI(detector).serve(image_directory=folder, port=0)
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                         args=["--no-sandbox", "--disable-gpu"])
                    page = browser.new_page(viewport={"width": 1400, "height": 860})
                    page.goto(server.url)
                    expect(page.get_by_role("status")).to_contain_text("objects found")
                    picture = page.get_by_role("img", name="image")

                    def click(x: int, y: int) -> None:
                        box = picture.bounding_box()
                        page.mouse.click(box["x"] + x * box["width"] / 640,
                                         box["y"] + y * box["height"] / 480)

                    for stamp, cx, cy, _ in LAYOUT[0]:
                        click(cx, cy)
                        page.get_by_role("textbox", name="Label").fill(stamp.split("_")[0])
                        page.get_by_role("button", name="Save example").click()
                        expect(page.get_by_role("status")).to_contain_text("Saved")
                    page.get_by_role("button", name="Next image").click()
                    expect(page.get_by_text("2 / 2")).to_be_visible()
                    stamp, cx, cy, _ = LAYOUT[1][1]
                    click(cx, cy)
                    expect(page.get_by_role("button", name="apple", exact=True)).to_be_visible()
                    page.get_by_role("button", name="apple (1)").click()
                    page.wait_for_timeout(300)
                    page.screenshot(path=out)
                    # Zoom in on the pear (the wheel, at the pointer) and paint with the brush.
                    stamp, cx, cy, _ = LAYOUT[1][0]
                    click(cx, cy)
                    box = picture.bounding_box()
                    page.mouse.move(box["x"] + cx * box["width"] / 640,
                                    box["y"] + cy * box["height"] / 480)
                    page.mouse.wheel(0, -700)
                    page.wait_for_timeout(200)
                    page.get_by_role("button", name="Brush", exact=True).click()
                    page.get_by_role("slider", name="Brush size").fill("14")
                    box = picture.bounding_box()

                    def at(x: float, y: float) -> tuple[float, float]:
                        return (box["x"] + x * box["width"] / 640,
                                box["y"] + y * box["height"] / 480)

                    # The pear's stalk, which the segmenter left out: painted in, top down.
                    page.mouse.move(*at(cx + 3, cy - 88))
                    page.mouse.down()
                    for step in range(1, 9):
                        page.mouse.move(*at(cx + 3 - step * 0.6, cy - 88 + step * 4), steps=2)
                    page.mouse.up()
                    page.mouse.move(*at(cx + 30, cy - 80))
                    page.wait_for_timeout(200)
                    page.screenshot(path=brush_out)
                    browser.close()
            finally:
                server.stop()
    # README pictures, not photos: fewer colours and pixels keep the repository small.
    from PIL import Image

    for path in (out, brush_out):
        shot = Image.open(path).convert("RGB").resize((1120, 688), Image.LANCZOS)
        shot.quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                      dither=Image.Dither.NONE).save(path, optimize=True)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/img/annotate.png"))
