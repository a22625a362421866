# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Model lookup: local folders, the Hugging Face cache, offline mode and download failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sam_detect.models import hub

HINT = "python -m sam_detect.download_models --sam-model tiny"


def write_model(folder: Path, weights: str = "model.safetensors", model_type: str = "sam2"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    (folder / weights).write_bytes(b"\0")
    return folder


def fake_cache(cache: Path, repo_id: str, source: Path, commit: str = "0123abcd") -> Path:
    """Lay out ``source``'s files as huggingface_hub's cache does for ``repo_id``."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    shutil.copytree(source, snapshot)
    return snapshot


@pytest.fixture(name="offline")
def offline_fixture(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("text, is_path", [
    ("openai/clip-vit-base-patch32", False),
    ("facebook/sam2.1-hiera-tiny", False),
    ("gpt2", False),
    ("./models/clip", True),
    ("/abs/model", True),
    ("~/models/clip", True),
    ("a/b/c", True),
])
def test_looks_like_path(text, is_path):
    assert hub.looks_like_path(text) is is_path


def test_existing_relative_folder_is_a_path(tmp_path, monkeypatch):
    write_model(tmp_path / "owner" / "name")
    monkeypatch.chdir(tmp_path)
    assert hub.looks_like_path("owner/name")
    assert hub.resolve_model("owner/name", kind="SAM2", hint=HINT) == Path("owner/name")


@pytest.mark.parametrize("weights", ["model.safetensors", "pytorch_model.bin"])
def test_resolve_local_folder(tmp_path, weights):
    folder = write_model(tmp_path / "m", weights)
    assert hub.resolve_model(str(folder), kind="SAM2", hint=HINT) == folder
    assert hub.weights_cached(str(folder))


def test_local_folder_without_weights_names_the_download_command(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(hub.ModelNotFoundError, match="download_models --sam-model tiny"):
        hub.resolve_model(str(tmp_path), kind="SAM2", hint=HINT)
    assert not hub.weights_cached(str(tmp_path))


def test_missing_local_folder(tmp_path):
    with pytest.raises(hub.ModelNotFoundError, match="does not exist"):
        hub.resolve_model(str(tmp_path / "nope"), kind="SAM2", hint=HINT)


def test_uncached_hub_id_offline_is_one_clear_error(tmp_path, offline):
    with pytest.raises(hub.ModelNotFoundError) as info:
        hub.resolve_model("facebook/sam2.1-hiera-tiny", kind="SAM2", hint=HINT, cache_dir=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert "HF_HUB_OFFLINE" in message and HINT in message
    assert not hub.weights_cached("facebook/sam2.1-hiera-tiny", cache_dir=tmp_path)


def test_cached_hub_id_resolves_offline(tmp_path, offline):
    source = write_model(tmp_path / "src")
    snapshot = fake_cache(tmp_path / "cache", "facebook/sam2.1-hiera-tiny", source)
    folder = hub.resolve_model("facebook/sam2.1-hiera-tiny", kind="SAM2", hint=HINT,
                               cache_dir=tmp_path / "cache")
    assert folder == snapshot
    assert hub.weights_cached("facebook/sam2.1-hiera-tiny", cache_dir=tmp_path / "cache")


def test_download_failure_is_one_clear_error(tmp_path, monkeypatch):
    import huggingface_hub

    def unreachable(repo_id, **kwargs):
        if kwargs.get("local_files_only"):
            raise huggingface_hub.errors.LocalEntryNotFoundError("not cached")
        raise huggingface_hub.errors.LocalEntryNotFoundError(
            "Got: ConnectError: [Errno -2] Name or service not known\nAn error happened...")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", unreachable)
    with pytest.raises(hub.ModelNotFoundError) as info:
        hub.resolve_model("facebook/sam2.1-hiera-tiny", kind="SAM2", hint=HINT)
    message = str(info.value)
    assert "\n" not in message and "Name or service not known" in message and HINT in message


def test_download_prefers_safetensors_and_falls_back_to_bin(tmp_path, monkeypatch):
    import fnmatch

    import huggingface_hub

    repo_files = {"config.json": "{}", "pytorch_model.bin": "w", "tf_model.h5": "w",
                  "sam2.1_hiera_tiny.pt": "w"}
    calls = []

    def fake_download(repo_id, allow_patterns=None, cache_dir=None, local_files_only=False):
        calls.append(list(allow_patterns))
        folder = tmp_path / "snap"
        folder.mkdir(exist_ok=True)
        for name, text in repo_files.items():
            if any(fnmatch.fnmatch(name, p) for p in allow_patterns):
                (folder / name).write_text(text)
        return str(folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
    folder = hub.download_snapshot("openai/clip-vit-base-patch32")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "pytorch_model.bin"]
    assert calls == [hub.MODEL_FILE_PATTERNS,
                     hub.MODEL_FILE_PATTERNS + hub.FALLBACK_WEIGHT_PATTERNS]


def test_wrong_model_type_is_refused_before_transformers(tmp_path):
    folder = write_model(tmp_path / "clip", model_type="clip")
    with pytest.raises(hub.ModelLoadError, match="'clip' model, not SAM2"):
        hub.load_pretrained(object, folder, kind="SAM2", hint=HINT, model_types=("sam2",))


def test_corrupt_weights_are_one_clear_error(tmp_path):
    from transformers import Sam2Model

    folder = write_model(tmp_path / "sam", model_type="sam2")
    with pytest.raises(hub.ModelLoadError) as info:
        hub.load_pretrained(Sam2Model, folder, kind="SAM2", hint=HINT, model_types=("sam2",))
    assert "\n" not in str(info.value) and HINT in str(info.value)
