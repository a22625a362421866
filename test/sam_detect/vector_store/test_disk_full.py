# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""A full disk under an edge store: refused with one line, never a SIGBUS (on a real tmpfs).

Everything that could die runs in a subprocess, so a regression shows as a failed assertion
(exit -7, SIGBUS) instead of taking pytest down with it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import re
import subprocess
import sys
import textwrap

import pytest

from sam_detect.errors import DiskFullError
from sam_detect.vector_store.disk_space import (
    allocates_on_read,
    filesystem_type,
    free_bytes,
    MARGIN_BYTES,
    points_bytes,
    require_free,
)

DISK_FULL = re.compile(r"store \S+: disk full, \d+\.\d MB free, need \d+\.\d MB")


def python(script: str, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sam_detect", *map(str, args)],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def assert_one_disk_full_line(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    (line,) = result.stderr.strip().splitlines()
    assert DISK_FULL.search(line), line


def test_the_tmpfs_is_recognised_as_one(small_tmpfs) -> None:
    folder = small_tmpfs("3M")
    assert filesystem_type(folder) == "tmpfs" and allocates_on_read(folder / "not" / "yet")
    assert 2_500_000 < free_bytes(folder / "store") <= 3 << 20


def test_require_free_names_the_store_and_both_sizes(tmp_path: Path) -> None:
    require_free(tmp_path, 0, tmp_path)
    with pytest.raises(DiskFullError, match=DISK_FULL.pattern) as raised:
        require_free(tmp_path, 1 << 60, tmp_path / "store")
    assert str(raised.value).startswith(f"store {tmp_path / 'store'}: disk full")


@pytest.mark.parametrize(("dim", "count", "measured"), [
    # What adding that many points took on ext4 and tmpfs (qdrant-edge-py 0.6); the estimate
    # plus the margin must cover it, or the check lets a SIGBUS through.
    (1280, 1, 48_128), (1280, 1000, 11_852_800), (48, 1, 36_864), (48, 1000, 708_608),
])
def test_the_estimate_covers_what_adds_were_measured_to_write(dim, count, measured) -> None:
    payloads = [{"label": "cup", "source": "x" * 40, "added": "2026-12-01T21:00:00+00:00"}]
    assert points_bytes(dim, payloads * count) + MARGIN_BYTES >= measured


def test_teaching_into_a_3mb_tmpfs_is_refused_with_one_line(small_tmpfs, object_png) -> None:
    store = small_tmpfs("3M") / "store"
    taught = cli(object_png, "--label", "x", "--store-path", store, "--embedder", "average", "-q")
    assert_one_disk_full_line(taught)
    assert str(store) in taught.stderr
    listed = cli("labels", "--store-path", store)
    assert listed.returncode == 0 and listed.stdout == "", listed.stderr


def test_a_full_tmpfs_refuses_writes_and_keeps_serving_reads(small_tmpfs) -> None:
    folder = small_tmpfs("16M")
    result = python("""
        import json, sys
        from pathlib import Path
        import numpy as np
        from sam_detect.errors import DiskFullError
        from sam_detect.vector_store.edge import EdgeVectorStore

        folder = Path(sys.argv[1])
        rows = np.random.default_rng(0).normal(size=(3, 1280)).astype(np.float32)
        report = {}
        with EdgeVectorStore(folder / "store") as store:
            report["first"] = store.add(rows[:1], ["cup"])
            filler = folder / "filler"
            with open(filler, "wb") as handle:  # leave ~600 kB, as the QA pass did
                import os
                stats = os.statvfs(folder)
                os.posix_fallocate(handle.fileno(), 0,
                                   stats.f_bavail * stats.f_frsize - 600_000)
            report["refused"] = []
            for _ in range(3):  # the second write used to be the SIGBUS
                try:
                    store.add(rows[1:2], ["pen"])
                except DiskFullError as error:
                    report["refused"].append(str(error))
                try:
                    store.remove(label="cup")
                except DiskFullError as error:
                    report["refused"].append(str(error))
            report["labels"] = store.labels()
            report["nearest"] = store.search(rows[:1], k=1)[0][0].label
            filler.unlink()
            report["after"] = store.add(rows[2:3], ["pen"])
            report["final"] = store.labels()
        print(json.dumps(report))
    """, folder)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    report = json.loads(result.stdout)
    assert report["first"] == [1] and len(report["refused"]) == 6
    assert all(DISK_FULL.search(line) for line in report["refused"])
    assert report["labels"] == {"cup": 1} and report["nearest"] == "cup"
    assert report["after"] == [2]  # refused before any id was claimed
    assert report["final"] == {"cup": 1, "pen": 1}


def test_opening_a_store_on_a_full_tmpfs_is_refused(small_tmpfs, fill_disk, object_png) -> None:
    folder = small_tmpfs("64M")
    store = folder / "store"
    flags = ["--store-path", store, "--embedder", "average", "-q"]
    assert cli(object_png, "--label", "x", *flags).returncode == 0
    filler = fill_disk(folder, leave=0)
    # Loading the shard reads its maps in full, which allocates on tmpfs: it used to die here.
    for args in (["labels", "--store-path", store], [object_png, *flags],
                 [object_png, "--label", "y", *flags], ["forget", "x", "--store-path", store]):
        assert_one_disk_full_line(cli(*args))
    filler.unlink()
    listed = cli("labels", "--store-path", store, "--json")
    assert json.loads(listed.stdout) == {"x": 1}
