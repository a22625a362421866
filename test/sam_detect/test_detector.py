# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The SAMDetect facade end to end with the offline stages."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sam_detect import Detections, SAMDetect
from sam_detect.embedding import AverageEmbedder
from sam_detect.errors import (
    IncompatibleStoreError, InvalidImageError, InvalidLabelError, InvalidMaskError, SamDetectError)
from sam_detect.fading import GaussianFade
from sam_detect.vector_store import MemoryVectorStore

LAYOUT_A = [("red_disc", (60, 60), 28), ("blue_square", (200, 70), 26),
            ("yellow_ring", (80, 170), 30), ("striped_box", (240, 175), 36)]
# The same objects elsewhere, at other sizes, on another patch of background.
LAYOUT_B = [("striped_box", (90, 70), 40), ("red_disc", (250, 60), 24),
            ("blue_square", (230, 180), 30), ("yellow_ring", (80, 180), 34)]


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def label_of(detections, truth_mask):
    best = max(detections, key=lambda inst: iou(inst.mask, truth_mask))
    return best.label


@pytest.fixture
def detector():
    det = SAMDetect(embedder=AverageEmbedder(), vector_store=MemoryVectorStore())
    yield det
    det.close()


def test_detect_on_an_empty_store_finds_unknown_objects(detector, scene):
    image, truth = scene
    detections = detector.detect(image)
    assert isinstance(detections, Detections) and len(detections) == len(truth)
    assert detections.image_size == (240, 320)
    assert set(detections.timings_ms) == {"segment", "fade", "embed", "search", "total"}
    for index, inst in enumerate(detections):
        assert inst.label is None and inst.confidence == 0.0 and inst.id == index
        assert inst.embedding.shape == (detector.embedder.dim,)
        assert inst["mask"].shape == (240, 320)


def test_taught_objects_are_recognised_in_a_new_layout(detector, make_scene):
    image, truth = make_scene(LAYOUT_A, seed=0)
    for name, mask in truth.items():
        detector.add_example(image, name, mask=mask)
    assert detector.labels() == {name: 1 for name in truth}
    other, other_truth = make_scene(LAYOUT_B, seed=7)
    detections = detector.detect(other)
    for name, mask in other_truth.items():
        assert label_of(detections, mask) == name
    assert all(0.0 < inst.confidence <= 1.0 for inst in detections)
    assert all(inst.neighbours[0].label == inst.label for inst in detections)


def test_teach_by_instance_stores_its_embedding_without_recompute(detector, make_scene):
    image, truth = make_scene(LAYOUT_A)
    first = detector.detect(image)
    disc = max(first, key=lambda inst: iou(inst.mask, truth["red_disc"]))
    detector.embedder = None  # teaching must not touch the embedder
    with pytest.raises(AttributeError):
        detector.detect(image)
    detector.embedder = AverageEmbedder()
    detector.teach(disc, "disc")
    again = detector.detect(image)
    assert label_of(again, truth["red_disc"]) == "disc"


@pytest.mark.parametrize(("call", "error"), [
    (lambda d, img, m: d.add_example(img, "", mask=m), InvalidLabelError),
    (lambda d, img, m: d.add_example(img, "cup", mask=m[:-1]), InvalidMaskError),
    (lambda d, img, m: d.add_example(img, "cup", mask=np.zeros_like(m)), InvalidMaskError),
    (lambda d, img, m: d.add_example(np.zeros((0, 3, 3), np.uint8), "cup"), InvalidImageError),
    (lambda d, img, m: d.add_embeddings(np.ones((1, 5), np.float32), ["cup"]), SamDetectError),
    (lambda d, img, m: d.add_embeddings(np.ones((2, d.embedder.dim)), ["cup"]), SamDetectError),
    (lambda d, img, m: d.set_fade_strategy("gaussian"), SamDetectError),
    (lambda d, img, m: d.remove_label(" "), InvalidLabelError),
])
def test_bad_input_is_a_clear_error_and_stores_nothing(detector, scene, call, error):
    image, truth = scene
    with pytest.raises(error):
        call(detector, image, truth["red_disc"])
    assert detector.vector_store.count() == 0


def test_add_examples_from_file(detector, tmp_path, make_scene):
    image, truth = make_scene(LAYOUT_A)
    rgba = np.dstack([image, truth["blue_square"].astype(np.uint8) * 255])
    cv2.imwrite(str(tmp_path / "cutout.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    cv2.imwrite(str(tmp_path / "scene.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert len(detector.add_examples_from_file(str(tmp_path / "cutout.png"), "square")) == 1
    assert len(detector.add_examples_from_file(str(tmp_path / "scene.png"), "box")) == 1
    assert len(detector.add_examples_from_file(str(tmp_path / "scene.png"), "any", "all")) == 4
    assert detector.labels() == {"square": 1, "box": 1, "any": 4}
    # "auto" without an alpha channel teaches the largest segmented object: the striped box.
    largest = max(detector.segment(image), key=lambda segment: segment.area).mask
    assert iou(largest, truth["striped_box"]) > 0.9
    (box_hit,) = detector.vector_store.search(
        detector.embed_masks(image, [largest]), 1, label_filter=["box"])[0]
    assert box_hit.score > 0.9999
    with pytest.raises(SamDetectError, match="masks must be"):
        detector.add_examples_from_file(str(tmp_path / "scene.png"), "x", masks="biggest")


def test_store_of_another_embedder_is_refused():
    store = MemoryVectorStore()
    SAMDetect(embedder=AverageEmbedder(), vector_store=store).add_example(
        np.full((20, 20, 3), 99, np.uint8), "grey")

    class OtherEmbedder:
        name, dim, unknown_threshold = "other-v1", 8, 0.5

        def embed(self, crops):
            return np.ones((len(crops), 8), np.float32) / np.sqrt(8)

    with pytest.raises(IncompatibleStoreError, match="embedder must be 'average' for this store"):
        SAMDetect(embedder=OtherEmbedder(), vector_store=store)
    fade_change = SAMDetect(embedder=AverageEmbedder(), vector_store=store,
                            fade_strategy=GaussianFade(sigma=20))
    assert fade_change.warnings and "fade" in fade_change.warnings[0]


def test_crop_visualize_and_fade_switch(detector, scene):
    image, truth = scene
    crop = detector.get_crop(image, truth["red_disc"])
    x, y, w, h = cv2.boundingRect(truth["red_disc"].astype(np.uint8))
    assert crop.size == (w + 8, h + 8)  # the default hard crop: a 4-pixel black margin
    assert np.asarray(crop)[4, 4].tolist() == [0, 0, 0]  # a disc's box corner is outside it
    detector.set_fade_strategy(GaussianFade(sigma=5))
    reach = int(np.ceil(detector.fade_strategy.reach))
    faded = detector.get_crop(image, truth["red_disc"])
    assert faded.size == (w + 2 * reach, h + 2 * reach)
    assert np.asarray(faded)[reach, reach].any()  # nearby context stays visible
    detections = detector.detect(image)
    overlay = detector.visualize(image, detections)
    assert overlay.shape == image.shape and not np.array_equal(overlay, image)


def test_remove_label_and_unknown_threshold(detector, scene):
    image, truth = scene
    detector.add_example(image, "disc", mask=truth["red_disc"])
    detector.add_example(image, "ring", mask=truth["yellow_ring"])
    detector.unknown_threshold = 1.01  # nothing is that similar: everything is unknown
    assert all(inst.label is None for inst in detector.detect(image))
    assert detector.remove_label("disc") == 1 and detector.labels() == {"ring": 1}


def test_persistent_edge_store_survives_reopen(tmp_path, scene):
    from sam_detect.vector_store import EdgeVectorStore

    image, truth = scene
    with SAMDetect(embedder=AverageEmbedder(),
                   vector_store=EdgeVectorStore(tmp_path / "store")) as detector:
        detector.add_example(image, "disc", mask=truth["red_disc"])
    with SAMDetect(embedder=AverageEmbedder(),
                   vector_store=EdgeVectorStore(tmp_path / "store")) as detector:
        assert detector.labels() == {"disc": 1}
        assert label_of(detector.detect(image), truth["red_disc"]) == "disc"


def test_bgr_frames_from_opencv(scene):
    image, truth = scene
    rgb_detector = SAMDetect(embedder=AverageEmbedder())
    bgr_detector = SAMDetect(embedder=AverageEmbedder(), channel_order="bgr")
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    rgb_detector.add_example(image, "disc", mask=truth["red_disc"])
    bgr_detector.add_example(bgr, "disc", mask=truth["red_disc"])
    expected = rgb_detector.detect(image)
    got = bgr_detector.detect(bgr)
    assert [i.bbox for i in got] == [i.bbox for i in expected]
    np.testing.assert_allclose([i.confidence for i in got], [i.confidence for i in expected])
    np.testing.assert_array_equal(bgr_detector.visualize(bgr, got),
                                  rgb_detector.visualize(image, expected)[:, :, ::-1])
    with pytest.raises(SamDetectError, match="channel_order"):
        SAMDetect(embedder=AverageEmbedder(), channel_order="hsv")
