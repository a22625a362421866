# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""SAM2 + CLIP through SAMDetect, the factories and the CLI, on random-weight miniatures.

The SAM2 miniature is "confident" (its random masks pass the default quality filters), so
segment-everything returns objects and the whole segment -> fade -> embed -> k-NN path runs.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from sam_detect.models.synthetic import save_random_clip, save_random_sam2


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module", name="model_dirs")
def model_dirs_fixture(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"sam": save_random_sam2(root / "sam2", size="mini", confident=True),
            "clip": save_random_clip(root / "clip")}


@pytest.fixture(name="image")
def image_fixture(make_scene):
    image, _ = make_scene([("red_disc", (60, 60), 28), ("blue_square", (200, 70), 26)],
                          size=(150, 260))
    return image


def test_factories_build_the_model_backends(model_dirs):
    from sam_detect.embedding import create_embedder
    from sam_detect.embedding.clip import CLIPEmbedder
    from sam_detect.segmentation import create_segmenter
    from sam_detect.segmentation.sam2 import SAM2Segmenter

    seg = create_segmenter("sam2", model_size=str(model_dirs["sam"]), device="cpu",
                           points_per_side=4, max_instances=None)
    assert isinstance(seg, SAM2Segmenter) and seg.points_per_side == 4
    emb = create_embedder("clip", model_name=str(model_dirs["clip"]), device="cpu", log=None)
    assert isinstance(emb, CLIPEmbedder) and emb.dim == 16


def test_detect_and_teach_with_sam2_and_clip(model_dirs, image):
    from sam_detect import SAMDetect
    from sam_detect.embedding.clip import CLIPEmbedder
    from sam_detect.segmentation.sam2 import SAM2Segmenter
    from sam_detect.vector_store import MemoryVectorStore

    detector = SAMDetect(
        segmenter=SAM2Segmenter(model_dirs["sam"], device="cpu", points_per_side=4,
                                max_instances=5),
        embedder=CLIPEmbedder(model_dirs["clip"], device="cpu"),
        vector_store=MemoryVectorStore(),
    )
    first = detector.detect(image)
    assert 1 <= len(first) <= 5
    assert all(inst.mask.shape == image.shape[:2] and inst.label is None for inst in first)
    assert first[0].embedding.shape == (16,)
    assert {"segment", "fade", "embed", "search", "total"} <= set(first.timings_ms)

    detector.add_embeddings(np.stack([first[0].embedding]), ["thing"])
    again = detector.detect(image)
    assert again[0].neighbours[0].label == "thing"
    assert again[0].neighbours[0].score == pytest.approx(1.0, abs=1e-4)
    detector.close()


def test_cli_teaches_then_detects_with_sam2_and_clip(model_dirs, image, tmp_path, capsys):
    from sam_detect.cli import main

    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    common = ["--segmenter", "sam2", "--sam-model", str(model_dirs["sam"]),
              "--points-per-side", "4", "--device", "cpu",
              "--store", "edge", "--store-path", str(tmp_path / "store"), "--json", "-q"]
    clip = ["--embedder", "clip", "--clip-model", str(model_dirs["clip"])]
    assert main([str(path), "--label", "scene", *clip, *common]) == 0
    taught = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert taught["label"] == "scene" and taught["added"] >= 1

    # --embedder auto: the store records clip:<folder>, so the same CLIP model is chosen again
    assert main([str(path), "--embedder", "auto", "--unknown-threshold", "-1", *common]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["image_size"] == [150, 260]
    assert result["instances"] and result["instances"][0]["label"] == "scene"


def test_the_briefs_keywords_build_sam2_and_clip(model_dirs, image):
    # The brief's performance-tuning call, with local miniatures for the hub names it uses.
    from sam_detect import SAMDetect
    from sam_detect.embedding.clip import CLIPEmbedder
    from sam_detect.segmentation.sam2 import SAM2Segmenter

    detector = SAMDetect(sam_model=str(model_dirs["sam"]), device="cpu", tensorrt_enabled=False,
                         embedding_cache_size=100, qdrant_batch_size=2,
                         embedding_model=str(model_dirs["clip"]), points_per_side=4,
                         max_instances=5)
    assert isinstance(detector.segmenter, SAM2Segmenter)
    assert detector.segmenter.points_per_side == 4 and detector.segmenter.max_instances == 5
    assert isinstance(detector.embedder, CLIPEmbedder) and detector.embedder.dim == 16
    first = detector.detect(image)
    assert len(first) >= 1
    detector.add_embeddings(np.stack([i.embedding for i in first]), ["thing"] * len(first))
    again = detector.detect(image)
    assert detector.embedding_cache.stats()["hits"] == len(first) == len(again)
    assert again[0].label == "thing"
