# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The README's demo: teach objects from a few photos, then find them in new scenes.

``python -m sam_detect.demo [--out out/core_demo] [--images 6] [--shots 5]`` runs the core on
its embedded defaults (classical segmenter, best offline embedder, hard-crop fade, Qdrant Edge
store on disk) with real photographs: the photographic stamps of Debian's
``tuxpaint-stamps-default``.

1. Builds a few scenes with ``sam-detect make-benchmark`` (stamps pasted on real textures, with
   exact ground-truth masks).
2. Teaches every category in the scenes from ``--shots`` *other* photos of that category (their
   alpha channel is the mask), as ``sam-detect PHOTO --label CATEGORY`` would.
3. Detects every scene, writes overlays to ``OUT/overlays/`` and scores them against the ground
   truth: objects found (IoU >= 0.5) and labelled right.
4. Teaches ``--objects`` single objects of the scenes, each from ONE picture (its cut-out photo,
   as a user shows "this duck" to the robot), into a second, empty store, detects the scenes
   again and says what happened: each taught object found and named, and every object nobody
   taught left unknown, given a taught label (which one), or not found.

The last line stays the category-level summary (objects found, labelled right).

Exits 0 unless fewer than a quarter of the objects are labelled right (chance is about a tenth;
with the weight-free ``average`` embedder, which is near chance here, fewer than 5 %), which would
mean something is broken.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import cv2

PASS_MARK = 0.25
AVERAGE_PASS_MARK = 0.05
MARKER = ".sam_detect_demo"


def run_demo(out: Path, images: int, shots: int, seed: int, embedder: str,
             min_per_class: int = 10, objects: int = 3) -> tuple[float, str]:
    """Run the demo; return the fraction of objects found and labelled right, and the embedder.

    Raises:
        SamDetectError: for bad arguments, missing photos, or an ``out`` folder that holds
            something other than an earlier demo run.
    """
    from sam_detect import SAMDetect
    from sam_detect.evaluation.benchmark import find_photo_stamps, make_benchmark
    from sam_detect.evaluation.coco import CocoDataset
    from sam_detect.evaluation.metrics import greedy_match, iou_matrix
    from sam_detect.vector_store import EdgeVectorStore

    from sam_detect.errors import SamDetectError

    if shots < 1 or images < 1 or objects < 0:
        raise SamDetectError("--images and --shots must be at least 1, --objects at least 0")
    if out.exists():
        # A repeatable demo starts from fresh scenes and an empty store, but never deletes a
        # folder it did not make.
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise SamDetectError(f"{out} is not empty and not an earlier demo run; "
                                 "choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("made by python -m sam_detect.demo; deleted by its next run\n")
    print(f"1. Building {images} scenes of real photographed objects in {out / 'scenes'} ...")
    make_benchmark(out / "scenes", images=images, seed=seed, min_per_class=min_per_class)
    dataset = CocoDataset(out / "scenes" / "annotations.json")
    truth = dataset.instances()
    in_scenes = {gt.source for gt in truth}
    categories = sorted({gt.category for gt in truth})

    teach_with: dict[str, list] = defaultdict(list)
    for stamp in find_photo_stamps(min_per_class=min_per_class):
        if stamp.category in categories and stamp.source not in in_scenes:
            teach_with[stamp.category].append(stamp)
    short = [c for c in categories if len(teach_with[c]) < shots]
    if short:
        print(f"   note: {', '.join(short)} have fewer than {shots} photos left to teach from "
              "(the scenes use the rest); use fewer --images")
    store = EdgeVectorStore(out / "store")
    with SAMDetect(embedder=embedder, vector_store=store) as detector:
        print(f"2. Teaching {len(categories)} categories, {shots} photos each, with "
              f"{detector.embedder.name} into {out / 'store'} ...")
        for category in categories:
            for stamp in teach_with[category][:shots]:
                detector.add_examples_from_file(str(stamp.path), category)
        example = next((c for c in categories if teach_with[c]), None)
        if example is not None:
            print(f"   e.g. sam-detect {teach_with[example][0].path} --label {example}")
        embedder_name = detector.embedder.name

        print("3. Detecting ...")
        overlays = out / "overlays"
        overlays.mkdir(parents=True)
        found = correct = 0
        for image_id in dataset.image_ids:
            path = dataset.image_path(image_id)
            image = dataset.load_image(image_id)
            detections = detector.detect(image)
            gts = [gt for gt in truth if gt.image_id == image_id]
            masks = [dataset.mask(gt.id) for gt in gts]
            pairs = greedy_match(iou_matrix([inst.mask for inst in detections], masks))
            hits = sum(detections[p].label == gts[g].category for p, g, _ in pairs)
            found, correct = found + len(pairs), correct + hits
            cv2.imwrite(str(overlays / f"{path.stem}.png"),
                        cv2.cvtColor(detector.visualize(image, detections), cv2.COLOR_RGB2BGR))
            named = ", ".join(f"{inst.label or '?'} {inst.confidence:.2f}" for inst in detections)
            print(f"   {path.name}: {len(gts)} objects, {len(pairs)} found, {hits} labelled "
                  f"right, {detections.timings_ms['total']:.0f} ms  [{named}]")
    if objects:
        teach_single_objects(out, dataset, truth, objects, embedder, min_per_class)
    score = correct / max(len(truth), 1)
    print(f"\n{len(truth)} objects in {images} scenes: {found} found by the segmenter, "
          f"{correct} labelled right ({score:.0%}). Overlays: {overlays}/")
    return score, embedder_name


def _object_name(source: str) -> str:
    """Return how a user would name one photographed object: ``this duck``."""
    return "this " + Path(source).stem.replace("_", " ").replace("-", " ")


def teach_single_objects(out: Path, dataset: Any, truth: list[Any], count: int, embedder: str,
                         min_per_class: int) -> dict[str, Any]:
    """Teach ``count`` objects of the scenes from ONE picture each; report every object's fate.

    The objects taught are the scene objects seen most often (one per category, so "another
    bird" stays untaught), each taught from its own cut-out photo (its alpha is the mask) into an
    empty store. Returns ``taught`` (label -> [seen, named right]) and ``untaught`` counts
    (``unknown``, ``mislabelled`` with the labels taken, ``missed`` by the segmenter).
    """
    from sam_detect import SAMDetect
    from sam_detect.evaluation.benchmark import find_photo_stamps
    from sam_detect.evaluation.metrics import greedy_match, iou_matrix
    from sam_detect.vector_store import EdgeVectorStore

    seen: dict[str, int] = defaultdict(int)
    category_of: dict[str, str] = {}
    for gt in truth:
        seen[gt.source] += 1
        category_of[gt.source] = gt.category
    chosen: list[str] = []
    for source in sorted(seen, key=lambda s: (-seen[s], s)):
        if len(chosen) < count and category_of[source] not in {category_of[c] for c in chosen}:
            chosen.append(source)
    paths = {s.source: s.path for s in find_photo_stamps(min_per_class=min_per_class)}
    names: dict[str, str] = {}
    for source in chosen:  # two photos of one name ("001penny") are two objects
        name = _object_name(source)
        names[source] = (f"{name} ({Path(source).parent.name})" if name in names.values()
                         else name)
    store = EdgeVectorStore(out / "store_objects")
    taught: dict[str, list[int]] = {names[s]: [0, 0] for s in chosen}
    fate: dict[str, Any] = {"unknown": 0, "mislabelled": [], "missed": 0}
    with SAMDetect(embedder=embedder, vector_store=store) as detector:
        print(f"4. Teaching {len(chosen)} single objects, ONE picture each, into "
              f"{out / 'store_objects'} (an empty store) ...")
        for source in chosen:
            detector.add_examples_from_file(str(paths[source]), names[source])
            print(f"   sam-detect {paths[source]} --label '{names[source]}'")
        for image_id in dataset.image_ids:
            detections = detector.detect(dataset.load_image(image_id))
            gts = [gt for gt in truth if gt.image_id == image_id]
            pairs = greedy_match(iou_matrix([inst.mask for inst in detections],
                                            [dataset.mask(gt.id) for gt in gts]))
            label_of = {g: detections[p] for p, g, _ in pairs}
            for index, gt in enumerate(gts):
                found = label_of.get(index)
                if gt.source in names:
                    taught[names[gt.source]][0] += 1
                    taught[names[gt.source]][1] += int(
                        found is not None and found.label == names[gt.source])
                elif found is None:
                    fate["missed"] += 1
                elif found.label is None:
                    fate["unknown"] += 1
                else:
                    fate["mislabelled"].append((Path(gt.source).stem, found.label,
                                                found.confidence))
    for name, (count_seen, right) in taught.items():
        print(f"   '{name}': in the scenes {count_seen} time(s), found and named {right}")
    untaught = sum(1 for gt in truth if gt.source not in names)
    wrong = fate["mislabelled"]
    shown = ", ".join(f"{stem} -> '{label}' {confidence:.2f}"
                      for stem, label, confidence in wrong[:4])
    print(f"   objects nobody taught: {untaught} in the scenes: {fate['unknown']} left unknown, "
          f"{len(wrong)} given a taught label{f' ({shown})' if wrong else ''}, "
          f"{fate['missed']} not found by the segmenter")
    return {"taught": taught, "untaught": fate}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sam_detect.demo``."""
    from sam_detect.errors import SamDetectError

    parser = argparse.ArgumentParser(prog="python -m sam_detect.demo",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/core_demo"))
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--embedder", default="auto")
    parser.add_argument("--min-per-class", type=int, default=10,
                        help="photos a category needs to be used")
    parser.add_argument("--objects", type=int, default=3,
                        help="single objects taught from ONE picture each, after the categories "
                             "(0: skip)")
    args = parser.parse_args(argv)
    try:
        score, embedder_name = run_demo(args.out, args.images, args.shots, args.seed,
                                        args.embedder, args.min_per_class, args.objects)
    except SamDetectError as error:
        print(f"demo: error: {error}", file=sys.stderr)
        return 2
    # The weight-free average embedder is near chance on these photos (8-17 %); a pretrained
    # one labels 55-70 % right.
    mark = AVERAGE_PASS_MARK if embedder_name.startswith("average") else PASS_MARK
    if score < mark:
        print(f"demo: only {score:.0%} labelled right, under the {mark:.0%} that a working "
              f"install with {embedder_name} reaches; something is wrong", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
