# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Latency of the annotation UI's HTTP API, as a person's clicks drive it.

A folder of synthetic 640x480 scenes (the node demo's three objects on a gravel floor, moving
from frame to frame) is served by ``AnnotationUI`` on a real uvicorn server in this process, and
an HTTP client does what the page does:

* ``view``: open a picture (first time: encoded; later: from the content-hash cache);
* ``click->mask``: a click where the page has no mask is a point prompt: the server runs the
  prompted masker (GrabCut, or SAM2 with ``--segmenter sam2``) for the best candidate, embeds it
  and answers its PNG mask with suggestions (the other candidates are made in the background and
  fetched, untimed, before the next click, as a person looks at the mask first). A click on a
  mask the page already shows needs no request at all;
* ``save->refreshed``: store the selected instance and get the picture's refreshed suggestions.
* ``save edited``: the same with a mask fixed by the brush (sent as uncompressed COCO RLE, as
  the page sends it): the server decodes it, embeds it afresh and teaches it.

Medians over ``--images`` pictures. The baseline, measured in the same run, is one full
``detector.detect`` of a picture: what a click would cost if nothing were cached. Targets on a
2-core machine with the offline default (classical segmenter + EfficientNet-Lite0): click->mask
<= 300 ms, save->refreshed <= 1 s.

Example:
    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_annotate.py --images 8
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def brushed(instance: dict, rows: int, cols: int) -> dict:
    """Return an instance's mask with a brush stroke added, as the page sends it (column RLE)."""
    import base64

    import numpy as np

    crop = cv2.imdecode(np.frombuffer(base64.b64decode(instance["png"]), np.uint8),
                        cv2.IMREAD_GRAYSCALE) > 127
    x0, y0, x1, y1 = instance["bbox"]
    mask = np.zeros((rows, cols), np.uint8)
    mask[y0:y1, x0:x1] = crop
    cv2.line(mask, (x0, y0), (min(cols - 1, x1 + 20), y0), 1, 9)
    flat = mask.T.reshape(-1).astype(np.int8)
    changes = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]]))
    return {"size": [rows, cols], "counts": np.diff(np.r_[0, changes]).tolist()}


def main() -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--segmenter", default="naive")
    parser.add_argument("--embedder", default="auto")
    parser.add_argument("--store", default="edge", choices=("edge", "memory"))
    args = parser.parse_args()

    import httpx

    from sam_detect import AnnotationUI, SAMDetect
    from sam_detect.vector_store import EdgeVectorStore, MemoryVectorStore
    from sam_detect_ros.demo import SCENE, object_centre, synthetic_frame

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for index in range(args.images):
            frame = synthetic_frame(index, size=(480, 640))
            cv2.imwrite(str(folder / f"frame{index:03d}.png"), frame[:, :, ::-1])
        store = (EdgeVectorStore(Path(tmp) / "store") if args.store == "edge"
                 else MemoryVectorStore())
        detector = SAMDetect(segmenter=args.segmenter, embedder=args.embedder,
                             vector_store=store)
        print(f"segmenter {args.segmenter}, embedder {detector.embedder.name}, "
              f"store {args.store}, {args.images} pictures of 640x480")
        baseline = []
        for index in range(min(3, args.images)):
            image = synthetic_frame(index, size=(480, 640))
            start = time.perf_counter()
            detector.detect(image)
            baseline.append(time.perf_counter() - start)
        server = AnnotationUI(detector, prefetch=0).serve(image_directory=folder, port=0)
        timings: dict[str, list[float]] = {"view (first)": [], "view (cached)": [],
                                           "click->mask": [], "save->refreshed": [],
                                           "save edited": []}
        try:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                def timed(name: str, method: str, path: str, **kw: object) -> dict:
                    start = time.perf_counter()
                    response = http.request(method, path, **kw)
                    timings[name].append(time.perf_counter() - start)
                    response.raise_for_status()
                    return response.json()

                for index in range(args.images):
                    view = timed("view (first)", "GET", f"api/images/{index}")
                    timed("view (cached)", "GET", f"api/images/{index}")
                    for obj in SCENE:
                        x, y = object_centre(obj, index)
                        result = timed("click->mask", "POST", f"api/images/{index}/prompt",
                                       json={"points": [[x, y]]})
                        # A person looks at the mask before the next click: let the other
                        # candidates finish (untimed), as they do in the background.
                        http.get(f"api/prompts/{result['prompt']}").raise_for_status()
                    for inst in view["instances"][:2]:
                        timed("save->refreshed", "POST", f"api/images/{index}/save",
                              json={"label": f"object{inst['id']}", "instance": inst["id"]})
                    if view["instances"]:
                        inst = view["instances"][0]
                        timed("save edited", "POST", f"api/images/{index}/save",
                              json={"label": "edited", "instance": inst["id"],
                                    "mask": brushed(inst, view["height"], view["width"])})
        finally:
            server.stop()
            detector.close()
    base = statistics.median(baseline) * 1e3
    print(f"{'action':18s} {'median ms':>10s} {'p90 ms':>8s} {'n':>4s} {'x detect':>9s}")
    for name, values in timings.items():
        ms = sorted(v * 1e3 for v in values)
        p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
        print(f"{name:18s} {statistics.median(ms):10.1f} {p90:8.1f} {len(ms):4d} "
              f"{statistics.median(ms) / base:9.2f}")
    print(f"{'baseline detect':18s} {base:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
