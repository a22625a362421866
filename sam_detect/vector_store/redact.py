# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""Keep credentials written into a Qdrant URL out of every message.

A URL can carry a password (``http://admin:hunter2@host``) or a key in its query
(``?api-key=...``); errors, logs and ``repr`` show the URL with those replaced by ``***``, as the
API key itself has always been kept out of them.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote

HIDDEN = "***"
#: Query parameters whose value is a credential (compared without case, ``-`` and ``_``).
SECRET_QUERY_KEYS = frozenset({"apikey", "key", "token", "accesstoken", "password", "secret",
                               "auth", "authorization", "jwt"})

__all__ = ["redact_text", "redact_url", "url_secrets"]


def _is_secret_key(name: str) -> bool:
    return re.sub(r"[-_]", "", name.lower()) in SECRET_QUERY_KEYS


def url_secrets(url: str | None) -> list[str]:
    """Return the credential strings ``url`` carries (password, secret query values).

    Example:
        >>> url_secrets("http://admin:hunter2@db:6333/?api-key=K1&timeout=5")
        ['hunter2', 'K1']
    """
    if not url:
        return []
    secrets = []
    # Parse by hand around the last '@' before the path: urlsplit refuses some broken URLs, and a
    # URL that cannot be parsed is exactly the one an error message is about to quote.
    rest = url.rpartition("://")[2]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        userinfo = authority.rsplit("@", 1)[0]
        user, _, password = userinfo.partition(":")
        secrets.append(password if password else user)
    query = url.split("?", 1)[1].split("#", 1)[0] if "?" in url else ""
    secrets += [value for name, value in parse_qsl(query, keep_blank_values=False)
                if _is_secret_key(name)]
    return [s for s in secrets if s]


def redact_url(url: str | None) -> str | None:
    """Return ``url`` with its credentials replaced by ``***``.

    Example:
        >>> redact_url("http://admin:hunter2@db:6333/?api-key=K1&timeout=5")
        'http://admin:***@db:6333/?api-key=***&timeout=5'
        >>> redact_url("https://db.example.com:6333")
        'https://db.example.com:6333'
    """
    if url is None:
        return None
    scheme, sep, rest = url.rpartition("://") if "://" in url else ("", "", url)
    authority, tail = re.match(r"([^/?#]*)(.*)", rest, re.DOTALL).groups()
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        user, colon, _ = userinfo.partition(":")
        authority = f"{user}:{HIDDEN}@{host}" if colon else f"{HIDDEN}@{host}"
    if "?" in tail:
        path, _, query = tail.partition("?")
        query, hash_, fragment = query.partition("#")
        pairs = [
            f"{name}={HIDDEN}" if _is_secret_key(unquote(name)) and value else pair
            for pair in query.split("&")
            for name, _, value in [pair.partition("=")]
        ]
        tail = f"{path}?{'&'.join(pairs)}{hash_}{fragment}"
    return f"{scheme}{sep}{authority}{tail}"


def redact_text(text: str, url: str | None, more: list[str] | None = None) -> str:
    """Return ``text`` (an error from a client) with ``url`` and its credentials hidden.

    The whole URL is replaced by its redacted form first; then each secret (and ``more``, an API
    key) wherever else it appears, raw or URL-quoted, if it is long enough (4 characters) not to
    hide unrelated text.
    """
    if url:
        text = text.replace(url, redact_url(url) or "")
    return _replace(text, url_secrets(url) + list(more or []), shortest=4)


def _replace(text: str, secrets: list[str], shortest: int) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        for form in sorted({secret, unquote(secret), quote(secret, safe="")}, key=len,
                           reverse=True):
            if len(form) >= shortest:
                text = text.replace(form, HIDDEN)
    return text
