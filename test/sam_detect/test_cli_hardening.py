# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The QA pass's hostile and clumsy CLI calls (issue 9): one line and exit 2, never a signal."""

from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest


def cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "sam_detect", *map(str, args)],
                            capture_output=True, text=True, timeout=180,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    assert result.returncode in (0, 2), (result.returncode, result.stderr[-2000:])
    return result


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("sam-detect: error: ") and "Traceback" not in line
    return line


@pytest.fixture
def store(tmp_path: Path) -> list[object]:
    return ["--store-path", tmp_path / "store", "-q"]


@pytest.mark.parametrize(("label", "problem"), [
    ("mug\n[INFO] [0.0] [sam_detect]: forged line", "line break"),
    ("mug\tpen", "a tab"), ("mug\x1b[2J", "an escape character"), ("x" * 300, "the limit"),
])
def test_hostile_labels_are_refused(object_png, store, label, problem) -> None:
    line = one_error_line(cli(object_png, "--label", label, "--embedder", "average", *store))
    assert problem in line
    assert one_error_line(cli("forget", label, *store[:2]))


def test_labels_stored_before_the_rule_are_listed_escaped(tmp_path, store) -> None:
    # Write a tab and a newline label the way an older version could, bypassing today's rule.
    script = textwrap.dedent("""
        import sys
        import numpy as np
        import sam_detect.labels
        sam_detect.labels.validate_label = lambda label: label
        from sam_detect.vector_store.edge import EdgeVectorStore
        with EdgeVectorStore(sys.argv[1]) as store:
            store.add(np.eye(3, dtype=np.float32), ["cup\\tmug", "a\\nb", "pen"])
    """)
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "store")], check=True)
    listed = cli("labels", *store[:2])
    assert listed.stdout.splitlines() == ["'a\\nb'\t1", "'cup\\tmug'\t1", "pen\t1"]


def test_a_1x1_image_has_no_objects_and_cannot_teach(tmp_path, store) -> None:
    dot = tmp_path / "dot.png"
    cv2.imwrite(str(dot), np.full((1, 1, 3), 200, np.uint8))
    detected = cli(dot, "--embedder", "average", "--json", *store)
    assert detected.returncode == 0 and json.loads(detected.stdout)["instances"] == []
    assert "no object found" in one_error_line(cli(dot, "--label", "dot", "--embedder",
                                                   "average", *store))


def test_a_png_declaring_40000x40000_is_one_line(tmp_path, store) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    for args in ([huge], [huge, "--label", "big"]):
        line = one_error_line(cli(*args, "--embedder", "average", *store))
        assert "declares 40000x40000 pixels" in line


def test_a_store_file_with_a_bad_next_id_is_one_line(tmp_path, object_png, store) -> None:
    cli(object_png, "--label", "box", "--embedder", "average", *store)
    meta = tmp_path / "store" / "sam_detect_store.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "next_id": "abc"}))
    for args in (["labels", *store[:2]], [object_png, "--embedder", "average", *store]):
        assert "next_id must be a whole number" in one_error_line(cli(*args))


def test_the_embedder_hint_names_a_value_the_flag_accepts(object_png, store) -> None:
    cli(object_png, "--label", "box", "--embedder", "average", *store)
    line = one_error_line(cli(object_png, "--embedder", "efficientnet", *store))
    assert "--embedder must be 'average' for this store" in line
    assert cli(object_png, "--embedder", "average", *store).returncode == 0


def test_store_kinds_cannot_share_a_folder(tmp_path, object_png, store) -> None:
    cli(object_png, "--label", "box", "--embedder", "average", *store)
    line = one_error_line(cli("labels", "--store", "qdrant", *store[:2]))
    assert "holds an edge store" in line and "--store edge" in line
    local = ["--store", "qdrant", "--store-path", tmp_path / "local", "-q"]
    cli(object_png, "--label", "box", "--embedder", "average", *local)
    for args in (["labels", "--store-path", tmp_path / "local"],
                 [object_png, "--embedder", "average", "--store-path", tmp_path / "local"]):
        assert "--store qdrant" in one_error_line(cli(*args))


def test_a_shard_without_its_store_file_is_never_silent(tmp_path, object_png, store) -> None:
    cli(object_png, "--label", "box", "--embedder", "average", *store)
    (tmp_path / "store" / "sam_detect_store.json").unlink()
    for args in (["labels", *store[:2]], [object_png, "--embedder", "average", *store]):
        assert "lost sam_detect_store.json" in one_error_line(cli(*args))


@pytest.mark.parametrize("url", ["http://admin:hunter2@127.0.0.1:1/?api-key=SECRETKEY",
                                 "http://admin:hunter2@[::1:1/?api-key=SECRETKEY"])
def test_credentials_in_the_qdrant_url_are_never_printed(url) -> None:
    line = one_error_line(cli("labels", "--store", "qdrant", "--qdrant-url", url))
    assert "hunter2" not in line and "SECRETKEY" not in line and "admin:***@" in line


def test_a_fade_value_the_default_fade_ignores_is_still_checked(object_png) -> None:
    line = one_error_line(cli(object_png, "--sigma", "-5", "--store", "memory", "--embedder",
                              "average"))
    assert line == "sam-detect: error: --sigma must be a positive number, got -5.0"
