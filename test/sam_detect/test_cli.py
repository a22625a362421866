# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The ``sam-detect`` command, run as users run it: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

LAYOUT_A = [("red_disc", (60, 60), 28), ("blue_square", (200, 70), 26),
            ("yellow_ring", (80, 170), 30), ("striped_box", (240, 175), 36)]
LAYOUT_B = [("striped_box", (90, 70), 40), ("red_disc", (250, 60), 24),
            ("blue_square", (230, 180), 30), ("yellow_ring", (80, 180), 34)]


def run(*args, check_status=0, env=None):
    result = subprocess.run([sys.executable, "-m", "sam_detect", *map(str, args)],
                            capture_output=True, text=True, timeout=180,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    assert result.returncode == check_status, result.stderr
    return result


def write(path: Path, image, alpha=None):
    if alpha is not None:
        cv2.imwrite(str(path), cv2.cvtColor(
            __import__("numpy").dstack([image, alpha.astype("uint8") * 255]),
            cv2.COLOR_RGBA2BGRA))
    else:
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def images(tmp_path, make_scene):
    image_a, truth_a = make_scene(LAYOUT_A, seed=0)
    image_b, truth_b = make_scene(LAYOUT_B, seed=5)
    folder = tmp_path / "images"
    folder.mkdir()
    return {
        "disc_cutout": write(tmp_path / "disc.png", image_a, truth_a["red_disc"]),
        "box_cutout": write(tmp_path / "box.png", image_a, truth_a["striped_box"]),
        "scene_a": write(folder / "a.png", image_a),
        "scene_b": write(folder / "b.jpg", image_b),
        "truth_b": truth_b,
        "folder": folder,
    }


def store_flags(tmp_path):
    return ["--store-path", tmp_path / "store", "--embedder", "average", "-q"]


def test_teach_then_recognise_with_the_default_persistent_store(tmp_path, images):
    home = {"SAM_DETECT_HOME": str(tmp_path / "home")}
    taught = run(images["disc_cutout"], "--label", "widget", "--embedder", "average", env=home)
    assert "taught 'widget': 1 example(s) added, 1 in the store" in taught.stdout
    run(images["box_cutout"], "--label", "striped box", "--embedder", "average", env=home)
    result = run(images["scene_b"], "--json", "--embedder", "average", env=home)
    (report,) = [json.loads(line) for line in result.stdout.splitlines()]

    def label_at(x, y):
        (hit,) = [inst for inst in report["instances"]
                  if inst["bbox"][0] <= x < inst["bbox"][2]
                  and inst["bbox"][1] <= y < inst["bbox"][3]]
        return hit["label"]

    assert label_at(250, 60) == "widget"  # the red disc of layout B
    assert label_at(90, 70) == "striped box"
    assert (tmp_path / "home").is_dir()
    listed = run("labels", "--json", env=home)
    assert json.loads(listed.stdout) == {"striped box": 1, "widget": 1}


def test_folder_batch_with_overlays_and_text_output(tmp_path, images):
    out = tmp_path / "overlays"
    result = run(images["folder"], "--output", out, *store_flags(tmp_path))
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    assert result.stdout.count("object(s) in") == 2 and "unknown" in result.stdout
    assert cv2.imread(str(out / "b.png")).shape == (240, 320, 3)


def test_optimize_a_store(tmp_path, images):
    flags = store_flags(tmp_path)
    run(images["disc_cutout"], "--label", "widget", *flags)
    result = run("optimize", *flags[:2])
    assert "1 example(s)" in result.stdout
    assert json.loads(run("labels", "--json", *flags[:2]).stdout) == {"widget": 1}
    missing = run("optimize", "--store-path", tmp_path / "nothing", check_status=2)
    assert "there is no store at" in missing.stderr


def test_glob_and_forget(tmp_path, images):
    flags = store_flags(tmp_path)
    run(str(images["folder"] / "*.png"), "--label", "scene", "--masks", "all", *flags)
    assert json.loads(run("labels", "--json", *flags[:2]).stdout) == {"scene": 4}
    assert "removed 4 example(s) of 'scene'" in run("forget", "scene", *flags[:2]).stdout
    assert json.loads(run("labels", "--json", *flags[:2]).stdout) == {}


@pytest.mark.parametrize(("args", "message"), [
    (["missing.png"], "no images found at missing.png"),
    (["{scene_a}", "--label", "  "], "label is empty"),
    (["{scene_a}", "--top-k", "0"], "--top-k must be at least 1"),
    (["{scene_a}", "--fade", "gaussian", "--sigma", "-3"], "sigma must be a positive"),
    (["{empty}"], "the file is empty"),
    (["{scene_a}", "--store", "qdrant", "--qdrant-url", "http://127.0.0.1:9"],
     "not both"),
    (["{scene_a}", "--output", "{empty}"], "cannot use --output"),
    (["{scene_a}", "--unknown-threshold", "5"], "--unknown-threshold is a cosine similarity"),
    # Every option is checked whichever fade is active (the default fade takes no sigma).
    (["{scene_a}", "--sigma", "-5"], "--sigma must be a positive number, got -5.0"),
    (["{scene_a}", "--context", "-1"], "--context must be at least 0"),
    (["{scene_a}", "--qdrant-batch-size", "-1"], "--qdrant-batch-size must be at least 0"),
    (["{truncated}"], "not a supported image format"),
    (["labels", "--store-path", "{missing}"], "there is no store at"),
    (["forget", "cup", "--store-path", "{missing}"], "there is no store at"),
])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, images, args, message):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "truncated.png").write_bytes(images["scene_a"].read_bytes()[:200])
    paths = {"scene_a": images["scene_a"], "empty": tmp_path / "empty.png",
             "truncated": tmp_path / "truncated.png", "missing": tmp_path / "no-store"}
    flags = [] if args[0] in ("labels", "forget") else store_flags(tmp_path)
    result = run(*[a.format(**paths) for a in args], *flags, check_status=2)
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert not (tmp_path / "no-store").exists()


def test_unreachable_qdrant_url(images):
    result = run(images["scene_a"], "--store", "qdrant", "--qdrant-url", "http://127.0.0.1:9",
                 "--embedder", "average", check_status=2)
    assert "cannot reach Qdrant at http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_failed_batch_teaching_writes_nothing(tmp_path, images):
    (images["folder"] / "broken.png").write_bytes(b"garbage")
    flags = store_flags(tmp_path)
    run(images["folder"], "--label", "x", *flags, check_status=2)
    assert json.loads(run("labels", "--json", *flags[:2]).stdout) == {}


def test_store_of_another_embedder_is_refused(tmp_path, images):
    run(images["disc_cutout"], "--label", "widget", *store_flags(tmp_path))
    result = run(images["scene_a"], "--store-path", tmp_path / "store", "--embedder",
                 "efficientnet", check_status=2)
    assert "--embedder must be 'average' for this store" in result.stderr


def test_store_in_use_by_another_process_is_a_clear_error(tmp_path, images):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from sam_detect.vector_store import "
         "EdgeVectorStore; s = EdgeVectorStore(sys.argv[1], dim=4); print('ready', flush=True);"
         " time.sleep(60)", str(tmp_path / "store")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = run(images["scene_a"], *store_flags(tmp_path), check_status=2)
        assert "in use" in result.stderr
    finally:
        holder.kill()
        holder.wait()
