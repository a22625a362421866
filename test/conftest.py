# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Fixtures shared by the linter tests, a real small tmpfs for the disk-full tests, a picture."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repository_files() -> list[str]:
    """Return the repository's files relative to its root, as git sees them, sorted.

    Tracked and new files, minus ignored ones, so virtualenvs and build folders are left out.
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
        capture_output=True, text=True, check=True).stdout.split()
    return sorted(name for name in set(listed) if (ROOT / name).is_file())


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Any:
    """Return ``mount(size) -> Path``: a real tmpfs of that size (``"3M"``), unmounted after.

    A full disk is what it is only on a real filesystem: qdrant-edge's memory-mapped writes die
    with SIGBUS there, and nothing else reproduces that. Mounting needs root (CI runs as root);
    the test is skipped only where mounting is impossible.
    """
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        folder = tmp_path / f"tmpfs{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                               str(folder)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _fill_disk(folder: Path, leave: int) -> Path:
    stats = os.statvfs(folder)
    filler = folder / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.posix_fallocate(fd, 0, max(1, stats.f_bavail * stats.f_frsize - leave))
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def fill_disk() -> Any:
    """Return ``fill(folder, leave) -> filler``: fills ``folder``'s filesystem to ``leave`` bytes.

    Delete the returned file to free the space again.
    """
    return _fill_disk


@pytest.fixture
def object_png(tmp_path: Path) -> Path:
    """Return a PNG of one red box on a dark floor, for command-line runs."""
    import cv2
    import numpy as np

    image = np.full((120, 160, 3), 40, np.uint8)
    image[30:80, 50:110] = (220, 30, 30)
    path = tmp_path / "object.png"
    cv2.imwrite(str(path), image)
    return path


def _stream_chunked(url: str, path: str, total: int, headers: dict[str, str] | None = None,
                    chunk: int = 1 << 20, timeout: float = 60.0) -> tuple[int, int]:
    """POST ``total`` bytes of a chunked body to ``url + path``; stop when the server answers.

    Returns ``(status, bytes sent before the answer came)``; status 0 when the server neither
    answered nor read on for ``timeout`` seconds. A raw socket, because an HTTP client would
    send the whole body before it reads the answer.
    """
    import select
    import socket
    import time
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    head = (f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n")
    sock.sendall(head.encode())
    block = f"{chunk:x}\r\n".encode() + b"x" * chunk + b"\r\n"
    blocks = -(-total // chunk)
    pending = memoryview(block)
    sent, answer = 0, b""
    sock.setblocking(False)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 1.0)
            if readable:
                try:
                    answer = sock.recv(4096)
                except ConnectionError:
                    answer = b""
                break
            if writable:
                try:
                    done = sock.send(pending)
                except BlockingIOError:
                    continue
                except ConnectionError:
                    break
                sent += done
                pending = pending[done:]
                if not pending and blocks > 0:
                    blocks -= 1  # one more chunk, or the last one that ends the body
                    pending = memoryview(block if blocks else b"0\r\n\r\n")
                deadline = time.monotonic() + timeout
    finally:
        sock.close()
    status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, sent


@pytest.fixture
def stream_chunked() -> Any:
    """Return ``stream(url, path, total, headers=None) -> (status, bytes sent)``.

    A chunked POST of ``total`` bytes that stops as soon as the server answers
    (:func:`_stream_chunked`).
    """
    return _stream_chunked


class ShapeScene:
    """Three drawn objects (red disc, blue box, yellow ring) standing still on green noise.

    For the tests of evidence over time (library, node, web UI): ``frame(grey=...)`` draws the
    scene with the named objects washed out to grey, a frame of doubt for them.

    Attributes:
        names: The objects' names, in the order of ``cutouts`` and ``masks``.
        cutouts: Their RGBA cut-outs (teach them as ``cutout[..., :3]``, mask ``alpha > 0``).
        masks: Their full-frame masks.
    """

    names = ("red disc", "blue box", "yellow ring")
    size = (320, 240)

    def __init__(self) -> None:
        from sam_detect.evaluation.sequences import noise_background, shape_cutouts

        self.cutouts = shape_cutouts(48)
        self.background = noise_background(self.size, 0)
        self.masks = []
        for index, cutout in enumerate(self.cutouts):
            mask = np.zeros(self.background.shape[:2], bool)
            x, y = 40 + 100 * index, 96
            mask[y:y + 48, x:x + 48] = cutout[:, :, 3] > 0
            self.masks.append(mask)

    def frame(self, grey: tuple[str, ...] = ()) -> np.ndarray:
        """Return the scene as an RGB frame, the objects named in ``grey`` washed out."""
        image = self.background.copy()
        for name, cutout, mask in zip(self.names, self.cutouts, self.masks):
            pixels = cutout[:, :, :3][cutout[:, :, 3] > 0]
            if name in grey:
                pixels = np.repeat(pixels.mean(axis=1, keepdims=True), 3, axis=1)
            image[mask] = pixels.astype(np.uint8)
        return image

    def which(self, masks: list[np.ndarray]) -> dict[str, int]:
        """Return, per object name, the index of the mask that covers it (IoU >= 0.5)."""
        found = {}
        for name, truth in zip(self.names, self.masks):
            ious = [np.count_nonzero(truth & m) / max(1, np.count_nonzero(truth | m))
                    for m in masks]
            if ious and max(ious) >= 0.5:
                found[name] = int(np.argmax(ious))
        return found


@pytest.fixture
def shape_scene() -> ShapeScene:
    """Return a :class:`ShapeScene`."""
    return ShapeScene()


class MirrorViews:
    """The average embedder with two teaching-time views: the crop and its mirror image.

    What ``efficientnet-lite0-whitened`` does with twelve views, light enough for every test.
    """

    name = "average-mirror-views-test"
    teach_views = ("original", "mirror")

    def __init__(self) -> None:
        from sam_detect.embedding import AverageEmbedder

        self._plain = AverageEmbedder()
        self.dim, self.unknown_threshold = self._plain.dim, self._plain.unknown_threshold

    def embed(self, crops: list[np.ndarray]) -> np.ndarray:
        """Embed crops as the average embedder does."""
        return self._plain.embed(crops)

    def embed_views(self, crops: list[np.ndarray]) -> np.ndarray:
        """Return ``(n, 2, dim)``: each crop and its mirror image."""
        mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in crops]
        return np.stack([self.embed(crops), self.embed(mirrored)], axis=1)


@pytest.fixture
def mirror_views() -> MirrorViews:
    """Return a :class:`MirrorViews` embedder."""
    return MirrorViews()
