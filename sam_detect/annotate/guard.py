# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""What every request to the annotation UI must show before any work is done for it.

:class:`RequestGuard` is an ASGI middleware in front of the FastAPI app (the folder UI and the
node's ``web_port`` UI alike). In this order, each refusal being one JSON line:

1. **Token** (when one is set): the ``X-Token`` header, ``Authorization: Bearer``, or the cookie
   that opening ``/?token=...`` once sets; else 401, before any byte of the body is read.
2. **Host** (when no token is set): only loopback names (``127.0.0.1`` and the rest of
   127/8, ``localhost``, ``[::1]``, with any port); a DNS-rebinding page, whose requests carry
   its own name, gets 403.
3. **Same origin** for every request that changes something (POST, PUT, PATCH, DELETE): an
   ``Origin`` header must name this very host (``null`` and other ports are refused),
   ``Sec-Fetch-Site`` must be ``same-origin`` (or ``none``), and the request must carry the
   ``X-Requested-With`` header or a JSON body (``Content-Type: application/json``), which no
   HTML form can send; else 403.
4. **Body cap**: a declared ``Content-Length`` over the cap is refused at once; any other body
   is read from the stream only up to the cap, then 413 and the connection is closed, so a
   chunked upload of any size costs the server at most the cap.

Example:
    >>> host_is_loopback("127.0.0.1:8000"), host_is_loopback("[::1]"), host_is_loopback("x.ex")
    (True, True, False)
    >>> origin_matches("http://127.0.0.1:8000", "127.0.0.1:8000")
    True
    >>> origin_matches("http://127.0.0.1:9000", "127.0.0.1:8000")
    False
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any
from urllib.parse import urlsplit

CSRF_HEADER = "x-requested-with"
TOKEN_COOKIE = "sam_detect_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})


def split_host(host: str) -> tuple[str, str]:
    """Return a ``Host`` header's name and port (``""`` when absent).

    Example:
        >>> split_host("[::1]:8000"), split_host("localhost")
        (('::1', '8000'), ('localhost', ''))
    """
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest[1:] if rest.startswith(":") else ""
    if host.count(":") == 1:
        name, _, port = host.partition(":")
        return name, port
    return host, ""


def is_loopback(host: str) -> bool:
    """Return whether ``host`` only accepts connections from this machine.

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_is_loopback(host: str) -> bool:
    """Return whether a ``Host`` header names this machine's loopback (a DNS name never does).

    Only the literal names are accepted: ``localhost``, a 127/8 address or ``[::1]``, each with
    or without a port. A name that merely resolves to 127.0.0.1 is what DNS rebinding uses.
    """
    name, port = split_host(host)
    if port and not port.isdigit():
        return False
    return is_loopback(name)


def origin_matches(origin: str, host: str) -> bool:
    """Return whether an ``Origin`` header names the same host and port as the ``Host`` header.

    The scheme is not compared: behind a TLS proxy the page is ``https://`` while the server
    sees plain HTTP with the same ``Host``.
    """
    if not origin or origin == "null":
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and (
        parts.netloc.lower() == host.strip().lower())


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    # The last of repeated headers wins; ASGI gives names in lower case.
    return {name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", [])}


class RequestGuard:
    """The ASGI middleware described in the module docstring.

    Args:
        app: The ASGI app to protect.
        token: The token every request must carry, or None (loopback names only).
        max_body_bytes: Largest request body read.
    """

    def __init__(self, app: Any, token: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.token = token
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Refuse the request, or pass it on with its body read up to the cap."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        request = Request(scope)  # headers, query and cookies only: the body is not touched
        headers = _headers(scope)
        refusal = self._authenticate(request, headers) or self._check_origin(request, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if not self._has_body(request.method, headers):
            await self.app(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None and (not length.isascii() or not length.isdigit()
                                   or int(length) > self.max_body_bytes):
            await self._too_large()(scope, receive, send)
            return
        messages, size = [], 0
        while True:  # read the stream, never more than the cap (plus one network chunk)
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                await self._too_large()(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            return await receive()  # the app waits for a disconnect (streaming responses)

        await self.app(scope, replay, send)

    def _authenticate(self, request: Any, headers: dict[str, str]) -> Any:
        from fastapi.responses import JSONResponse, RedirectResponse

        if self.token is None:
            host = headers.get("host", "")
            if host_is_loopback(host):
                return None
            return JSONResponse(
                {"detail": "this server answers only to 127.0.0.1, localhost or [::1] (the "
                           "Host header names another machine); open it by one of those, or "
                           "serve it with a token"}, 403)
        token = self.token.encode()
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given.encode(), token):
            # The page's URL should not keep the token: move it into a cookie.
            response = RedirectResponse(str(request.url.remove_query_params("token")), 303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            return response
        bearer = headers.get("authorization", "")
        candidates = [headers.get("x-token", ""),
                      bearer[7:] if bearer.lower().startswith("bearer ") else "",
                      request.cookies.get(TOKEN_COOKIE, "")]
        if any(c and hmac.compare_digest(c.encode(), token) for c in candidates):
            return None
        return JSONResponse({"detail": "a valid token is required (open the URL with "
                                       "?token=... once)"}, 401)

    @staticmethod
    def _check_origin(request: Any, headers: dict[str, str]) -> Any:
        from fastapi.responses import JSONResponse

        if request.method not in UNSAFE_METHODS:
            return None
        origin = headers.get("origin")
        fetch_site = headers.get("sec-fetch-site")
        if origin is not None and not origin_matches(origin, headers.get("host", "")):
            why = f"it comes from another site ({origin[:100]})"
        elif fetch_site is not None and fetch_site not in SAME_ORIGIN_FETCH:
            why = f"it comes from another site (Sec-Fetch-Site: {fetch_site[:30]})"
        elif headers.get(CSRF_HEADER, "").strip() or _is_json(headers.get("content-type", "")):
            return None
        else:
            why = "it carries neither an X-Requested-With header nor a JSON body"
        return JSONResponse({"detail": f"refused: {why}; changes are accepted from this "
                                       "server's own page only"}, 403)

    @staticmethod
    def _has_body(method: str, headers: dict[str, str]) -> bool:
        return (method in UNSAFE_METHODS or "content-length" in headers
                or "transfer-encoding" in headers)

    def _too_large(self) -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"detail": f"request body over {self.max_body_bytes} bytes"}, 413,
                            headers={"Connection": "close"})


def _is_json(content_type: str) -> bool:
    """Return whether a ``Content-Type`` is JSON, a type no HTML form can send.

    Example:
        >>> _is_json("application/json; charset=utf-8"), _is_json("text/plain")
        (True, False)
    """
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


__all__ = ["CSRF_HEADER", "RequestGuard", "TOKEN_COOKIE", "host_is_loopback", "is_loopback",
           "origin_matches", "split_host"]
