# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The reference-behaviour options reach SAM2 and CLIP from the option set (CLI and node)."""

from __future__ import annotations

from typing import Any

import pytest

import sam_detect.embedding as embedding
import sam_detect.segmentation as segmentation
from sam_detect.detector import SAMDetect
from sam_detect.errors import OptionError
from sam_detect.options import DetectorOptions


@pytest.fixture
def captured(monkeypatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    real_segmenter, real_embedder = segmentation.create_segmenter, embedding.create_embedder

    def segmenter(kind, **options):
        seen["segmenter"] = options
        return real_segmenter("naive", max_instances=options.get("max_instances"))

    def embedder(kind, **options):
        seen["embedder"] = options
        return real_embedder("average")

    monkeypatch.setattr(segmentation, "create_segmenter", segmenter)
    monkeypatch.setattr(embedding, "create_embedder", embedder)
    return seen


@pytest.mark.parametrize(("options", "segmenter", "embedder"), [
    ({}, {}, {}),
    ({"masks_per_point": 3, "stability_at": "full", "clip_resize": "pil"},
     {"masks_per_point": 3, "stability_at": "full"}, {"resize": "pil"}),
])
def test_choices_reach_the_models(captured, options, segmenter, embedder) -> None:
    SAMDetect.from_options(DetectorOptions(segmenter="sam2", embedder="clip", store="memory",
                                           **options))
    for name in ("masks_per_point", "stability_at"):
        assert captured["segmenter"].get(name) == segmenter.get(name)
    assert captured["embedder"].get("resize") == embedder.get("resize")


@pytest.mark.parametrize(("name", "value"), [
    ("masks_per_point", 2), ("stability_at", "half"), ("clip_resize", "opencv"),
])
def test_bad_choices_name_the_option(name, value) -> None:
    with pytest.raises(OptionError, match=f"^{name} must be one of") as raised:
        SAMDetect.from_options(DetectorOptions(store="memory", embedder="average",
                                               **{name: value}))
    assert raised.value.option == name
