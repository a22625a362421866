# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""``python -m sam_detect.download_models`` with the hub replaced by local random-weight models."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sam_detect import download_models
from sam_detect.models import hub
from sam_detect.models.synthetic import save_random_clip, save_random_sam2


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module", name="hub_dirs")
def hub_dirs_fixture(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    return {
        "facebook/sam2.1-hiera-tiny": save_random_sam2(root / "sam2", size="mini"),
        "openai/clip-vit-base-patch32": save_random_clip(root / "clip"),
    }


@pytest.fixture(name="fake_hub")
def fake_hub_fixture(monkeypatch, hub_dirs):
    import huggingface_hub

    calls = []

    def snapshot_download(repo_id, allow_patterns=None, cache_dir=None, local_files_only=False):
        calls.append({"repo_id": repo_id, "allow_patterns": allow_patterns,
                      "cache_dir": cache_dir})
        if repo_id not in hub_dirs:
            raise huggingface_hub.errors.RepositoryNotFoundError(f"404 {repo_id} not found")
        return str(hub_dirs[repo_id])

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return calls


def test_downloads_verifies_and_prints_locations(fake_hub, hub_dirs, capsys, tmp_path):
    status = download_models.main(["--sam-model", "tiny", "--cache-dir", str(tmp_path)])
    assert status == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"sam2 facebook/sam2.1-hiera-tiny: {hub_dirs['facebook/sam2.1-hiera-tiny']}",
        f"clip openai/clip-vit-base-patch32: {hub_dirs['openai/clip-vit-base-patch32']} (16-d)",
    ]
    repos = [c["repo_id"] for c in fake_hub]
    assert repos == ["facebook/sam2.1-hiera-tiny", "openai/clip-vit-base-patch32"]
    assert all(c["cache_dir"] == str(tmp_path) for c in fake_hub)
    assert all(not any(p.endswith(".pt") for p in c["allow_patterns"]) for c in fake_hub)


@pytest.mark.parametrize("flags, repos", [
    (["--skip-clip", "--sam-model", "tiny"], ["facebook/sam2.1-hiera-tiny"]),
    (["--skip-sam"], ["openai/clip-vit-base-patch32"]),
    (["--skip-sam", "--skip-clip"], []),
])
def test_skip_flags(fake_hub, flags, repos):
    assert download_models.main(flags) == 0
    assert [c["repo_id"] for c in fake_hub] == repos


def test_default_sam_model_is_base_plus(fake_hub, capsys):
    assert download_models.main(["--skip-clip", "--no-verify"]) == 2
    assert fake_hub[0]["repo_id"] == "facebook/sam2.1-hiera-base-plus"
    err = capsys.readouterr().err
    assert err.startswith("download_models: error: cannot download SAM2 model "
                          "'facebook/sam2.1-hiera-base-plus'")
    assert err.count("\n") == 1


def test_local_folder_is_verified_without_download(fake_hub, hub_dirs, capsys):
    folder = hub_dirs["facebook/sam2.1-hiera-tiny"]
    assert download_models.main(["--sam-model", str(folder), "--skip-clip"]) == 0
    assert fake_hub == []
    assert str(folder) in capsys.readouterr().out


def test_a_download_that_is_not_a_sam2_model_fails_verification(fake_hub, capsys):
    status = download_models.main(["--sam-model", "openai/clip-vit-base-patch32", "--skip-clip"])
    assert status == 2
    assert "not SAM2" in capsys.readouterr().err


def test_module_entry_point_reports_errors_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sam_detect.download_models", "--sam-model",
         str(tmp_path / "missing"), "--skip-clip"],
        capture_output=True, text=True, timeout=120,
        env={"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("download_models: error: SAM2 model directory")
    assert result.stderr.count("\n") == 1
    assert hub.looks_like_path(str(tmp_path / "missing"))
