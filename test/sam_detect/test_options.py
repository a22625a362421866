# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The option table: checks, the CLI flags it generates, and the facade's keywords."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from sam_detect import SAMDetect
from sam_detect.cli import (
    add_detector_arguments, add_store_arguments, detect_parser, open_store_from_args,
    render_error)
from sam_detect.embedding import AverageEmbedder
from sam_detect.errors import OptionError
from sam_detect.fading import FADES, GaussianFade, HardCropFade, LinearFade
from sam_detect.options import (
    BY_NAME, DetectorOptions, OPTIONS, option, options_for, resolve_keywords)
from sam_detect.segmentation import NaiveSegmenter
from sam_detect.vector_store import MemoryVectorStore


@pytest.mark.parametrize("name, value, expected", [
    ("top_k", 3, 3),
    ("top_k", 3.0, 3),
    ("sigma", 5, 5.0),
    ("compile", True, True),
    ("compile", None, None),
    ("store_path", "/tmp/x", "/tmp/x"),
    ("max_instances", 0, 0),
    ("unknown_threshold", -0.5, -0.5),
])
def test_check_accepts_and_converts(name, value, expected):
    checked = option(name).check(value)
    assert checked == expected and type(checked) is type(expected)


@pytest.mark.parametrize("name, value, message", [
    ("top_k", 0, "top_k must be at least 1, got 0"),
    ("top_k", 1001, "top_k must be at most 1000, got 1001"),
    ("top_k", 2.5, "top_k must be an integer, got 2.5"),
    ("top_k", None, "top_k must be an integer, got None"),
    ("top_k", True, "top_k must be an integer"),
    ("sigma", -5, "sigma must be a positive number, got -5.0"),
    ("sigma", 0.0, "sigma must be a positive number"),
    ("sigma", float("nan"), "sigma must be a finite number"),
    ("sigma", "wide", "sigma must be a number, got 'wide'"),
    ("min_fade", 1.5, "min_fade must be at most 1, got 1.5"),
    ("context", -1, "context must be at least 0"),
    ("unknown_threshold", 5, "unknown_threshold is a cosine similarity, in [-1, 1]; got 5.0"),
    ("fade", "blurry", "fade must be one of " + ", ".join(FADES) + ", got 'blurry'"),
    ("segmenter", "magic", "segmenter must be one of auto, naive"),
    ("compile", "yes", "compile must be true or false"),
    ("precision", "fp8", "precision must be one of fp32, fp16, bf16"),
    ("embedding_cache_size", -1, "embedding_cache_size must be at least 0"),
    ("qdrant_batch_size", -2, "qdrant_batch_size must be at least 0"),
])
def test_check_refuses_naming_the_option(name, value, message):
    with pytest.raises(OptionError, match="^" + message.replace("[", r"\[").replace(
            "(", r"\(").replace("+", r"\+")) as caught:
        option(name).check(value)
    assert caught.value.option == name


def test_every_option_is_checked_whichever_fade_is_active():
    # hard_crop takes no sigma, context or decay: they are refused all the same.
    for name, value in (("sigma", -5.0), ("context", -1.0), ("decay", 0.0),
                        ("max_distance", -3.0)):
        with pytest.raises(OptionError, match=f"^{name} "):
            DetectorOptions(fade="hard_crop", **{name: value})


def test_table_is_consistent():
    for opt in OPTIONS:
        assert opt.fronts and opt.fronts <= {"library", "cli", "node"}, opt.name
        assert opt.help and opt.group, opt.name
        assert opt.check(opt.default) == opt.default, opt.name
        if "node" in opt.fronts:  # ROS parameters cannot be None
            assert opt.node_value is not None, opt.name
            assert opt.is_node_unset(opt.node_value) or opt.check(opt.node_value) is not None
        if opt.default is None:
            assert opt.none_means, f"{opt.name}: say what None stands for"
    names = [opt.name for opt in OPTIONS]
    assert len(names) == len(set(names))


def test_detector_options_has_one_field_per_library_option():
    fields = list(DetectorOptions.__dataclass_fields__)
    assert fields == [o.name for o in options_for("library")]
    defaults = DetectorOptions()
    assert all(getattr(defaults, o.name) == o.default for o in options_for("library"))


# -- CLI ------------------------------------------------------------------------------------------

def cli_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.option_strings}


def test_cli_flags_come_from_the_table():
    parser = argparse.ArgumentParser()
    add_detector_arguments(parser)
    add_store_arguments(parser)
    actions = cli_actions(parser)
    cli = options_for("cli")
    assert sorted(actions) == sorted(["help", *(o.name for o in cli)])
    for opt in cli:
        action = actions[opt.name]
        assert action.option_strings == [opt.cli_flag]
        assert action.default == opt.default
        assert action.help.startswith(opt.help), opt.name
        assert (tuple(action.choices) if action.choices else None) == opt.allowed()
    # The flags users already type keep their names; --context is new.
    assert {"--top-k", "--sam-model", "--unknown-threshold", "--store-path", "--context",
            "--embedding-cache-size", "--qdrant-batch-size"} <= {o.cli_flag for o in cli}
    assert actions["fade"].choices == list(FADES) or tuple(actions["fade"].choices) == tuple(
        FADES)


def test_cli_renders_option_errors_as_flags():
    error = OptionError("unknown_threshold", "is a cosine similarity, in [-1, 1]; got 5.0")
    assert render_error(error) == "--unknown-threshold is a cosine similarity, in [-1, 1]; got 5.0"
    args = detect_parser().parse_args(["x.png", "--sigma", "-5"])
    with pytest.raises(OptionError) as caught:
        DetectorOptions.from_mapping(args)
    assert render_error(caught.value) == "--sigma must be a positive number, got -5.0"


# -- the facade's keywords ------------------------------------------------------------------------

BRIEF = dict(sam_model="sam2_hiera_large", device="cuda", tensorrt_enabled=True,
             embedding_cache_size=10000, qdrant_batch_size=32, embedding_model="clip-vit-b")


def test_the_briefs_keywords_resolve_through_the_table():
    resolved = resolve_keywords(BRIEF, BY_NAME)
    assert resolved == {"sam_model": "sam2_hiera_large", "device": "cuda", "tensorrt": True,
                        "embedding_cache_size": 10000, "qdrant_batch_size": 32,
                        "embedder": "clip", "clip_model": "openai/clip-vit-base-patch32"}


def test_the_briefs_constructor_is_no_type_error(monkeypatch):
    # No weights nor GPU here: the facade goes as far as building SAM2 (implied by sam_model)
    # from the names the brief uses, and stops with a user-facing error, not a TypeError.
    import sam_detect.segmentation as segmentation

    seen = {}

    def fake_create_segmenter(kind, **settings):
        seen.update(kind=kind, **settings)
        raise OptionError("device", "cuda is not available here")

    monkeypatch.setattr(segmentation, "create_segmenter", fake_create_segmenter)
    with pytest.raises(OptionError, match="device"):
        SAMDetect(**BRIEF)
    assert seen == {"kind": "sam2", "model_size": "sam2_hiera_large", "device": "cuda",
                    "points_per_side": None, "precision": None, "compile": None,
                    "tensorrt": True, "max_instances": None}


@pytest.mark.parametrize("keywords, message", [
    ({"top_kk": 3}, "top_kk is not an option; did you mean top_k?"),
    ({"top_k": 0}, "top_k must be at least 1"),
    ({"default_top_k": 3, "top_k": 4}, "gives top_k twice"),
    ({"embedding_model": "clip-vit-x"}, "embedder must be one of"),
    ({"store": "edge"}, "store is not a SAMDetect keyword; pass vector_store="),
    ({"history_size": 3}, "history_size is an option of the node"),
    ({"sigma": -1.0}, "sigma must be a positive number"),
])
def test_bad_keywords_name_the_option(keywords, message):
    with pytest.raises(OptionError, match=message.replace("?", r"\?")):
        SAMDetect(embedder=AverageEmbedder(), **keywords)


def test_build_options_given_with_a_built_stage_are_refused():
    with pytest.raises(OptionError, match="clip_model builds the embedder"):
        SAMDetect(embedder=AverageEmbedder(), clip_model="openai/clip-vit-base-patch32")
    with pytest.raises(OptionError, match="sigma cannot be given with a fade_strategy"):
        SAMDetect(embedder=AverageEmbedder(), fade_strategy=HardCropFade(), sigma=3.0)


def test_keywords_build_the_stages():
    detector = SAMDetect(embedder="average", fade="gaussian", sigma=20, top_k=3,
                         max_instances=4, unknown_threshold=0.5, embedding_cache_size=7,
                         qdrant_batch_size=2)
    assert detector.embedder.name == "average-v1"
    assert detector.fade_strategy == GaussianFade(sigma=20.0)
    assert (detector.default_top_k, detector.unknown_threshold) == (3, 0.5)
    assert detector.segmenter.max_instances == 4
    assert (detector.embedding_cache.capacity, detector.qdrant_batch_size) == (7, 2)
    assert SAMDetect(embedder="average", max_instances=0).segmenter.max_instances is None
    assert SAMDetect(embedder="average").segmenter.max_instances == 20
    # A built segmenter keeps its own limit unless max_instances is given.
    built = NaiveSegmenter(max_instances=3)
    assert SAMDetect(segmenter=built, embedder="average").segmenter.max_instances == 3
    assert SAMDetect(segmenter=built, embedder="average", max_instances=0).segmenter \
        .max_instances is None


# -- update ---------------------------------------------------------------------------------------

def test_update_changes_runtime_settings():
    detector = SAMDetect(embedder=AverageEmbedder())
    assert detector.update(fade="gaussian", sigma=12) == {"fade": "gaussian", "sigma": 12.0}
    assert detector.fade_strategy == GaussianFade(sigma=12.0, min_fade=0.05)
    detector.update(sigma=30.0)  # alone: keeps the kind
    assert detector.fade_strategy == GaussianFade(sigma=30.0)
    detector.update(max_distance=40.0)  # for a later linear fade; checked now
    assert detector.fade_strategy == GaussianFade(sigma=30.0)
    detector.update(fade="linear")
    assert detector.fade_strategy == LinearFade(max_distance=40.0)
    detector.update(top_k=2, unknown_threshold=0.3, max_instances=1, qdrant_batch_size=5,
                    embedding_cache_size=9)
    settings = detector.runtime_settings()
    assert {k: settings[k] for k in ("fade", "max_distance", "top_k", "max_instances",
                                     "qdrant_batch_size", "embedding_cache_size")} == {
        "fade": "linear", "max_distance": 40.0, "top_k": 2, "max_instances": 1,
        "qdrant_batch_size": 5, "embedding_cache_size": 9}
    assert settings["unknown_threshold"] == pytest.approx(0.3)
    detector.update(unknown_threshold=None, max_instances=None)
    assert detector.unknown_threshold == detector.embedder.unknown_threshold
    assert detector.segmenter.max_instances == 20  # the segmenter's own default


@pytest.mark.parametrize("settings, message", [
    ({"segmenter": "sam2"}, "segmenter is read when the detector is built"),
    ({"store_path": "/x"}, "store_path is read when the detector is built"),
    ({"top_k": 3, "sigma": 0.0}, "sigma must be a positive number"),
    ({"fade": "blurry"}, "fade must be one of"),
])
def test_update_refuses_and_changes_nothing(settings, message):
    detector = SAMDetect(embedder=AverageEmbedder())
    before = detector.runtime_settings()
    with pytest.raises(OptionError, match=message):
        detector.update(**settings)
    assert detector.runtime_settings() == before


def test_update_of_a_custom_fade_needs_its_kind():
    class Custom:
        def apply(self, image, mask, distance):
            return image

    detector = SAMDetect(embedder=AverageEmbedder(), fade_strategy=Custom())
    with pytest.raises(OptionError, match="custom fade strategy; give fade too"):
        detector.update(sigma=5.0)
    detector.update(fade="gaussian", sigma=5.0)
    assert detector.fade_strategy == GaussianFade(sigma=5.0)


# -- embedding cache and k-NN batches -------------------------------------------------------------

class CountingEmbedder(AverageEmbedder):
    """Counts the crops it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.crops = 0

    def embed(self, crops):
        self.crops += len(crops)
        return super().embed(crops)


def test_a_repeated_frame_skips_the_embedder(scene):
    image = scene[0]
    embedder = CountingEmbedder()
    detector = SAMDetect(embedder=embedder, embedding_cache_size=100)
    first = detector.detect(image)
    count = len(first)
    assert count > 0 and embedder.crops == count
    again = detector.detect(image.copy())
    assert embedder.crops == count  # every crop came from the cache
    np.testing.assert_array_equal(np.stack([i.embedding for i in first]),
                                  np.stack([i.embedding for i in again]))
    assert detector.embedding_cache.stats() == {"size": count, "capacity": 100, "hits": count,
                                                "misses": count}
    detector.update(fade="gaussian")  # other crops: the embedder runs again
    detector.detect(image)
    assert embedder.crops == 2 * count


def test_the_cache_is_off_by_default_and_bounded(scene):
    image = scene[0]
    embedder = CountingEmbedder()
    detector = SAMDetect(embedder=embedder)
    count = len(detector.detect(image))
    detector.detect(image)
    assert embedder.crops == 2 * count
    assert len(detector.embedding_cache) == 0
    detector.update(embedding_cache_size=1)
    detector.detect(image)
    assert len(detector.embedding_cache) == 1


class RecordingStore(MemoryVectorStore):
    """Records the size of each search request."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[int] = []

    def search(self, vectors, k, label_filter=None):
        self.requests.append(len(vectors))
        return super().search(vectors, k, label_filter)


@pytest.mark.parametrize("batch_size, requests", [
    (0, [7]), (3, [3, 3, 1]), (7, [7]), (10, [7])])
def test_knn_queries_go_in_batches(batch_size, requests):
    store = RecordingStore()
    detector = SAMDetect(embedder=AverageEmbedder(), vector_store=store,
                         qdrant_batch_size=batch_size)
    rng = np.random.default_rng(0)
    examples = rng.normal(size=(5, detector.embedder.dim)).astype(np.float32)
    detector.add_embeddings(examples, ["a", "b", "c", "d", "e"])
    queries = rng.normal(size=(7, detector.embedder.dim)).astype(np.float32)
    predictions = detector.classify(queries, top_k=2)
    assert store.requests == requests
    expected = SAMDetect(embedder=AverageEmbedder(), vector_store=store).classify(queries, 2)
    assert [p.label for p in predictions] == [p.label for p in expected]


@pytest.mark.parametrize("value, expected", [
    ("clip-vit-b", {"embedder": "clip", "clip_model": "openai/clip-vit-base-patch32"}),
    ("CLIP-ViT-L", {"embedder": "clip", "clip_model": "openai/clip-vit-large-patch14"}),
    ("openai/clip-vit-base-patch16", {"embedder": "clip",
                                      "clip_model": "openai/clip-vit-base-patch16"}),
    ("average", {"embedder": "average"}),
    ("efficientnet-lite0", {"embedder": "efficientnet"}),
])
def test_embedding_model_names(value, expected):
    assert resolve_keywords({"embedding_model": value}, BY_NAME) == expected


@pytest.mark.parametrize("name, hub_id", [
    ("sam2_hiera_large", "facebook/sam2.1-hiera-large"),
    ("sam2.1_hiera_b+", "facebook/sam2.1-hiera-base-plus"),
    ("sam2_hiera_base_plus", "facebook/sam2.1-hiera-base-plus"),
    ("sam2.1-hiera-tiny", "facebook/sam2.1-hiera-tiny"),
    ("small", "facebook/sam2.1-hiera-small"),
    ("me/my-sam2", "me/my-sam2"),
])
def test_sam_model_takes_the_sam2_repositorys_names(name, hub_id):
    pytest.importorskip("torch")
    from sam_detect.segmentation.sam2 import sam2_model_id

    assert sam2_model_id(name) == hub_id


def test_the_stage_registries_are_the_tables_choices() -> None:
    from sam_detect.device import DEVICES
    from sam_detect.embedding import EMBEDDERS
    from sam_detect.fading import FADES
    from sam_detect.options import (
        DEVICES as DEVICE_CHOICES, EMBEDDER_KINDS, FADE_KINDS, SEGMENTER_KINDS, STORE_KINDS)
    from sam_detect.segmentation import SEGMENTERS
    from sam_detect.vector_store import STORE_KINDS as STORES

    assert tuple(FADES) == FADE_KINDS == BY_NAME["fade"].allowed()
    assert SEGMENTERS == SEGMENTER_KINDS == BY_NAME["segmenter"].allowed()
    assert EMBEDDERS == EMBEDDER_KINDS == BY_NAME["embedder"].allowed()
    assert STORES == STORE_KINDS == BY_NAME["store"].allowed()
    assert DEVICES == DEVICE_CHOICES == BY_NAME["device"].allowed()


def test_library_errors_name_options_and_the_cli_renders_flags() -> None:
    from sam_detect.errors import StoreError

    error = StoreError("{store} qdrant takes {qdrant_url} or {store_path}, not both",
                       options=("store", "qdrant_url", "store_path"))
    assert str(error) == "store qdrant takes qdrant_url or store_path, not both"
    assert render_error(error) == "--store qdrant takes --qdrant-url or --store-path, not both"
    with pytest.raises(StoreError, match="^store qdrant takes qdrant_url"):
        open_store_from_args(argparse.Namespace(store="qdrant", store_path="/tmp/x",
                                                qdrant_url="http://localhost:6333"))
