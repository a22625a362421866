# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""``sam-detect annotate IMAGE_DIR``: a real process serving the folder, and its refusals."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

TOKEN = "cli-token-0123456789"
FAST = ["--store", "memory", "--embedder", "average"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sam_detect", "annotate", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})}, **kwargs)


def wait_for(url: str, process: subprocess.Popen, headers: dict | None = None) -> httpx.Response:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sam-detect annotate exited: {process.stdout.read()}")
        try:
            return httpx.get(url, headers=headers, timeout=5)
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("sam-detect annotate did not start serving")


@pytest.mark.parametrize("host, token, env", [
    ("127.0.0.1", None, {}),
    ("0.0.0.0", None, {"SAM_DETECT_TOKEN": TOKEN}),
    ("0.0.0.0", TOKEN, {}),
])
def test_annotate_serves_the_folder_and_never_prints_the_token(photos, host, token, env):
    folder, _ = photos
    port = free_port()
    args = [str(folder), "--port", str(port), "--host", host, *FAST]
    process = run_cli(*args, *(["--token", token] if token else []), env=env)
    try:
        headers = {"x-token": TOKEN} if host != "127.0.0.1" else None
        state = wait_for(f"http://127.0.0.1:{port}/api/state", process, headers).json()
        assert state["names"] == ["a.png", "b.png", "sub/c.png"]
        if host != "127.0.0.1":
            assert httpx.get(f"http://127.0.0.1:{port}/api/state").status_code == 401
            with httpx.Client(follow_redirects=True) as browser:  # redirected, then the cookie
                assert browser.get(f"http://127.0.0.1:{port}/?token={TOKEN}").status_code == 200
                assert browser.get(f"http://127.0.0.1:{port}/api/state").status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"http://{host}:{port}/" in output
    assert TOKEN not in output


@pytest.mark.parametrize("args, message", [
    (["--host", "0.0.0.0"], "reachable from other machines"),
    (["--host", "0.0.0.0", "--token", "short"], "too short"),
    (["--host", "0.0.0.0", "--token", "          "], "printable ASCII without spaces"),
    (["--top-k", "0"], "--top-k must be at least 1"),
    (["--port", "70000"], "--port: must be a number from 1 to 65535, got '70000'"),
    (["--port", "-1"], "--port: must be a number from 1 to 65535, got '-1'"),
    (["--port", "0"], "--port: must be a number from 1 to 65535"),
    (["--port", "８０"], "--port: must be a number from 1 to 65535"),
])
def test_annotate_refuses_unsafe_or_bad_settings_with_one_line(photos, args, message,
                                                               monkeypatch):
    folder, _ = photos
    env = {k: v for k, v in os.environ.items() if k != "SAM_DETECT_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "sam_detect", "annotate", str(folder),
                             *FAST, *args], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_annotate_refuses_a_folder_without_pictures(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sam_detect", "annotate", str(tmp_path),
                             *FAST], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no images found" in result.stderr


def test_a_port_in_use_is_one_line_before_any_url(photos):
    folder, _ = photos
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "sam_detect", "annotate", str(folder),
                                 "--port", str(port), *FAST], capture_output=True, text=True,
                                timeout=120)
    assert result.returncode == 2, result
    assert "http://" not in result.stdout
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "another program uses that port" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
