# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""make-benchmark on sizes and stamps too large to hold: one line, or a skipped stamp."""

from __future__ import annotations

import logging
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from sam_detect.cli import main
from sam_detect.errors import SamDetectError
from sam_detect.evaluation.benchmark import make_benchmark, MAX_IMAGE_SIDE, read_rgba
from sam_detect.evaluation.hard_benchmark import make_hard_benchmark
from sam_detect.evaluation.instance_benchmark import make_instance_benchmark

from .conftest import MIN_PER_CLASS


def huge_png(path: Path, width: int, height: int) -> Path:
    """Write a PNG that declares ``width`` x ``height`` RGBA pixels in a few bytes (a bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("mode", [[], ["--hard"], ["--instance"], ["--sequences", "1"]])
@pytest.mark.parametrize("size", ["100000x100000", f"{MAX_IMAGE_SIDE + 1}x480"])
def test_a_huge_size_is_one_line_exit_2(tmp_path: Path, mode: list[str], size: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["make-benchmark", str(tmp_path / "out"), "--size", size, *mode, "-q"])
    err = capsys.readouterr().err
    assert status == 2 and f"--size {size} is too large" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.parametrize("make", [make_benchmark, make_hard_benchmark, make_instance_benchmark])
def test_the_library_refuses_a_huge_size(make, tmp_path: Path, fake_stamps: Path) -> None:
    with pytest.raises(SamDetectError, match="too large"):
        make(tmp_path, images=1, size=(50000, 480), stamps_root=fake_stamps)


@pytest.mark.parametrize("side", [40000, 5000])
def test_a_huge_stamp_is_skipped_with_a_warning(tmp_path: Path, fake_stamps: Path, side: int,
                                                caplog: pytest.LogCaptureFixture) -> None:
    stamps = tmp_path / "stamps"
    shutil.copytree(fake_stamps, stamps)
    bomb = huge_png(stamps / "animals/birds/huge.png", side, side)
    with caplog.at_level(logging.WARNING, logger="sam_detect"):
        assert read_rgba(bomb) is None
        summary = make_benchmark(tmp_path / "out", images=2, size=(160, 120),
                                 min_per_class=MIN_PER_CLASS, stamps_root=stamps)
    assert summary["images"] == 2
    assert f"skipped stamp {bomb}" in caplog.text


def test_the_cli_survives_a_huge_stamp(tmp_path: Path, fake_stamps: Path,
                                       capsys: pytest.CaptureFixture[str],
                                       caplog: pytest.LogCaptureFixture) -> None:
    stamps = tmp_path / "stamps"
    shutil.copytree(fake_stamps, stamps)
    huge_png(stamps / "food/fruit/huge.png", 40000, 40000)
    with caplog.at_level(logging.WARNING, logger="sam_detect"):  # the CLI prints it on stderr
        assert main(["make-benchmark", str(tmp_path / "out"), "--images", "2", "--size",
                     "160x120", "--min-per-class", str(MIN_PER_CLASS), "--stamps-dir",
                     str(stamps), "-q"]) == 0
    assert "wrote 2 images" in capsys.readouterr().out
    assert "skipped stamp" in caplog.text and "huge.png" in caplog.text
