# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Tests of config/detect.yaml: it matches the node's parameters (the profile: test_xmllint)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="needs ROS 2: run scripts/bootstrap.sh")
pytest.importorskip("sam_detect_ros.msg", reason="interfaces not built: run scripts/bootstrap.sh")

import yaml  # noqa: E402 - PyYAML comes with the ROS wheels

from sam_detect_ros.parameters import (  # noqa: E402
    build_detector,
    check_values,
    detector_options,
    PARAMETERS,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def yaml_values() -> dict:
    document = yaml.safe_load((CONFIG / "detect.yaml").read_text())
    return document["/**"]["ros__parameters"]


def test_detect_yaml_lists_every_parameter_with_the_node_defaults(yaml_values: dict) -> None:
    assert sorted(yaml_values) == sorted(PARAMETERS)
    for name, param in PARAMETERS.items():
        value = yaml_values[name]
        assert (type(value), value) == (type(param.default), param.default), name


def test_detect_yaml_documents_every_parameter() -> None:
    lines = (CONFIG / "detect.yaml").read_text().splitlines()
    for index, line in enumerate(lines):
        name = line.strip().split(":")[0]
        if name in PARAMETERS and line.startswith("    "):
            assert lines[index - 1].strip().startswith("#"), f"{name} has no comment above it"


def test_defaults_are_valid() -> None:
    check_values({name: param.default for name, param in PARAMETERS.items()})


def test_defaults_build_an_offline_detector(tmp_path: Path) -> None:
    values = {name: param.default for name, param in PARAMETERS.items()}
    values.update(store_path=str(tmp_path / "store"), embedder="average")
    detector = build_detector(values)
    try:
        assert detector.segmenter.name == "objectness"  # auto, with the efficientnet extra
        assert type(detector.vector_store).__name__ == "EdgeVectorStore"
        assert detector.vector_store.path == tmp_path / "store"
        assert detector.labels() == {}
    finally:
        detector.close()


@pytest.mark.parametrize("store, url, expected_path, expected_url", [
    ("edge", "", "HOME/store", None),
    ("memory", "", None, None),
    ("qdrant", "http://robot-db:6333", None, "http://robot-db:6333"),
])
def test_store_parameters_reach_open_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           store: str, url: str, expected_path: str | None,
                                           expected_url: str | None) -> None:
    import sam_detect.vector_store as vector_store

    seen = {}

    def fake_open_store(kind: str, **kwargs: object) -> object:
        seen.update(kind=kind, **kwargs)
        return vector_store.MemoryVectorStore()

    monkeypatch.setattr(vector_store, "open_store", fake_open_store)
    monkeypatch.setenv("HOME", str(tmp_path))
    values = {name: param.default for name, param in PARAMETERS.items()}
    values.update(store=store, qdrant_url=url, store_path="~/store", embedder="average")
    build_detector(values).close()
    path = None if expected_path is None else expected_path.replace("HOME", str(tmp_path))
    assert seen == {"kind": store, "path": path, "url": expected_url, "collection": "sam_detect"}


def test_parameters_that_mean_the_default_become_none() -> None:
    values = {name: param.default for name, param in PARAMETERS.items()}
    values.update(unknown_threshold=-1.0, max_instances=0, clip_model="", qdrant_url="")
    options = detector_options(values)
    # max_instances 0 means "no limit" in the library too, so it passes through as it is.
    assert (options.unknown_threshold, options.max_instances) == (None, 0)
    assert (options.clip_model, options.qdrant_url) == (None, None)
    assert options.store_path == PARAMETERS["store_path"].default
    values.update(unknown_threshold=0.4, max_instances=3, clip_model="m", store="qdrant",
                  qdrant_url="http://db:6333")
    options = detector_options(values)
    assert (options.unknown_threshold, options.max_instances, options.clip_model) == (0.4, 3, "m")
    # A path would put qdrant-client in local mode instead of talking to the server.
    assert (options.store_path, options.qdrant_url) == (None, "http://db:6333")
