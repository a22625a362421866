# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Free-space checks that keep a full disk from killing the process.

Qdrant Edge writes through memory maps. When a page of a mapped file cannot be backed by the disk
(a full partition, a full tmpfs), the kernel answers the write with SIGBUS, which Python cannot
catch: the process dies ("Bus error", exit 135) in the middle of an ``add``, or, on a tmpfs, even
while *opening* a store. So the edge store checks ``os.statvfs`` before it opens, creates or
writes a shard, with a margin sized from what that step needs, and refuses with one line
(:class:`~sam_detect.errors.DiskFullError`) instead.

What each step needs, measured with qdrant-edge-py 0.6 (ext4 and tmpfs; 48-d and 1280-d):

* creating an empty shard: 43 kB on ext4, 3.2 MB on tmpfs (its flag and tracker files are
  touched in full);
* adding ``n`` points: about twice their bytes (the WAL and the segment each keep a copy: 1000
  1280-d points took 11.8 MB) plus a few pages per file touched (8-45 kB for one point);
* opening an existing shard: nothing on ext4, but on a memory filesystem (tmpfs, ramfs) reading
  a sparse mapped file allocates it, and loading reads the vector chunks and the payload index
  in full: 33-38 MB for a small store, i.e. every byte those files do not yet back;
* removing points: a few pages.

A check cannot reserve the space, so another process filling the disk between the check and the
write still wins that race; the margins make it unlikely, not impossible.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from sam_detect.errors import DiskFullError

MB = 1_000_000
#: Kept free beyond every estimate: journals, config rewrites and page rounding.
MARGIN_BYTES = 1 << 20
#: Creating an empty shard (3.2 MB measured on tmpfs, where it is the most).
CREATE_BYTES = 4 << 20
#: Per point, beyond its vector and payload: WAL record header, id tracker, flags, index entries.
POINT_OVERHEAD_BYTES = 512
#: Filesystems that allocate a page when a sparse mapped file is merely read.
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs", "shmfs", "hugetlbfs"})


def free_bytes(path: str | os.PathLike[str]) -> int:
    """Return the bytes an unprivileged process may still write where ``path`` lives.

    ``path`` need not exist yet: its nearest existing parent is asked.
    """
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    stats = os.statvfs(probe)
    return stats.f_bavail * stats.f_frsize


def filesystem_type(path: str | os.PathLike[str]) -> str | None:
    """Return the type of the filesystem holding ``path`` (``"ext4"``, ``"tmpfs"``...).

    Read from ``/proc/self/mountinfo`` (the mount point that is the longest prefix of the real
    path); ``None`` where that file does not exist or cannot be parsed.
    """
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    target = os.path.realpath(probe)
    best, kind = "", None
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields, _, tail = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not tail:
            continue
        # Mount points escape blanks and backslashes as octal (\040).
        mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[4])
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, tail.split()[0]
    return kind


def allocates_on_read(path: str | os.PathLike[str]) -> bool:
    """Whether reading a sparse mapped file under ``path`` takes space (tmpfs); True if unsure."""
    kind = filesystem_type(path)
    return kind is None or kind in MEMORY_FILESYSTEMS


def unbacked_bytes(folder: str | os.PathLike[str], skip: tuple[str, ...] = ()) -> int:
    """Return how many bytes of the files under ``folder`` the disk does not back yet (holes).

    Args:
        folder: Searched recursively.
        skip: Names of sub-folders left out (a shard's ``wal``, whose files are only appended).
    """
    total = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            try:
                stats = os.stat(os.path.join(root, name))
            except OSError:  # removed meanwhile
                continue
            total += max(0, stats.st_size - stats.st_blocks * 512)
    return total


def allocated_bytes(folder: str | os.PathLike[str]) -> int:
    """Return the bytes the files under ``folder`` take on disk."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
    return total


def points_bytes(dim: int, payloads: list[dict[str, Any]]) -> int:
    """Return what adding points of ``dim`` floats with these payloads may write (two copies)."""
    per_point = 4 * dim + POINT_OVERHEAD_BYTES
    payload = sum(len(json.dumps(p, separators=(",", ":"))) for p in payloads)
    return 2 * (per_point * len(payloads) + payload)


def require_free(path: str | os.PathLike[str], need: int, store: str | os.PathLike[str]) -> None:
    """Raise :class:`DiskFullError` unless ``need`` bytes plus the margin are free at ``path``.

    Args:
        path: Where the bytes will be written (the store folder).
        need: Estimated bytes the next step writes; :data:`MARGIN_BYTES` is added.
        store: The store, named in the message.
    """
    need += MARGIN_BYTES
    free = free_bytes(path)
    if free < need:
        raise DiskFullError(
            f"store {store}: disk full, {free / MB:.1f} MB free, need {need / MB:.1f} MB; "
            "free some space or use a store on another disk")
