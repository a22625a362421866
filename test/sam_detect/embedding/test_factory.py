# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""create_embedder: explicit kinds, auto's order, a store's preferred embedder, lazy imports."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

import sam_detect.embedding as embedding
from sam_detect.arguments import render_error
from sam_detect.embedding import AverageEmbedder, create_embedder, kind_of
from sam_detect.errors import SamDetectError

DEFAULT = "openai/clip-vit-base-patch32"


class FakeCLIP:
    """Stands in for CLIPEmbedder: records its arguments, embeds nothing heavy."""

    dim = 4
    unknown_threshold = 0.8

    def __init__(self, model_name: str = DEFAULT, device: str = "auto", batch_size: int = 32,
                 precision: str = "fp32", **kwargs) -> None:
        self.name = f"clip:{model_name}"
        self.args = dict(model_name=model_name, device=device, batch_size=batch_size,
                         precision=precision, **kwargs)

    def embed(self, crops):
        return np.zeros((len(crops), self.dim), np.float32)


class FakeEfficientNet:
    """Stands in for EfficientNetEmbedder so selection tests do not load weights."""

    name = "efficientnet-lite0"
    dim = 1280
    unknown_threshold = 0.5

    def __init__(self, device: str = "cpu", batch_size: int = 16) -> None:
        self.args = dict(device=device, batch_size=batch_size)


class FakeWhitened(FakeEfficientNet):
    """Stands in for WhitenedEfficientNetEmbedder (the efficientnet kind's newest variant)."""

    name = "efficientnet-lite0-whitened"

    def __init__(self, device: str = "cpu", batch_size: int = 16,
                 teach_views: str = "all") -> None:
        self.args = dict(device=device, batch_size=batch_size, teach_views=teach_views)


NEW = FakeWhitened.name


@pytest.fixture(name="world")
def world_fixture(monkeypatch):
    """Control what is 'installed': CLIP weights cached (per model) and EfficientNet present."""
    state = {"cached": set(), "efficientnet": True, "clip_imports": True}
    fake_clip = types.ModuleType("sam_detect.embedding.clip")
    fake_clip.DEFAULT_CLIP_MODEL = DEFAULT
    fake_clip.CLIPEmbedder = FakeCLIP
    fake_clip.clip_weights_cached = lambda model_name=DEFAULT: model_name in state["cached"]
    fake_eff = types.ModuleType("sam_detect.embedding.efficientnet")
    fake_eff.EfficientNetEmbedder = FakeEfficientNet
    fake_eff.efficientnet_installed = lambda: state["efficientnet"]
    fake_whitened = types.ModuleType("sam_detect.embedding.efficientnet_whitened")
    fake_whitened.WhitenedEfficientNetEmbedder = FakeWhitened

    def apply():
        monkeypatch.setitem(sys.modules, "sam_detect.embedding.clip",
                            fake_clip if state["clip_imports"] else None)
        monkeypatch.setitem(sys.modules, "sam_detect.embedding.efficientnet", fake_eff)
        monkeypatch.setitem(sys.modules, "sam_detect.embedding.efficientnet_whitened",
                            fake_whitened)

    apply()
    state["apply"] = apply
    return state


@pytest.mark.parametrize("cached, efficientnet, preferred, expected, reason", [
    ({DEFAULT}, True, None, f"clip:{DEFAULT}", "CLIP weights cached"),
    (set(), True, None, NEW, "CLIP weights not cached"),
    (set(), False, None, "average-v1", "no pretrained encoder"),
    ({DEFAULT}, True, "average-v1", "average-v1", "the store was filled by average-v1"),
    # a store keeps the efficientnet embedder that filled it, the earlier one included
    ({DEFAULT}, True, "efficientnet-lite0", "efficientnet-lite0", "the store was filled"),
    ({DEFAULT}, True, NEW, NEW, "the store was filled"),
    ({"org/other-clip"}, True, "clip:org/other-clip", "clip:org/other-clip", "store was filled"),
    # the store's embedder is not usable here: the usual order, and the log says why
    (set(), True, f"clip:{DEFAULT}", NEW, f"store's clip:{DEFAULT} is not"),
    ({DEFAULT}, False, "efficientnet-lite0", f"clip:{DEFAULT}", "is not available"),
    (set(), False, "mystery-v9", "average-v1", "mystery-v9 is not available"),
])
def test_auto_order_and_preferred(world, cached, efficientnet, preferred, expected, reason):
    world["cached"] = cached
    world["efficientnet"] = efficientnet
    lines = []
    emb = create_embedder("auto", device="cpu", preferred=preferred, log=lines.append)
    assert emb.name == expected
    assert len(lines) == 1
    assert lines[0].startswith(f"embedder auto -> {expected} (")
    assert reason in lines[0]


def test_auto_falls_back_when_the_clip_module_does_not_import(world):
    world["clip_imports"] = False
    world["apply"]()
    lines = []
    assert create_embedder(log=lines.append).name == NEW
    assert "python -m sam_detect.download_models" in lines[0]


def test_average_fallback_says_what_to_install(world):
    world["efficientnet"] = False
    lines = []
    create_embedder(log=lines.append)
    assert "pip install 'sam_detect_ros[efficientnet]'" in lines[0]


@pytest.mark.parametrize("kind, preferred, expected", [
    ("average", None, AverageEmbedder), ("AVERAGE ", None, AverageEmbedder),
    ("efficientnet", None, FakeWhitened), ("clip", None, FakeCLIP),
    # the kind keeps the store's variant, so --embedder efficientnet opens an earlier store
    ("efficientnet", "efficientnet-lite0", FakeEfficientNet),
    ("efficientnet", NEW, FakeWhitened),
    # an exact name is that embedder, whatever the store holds
    ("efficientnet-lite0", None, FakeEfficientNet),
    ("efficientnet-lite0", NEW, FakeEfficientNet),
    (NEW, "efficientnet-lite0", FakeWhitened),
])
def test_explicit_kind_builds_it_silently(world, kind, preferred, expected):
    lines = []
    embedder = create_embedder(kind, device="cpu", log=lines.append, preferred=preferred)
    assert type(embedder) is expected
    assert lines == []


def test_options_reach_the_constructors_that_take_them(world):
    clip = create_embedder("clip", device="cuda", model_name="org/x", batch_size=4,
                           precision="fp16", cache_dir="/tmp/hf")
    assert clip.args == dict(model_name="org/x", device="cuda", batch_size=4, precision="fp16",
                             cache_dir="/tmp/hf")
    eff = create_embedder("efficientnet", device="cpu", batch_size=3, precision="fp16",
                          teach_views="none")
    assert eff.args == dict(device="cpu", batch_size=3, teach_views="none")
    old = create_embedder("efficientnet-lite0", device="cpu", batch_size=3, teach_views="none")
    assert old.args == dict(device="cpu", batch_size=3)
    assert create_embedder("average", batch_size=3).name == "average-v1"


def test_explicit_clip_without_its_module_is_a_clear_error(world):
    world["clip_imports"] = False
    world["apply"]()
    with pytest.raises(SamDetectError, match="^embedder clip is unavailable") as excinfo:
        create_embedder("clip")
    assert render_error(excinfo.value).startswith("--embedder clip is unavailable")


@pytest.mark.parametrize("kind", ["sift", "", "openclip"])
def test_unknown_kind_lists_the_choices(kind):
    with pytest.raises(SamDetectError, match="choose one of auto, average, efficientnet, clip"):
        create_embedder(kind)


@pytest.mark.parametrize("name, expected", [
    ("average-v1", ("average", None)),
    ("efficientnet-lite0", ("efficientnet", None)),
    ("clip:openai/clip-vit-large-patch14", ("clip", "openai/clip-vit-large-patch14")),
    ("clip", ("clip", None)),
    ("dinov2:facebook/dinov2-small", (None, None)),
])
def test_kind_of_recorded_names(name, expected):
    assert kind_of(name) == expected


def test_lazy_exports():
    from sam_detect.embedding import EfficientNetEmbedder

    assert EfficientNetEmbedder.__name__ == "EfficientNetEmbedder"
    with pytest.raises(AttributeError):
        embedding.NoSuchEmbedder  # noqa: B018


def test_importing_the_package_does_not_import_torch():
    code = ("import sys, sam_detect.embedding as e; e.create_embedder('average'); "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert 'transformers' not in sys.modules, 'transformers imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
