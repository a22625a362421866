# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Credentials in a Qdrant URL never reach a message."""

from __future__ import annotations

import pytest

from sam_detect.errors import StoreError
from sam_detect.vector_store.qdrant import QdrantVectorStore
from sam_detect.vector_store.redact import redact_text, redact_url


@pytest.mark.parametrize(("url", "shown"), [
    ("http://admin:hunter2@db:6333", "http://admin:***@db:6333"),
    ("http://token-only@db:6333/", "http://***@db:6333/"),
    ("https://db:6333/?api-key=s3cr3t&timeout=5", "https://db:6333/?api-key=***&timeout=5"),
    ("https://db:6333?api_key=s3cr3t#top", "https://db:6333?api_key=***#top"),
    ("https://u:p%40ss@db/?token=t0k", "https://u:***@db/?token=***"),
    ("http://admin:hunter2@[::1:1/?api-key=K", "http://admin:***@[::1:1/?api-key=***"),
    ("http://localhost:6333", "http://localhost:6333"),
])
def test_redact_url(url, shown) -> None:
    assert redact_url(url) == shown


def test_redact_text_hides_secrets_quoted_or_not() -> None:
    url = "http://admin:p%40ssword@db:6333/?api-key=KEY123"
    text = f"failed for {url}; user admin with p@ssword and KEY123 and the key APIKEY9"
    hidden = redact_text(text, url, ["APIKEY9"])
    for secret in ("p%40ssword", "p@ssword", "KEY123", "APIKEY9"):
        assert secret not in hidden
    assert "admin" in hidden


@pytest.mark.parametrize("url", [
    "http://admin:hunter2@127.0.0.1:1/?api-key=SECRETKEY",  # nothing listens
    "http://admin:hunter2@[::1:1/?api-key=SECRETKEY",  # does not parse
])
def test_store_errors_never_echo_credentials(url) -> None:
    with pytest.raises(StoreError) as raised:
        QdrantVectorStore(url=url, api_key="APIKEY-XYZ", timeout=1)
    message = str(raised.value)
    assert "hunter2" not in message and "SECRETKEY" not in message and "XYZ" not in message
    assert "admin:***@" in message, message
