# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The annotation UI's HTTP side: a FastAPI app over an :class:`AnnotationSession`.

Safe by default: :class:`AnnotationUI` binds 127.0.0.1; any other host needs a token
(``token=`` / ``--token`` or ``$SAM_DETECT_TOKEN``), checked in constant time on every request
and never logged (uvicorn's access log, which prints URLs, is off). Before any work,
:class:`~sam_detect.annotate.guard.RequestGuard` checks the token, the Host (loopback names only
without a token), the origin of every change and the body size (docs/hardening.md). Pictures
and examples are addressed by index or id (never by path), and a bad request gets a one-line
4xx, naming pictures relative to the folder, before anything is written.

(No ``from __future__ import annotations`` here: FastAPI reads the route functions'
annotations, and the request models are imported inside :func:`create_app`.)
"""

import errno
import logging
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

from sam_detect.annotate.guard import is_loopback, TOKEN_COOKIE  # noqa: F401 - re-exported
from sam_detect.errors import SamDetectError, require_extra

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 64 * 1024
TOKEN_ENV = "SAM_DETECT_TOKEN"
MIN_TOKEN_LENGTH = 8


def resolve_token(host: str, token: str | None) -> str | None:
    """Return the token to require: the given one, else ``$SAM_DETECT_TOKEN``.

    Raises:
        SamDetectError: when ``host`` is reachable from other machines and there is no token.
    """
    token = token or os.environ.get(TOKEN_ENV) or None
    if token is not None and not (token.isascii() and token.isprintable()
                                  and not any(c.isspace() for c in token)):
        # Headers lose surrounding spaces and cookies refuse some characters: a token only the
        # URL could carry would lock out every script and the page's own requests.
        raise SamDetectError("the token must be printable ASCII without spaces")
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise SamDetectError(f"the token is too short; use at least {MIN_TOKEN_LENGTH} "
                             "characters")
    if token is None and not is_loopback(host):
        raise SamDetectError(
            f"--host {host} is reachable from other machines: give --token or set "
            f"${TOKEN_ENV} (or bind 127.0.0.1)")
    return token


def example_id(value: str) -> int | str:
    """Return a stored example's id from a URL: ASCII digits (below 2^64) or a UUID.

    Raises:
        NotFoundError: for anything else (``²``, a full-width ``１``, a name).

    Example:
        >>> example_id("12"), example_id("6f1c36b0-5d36-4e59-9d3a-1c2e7c0b8e1a")
        (12, '6f1c36b0-5d36-4e59-9d3a-1c2e7c0b8e1a')
    """
    from sam_detect.annotate.session import NotFoundError

    if value.isascii() and value.isdigit() and int(value) < 2 ** 64:
        return int(value)
    try:
        if len(value) == 36:
            return str(uuid.UUID(value))
    except ValueError:
        pass
    raise NotFoundError(f"no stored example {value[:40]!r}: ids are numbers or UUIDs")


def create_app(session: Any, token: str | None = None,
               max_body_bytes: int = MAX_BODY_BYTES) -> Any:
    """Return the FastAPI app serving the page and the JSON API of ``session``.

    Args:
        session: An :class:`~sam_detect.annotate.session.AnnotationSession`.
        token: When set, every request must carry it (``Authorization: Bearer``, the
            ``X-Token`` header, or the cookie set by opening ``/?token=...`` once); when None,
            only requests to a loopback name (``127.0.0.1``, ``localhost``, ``[::1]``) are served.
        max_body_bytes: Larger request bodies are refused with 413 (never read past this).
    """
    require_extra("fastapi", "ui", "the annotation UI")
    from fastapi import FastAPI, HTTPException, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles

    from sam_detect.annotate.guard import RequestGuard
    from sam_detect.annotate.schemas import PromptRequest, RelabelRequest, SaveRequest, Target
    from sam_detect.annotate.session import ConflictError, label_colours, NotFoundError

    app = FastAPI(title="sam_detect annotate", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.session = session

    app.add_middleware(RequestGuard, token=token, max_body_bytes=max_body_bytes)
    root = getattr(session.source, "root", None)

    def public(message: str) -> str:
        """Return an error message fit for the page: one line, no absolute server path."""
        message = " ".join(str(message).split())
        if root is not None:  # name pictures relative to the folder, as the page does
            message = message.replace(f"{root}{os.sep}", "").replace(str(root), ".")
        return message

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Any:
        # FastAPI's own handler echoes the input, which JSON cannot carry when it is NaN or
        # 1e400 (a 500); the field and the problem are what a client needs.
        problems = ["{}: {}".format(".".join(str(part) for part in error.get("loc", ())),
                                    error.get("msg", "invalid"))
                    for error in exc.errors()[:5]]
        return JSONResponse({"detail": public("; ".join(problems) or "invalid request")}, 422)

    @app.exception_handler(SamDetectError)
    async def library_error(request: Request, exc: SamDetectError) -> Any:
        status = (404 if isinstance(exc, NotFoundError) else 409
                  if isinstance(exc, ConflictError) else 400)
        return JSONResponse({"detail": public(str(exc))}, status)

    @app.get("/", include_in_schema=False)
    def page() -> Any:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    def check_index(index: int) -> None:
        count = len(session.names())
        if not 0 <= index < count:
            raise HTTPException(404, f"no image {index}; there are {count}")

    @app.get("/api/state")
    def state() -> Any:
        names = session.names()
        return {"live": bool(session.source.live), "count": len(names), "names": names,
                "labels": session.labels(), "masker": session.masker.name,
                "colours": label_colours(list(session.labels())),
                "max_body_bytes": max_body_bytes}

    @app.get("/api/images/{index}")
    def view(index: int) -> Any:
        check_index(index)
        return session.view(index)

    @app.get("/api/images/{index}/jpeg")
    def image(index: int) -> Any:
        check_index(index)
        return Response(session.image_jpeg(index), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/api/images/{index}/prompt")
    def prompt(index: int, request: PromptRequest) -> Any:
        check_index(index)
        return session.prompt(index, request.points or None, request.labels, request.box)

    @app.get("/api/prompts/{prompt_id}")
    def prompt_candidates(prompt_id: str) -> Any:
        if len(prompt_id) > 64:
            raise HTTPException(404, "no such prompt")
        return session.prompt_candidates(prompt_id)

    @app.post("/api/images/{index}/save")
    def save(index: int, request: SaveRequest) -> Any:
        check_index(index)
        return session.save(index, request.label, request.instance, request.prompt,
                            request.candidate,
                            None if request.mask is None else request.mask.model_dump())

    @app.post("/api/images/{index}/explain")
    def explain(index: int, request: Target) -> Any:
        check_index(index)
        return session.explain(index, request.instance, request.prompt, request.candidate)

    @app.post("/api/images/{index}/similar")
    def similar(index: int, request: SaveRequest) -> Any:
        check_index(index)
        return session.label_similar(index, request.label, request.instance, request.prompt,
                                     request.candidate)

    @app.post("/api/undo")
    def undo() -> Any:
        return session.undo()

    @app.get("/api/labels")
    def labels() -> Any:
        return session.labels()

    @app.get("/api/examples")
    def examples(label: str | None = Query(None, max_length=256),
                 limit: int = Query(200, ge=1, le=1000)) -> Any:
        return session.examples(label=label, limit=limit)

    @app.get("/api/examples/{point_id}")
    def example(point_id: str) -> Any:
        found = session.examples(ids=[example_id(point_id)], limit=1)
        if not found:
            raise HTTPException(404, f"no stored example {point_id}")
        return found[0]

    @app.delete("/api/examples/{point_id}")
    def delete(point_id: str) -> Any:
        return session.delete_example(example_id(point_id))

    @app.post("/api/examples/{point_id}/relabel")
    def relabel(point_id: str, request: RelabelRequest) -> Any:
        return session.relabel_example(example_id(point_id), request.label)

    @app.get("/api/hard")
    def hard(limit: int = Query(20, ge=1, le=200)) -> Any:
        return session.hard_examples(limit)

    @app.get("/api/export/coco")
    def export() -> Any:
        return JSONResponse(session.export_coco(), headers={
            "Content-Disposition": 'attachment; filename="annotations.coco.json"'})

    @app.post("/api/freeze")
    def freeze() -> Any:
        return session.freeze()

    return app


def listen(host: str, port: int) -> socket.socket:
    """Return a socket bound to ``host:port`` and listening, for uvicorn to serve on.

    Raises:
        SamDetectError: for a port outside 1-65535, or an address that cannot be bound (in use,
            not this machine's, no permission), in one line.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise SamDetectError(f"port must be a number from 1 to 65535, got {port!r}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as error:
        raise SamDetectError(f"cannot listen on {host}:{port}: "
                             f"{getattr(error, 'strerror', None) or error}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise SamDetectError(f"cannot listen on {host}:{port}: {error.strerror or error}"
                             + (" (another program uses that port; pick another with --port)"
                                if error.errno == errno.EADDRINUSE else "")) from None
    return sock


class ServerThread:
    """A uvicorn server running in a daemon thread; :meth:`stop` ends it."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # not the main thread's signals
        self.thread = threading.Thread(target=self.server.run, name="annotate-http",
                                       daemon=True)
        self.host, self.port = host, port

    def start(self, timeout: float = 10.0) -> "ServerThread":
        """Start serving; wait until the socket accepts connections."""
        import time

        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise SamDetectError(f"the annotation server could not listen on "
                                     f"{self.host}:{self.port} (port in use?)")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        """Return the page's address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = self.port
        if port == 0 and self.server.servers:
            port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        """Ask the server to finish, wait for its thread, and stop the session's encoder."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        session = getattr(getattr(self.server.config.app, "state", None), "session", None)
        if session is not None:
            session.close()


class AnnotationUI:
    """Teach a detector in the browser: masks, suggested labels, a gallery and COCO export.

    Args:
        detector: The :class:`~sam_detect.SAMDetect` to teach.
        token: Required on every request when set; needed to bind anything but localhost
            (falls back to ``$SAM_DETECT_TOKEN``).

    Example:
        >>> from sam_detect import AnnotationUI, SAMDetect        # doctest: +SKIP
        >>> AnnotationUI(SAMDetect()).run(image_directory="photos/", port=8000)  # doctest: +SKIP
    """

    def __init__(self, detector: Any, token: str | None = None, **session_options: Any) -> None:
        self.detector = detector
        self.token = token
        self.session_options = session_options

    def app(self, image_directory: str | os.PathLike[str] | None = None, source: Any = None,
            host: str = "127.0.0.1") -> Any:
        """Return the FastAPI app for a folder (or any session source) without serving it."""
        from sam_detect.annotate.session import AnnotationSession, FolderSource

        if source is None:
            if image_directory is None:
                raise SamDetectError("give image_directory (a folder of images)")
            source = FolderSource(image_directory)
        token = resolve_token(host, self.token)
        session = AnnotationSession(self.detector, source, **self.session_options)
        return create_app(session, token=token)

    def serve(self, image_directory: str | os.PathLike[str] | None = None, port: int = 8000,
              host: str = "127.0.0.1", source: Any = None) -> ServerThread:
        """Serve in a background thread; returns the running :class:`ServerThread`."""
        return ServerThread(self.app(image_directory, source, host), host, port).start()

    def run(self, image_directory: str | os.PathLike[str] | None = None, port: int = 8000,
            host: str = "127.0.0.1") -> None:
        """Serve until Ctrl-C (blocking), printing the address to open."""
        import uvicorn

        app = self.app(image_directory, host=host)
        try:
            # Listen first: an address in use is one line, before any URL is printed.
            listening = listen(host, port)
        except SamDetectError:
            app.state.session.close()
            raise
        shown = f"[{host}]" if ":" in host else host
        print(f"annotate: open http://{shown}:{port}/"
              + ("  (append ?token=<your token> once)" if self.token or
                 os.environ.get(TOKEN_ENV) else ""), flush=True)
        try:
            config = uvicorn.Config(app, host=host, port=port, access_log=False,
                                    log_level="warning")
            uvicorn.Server(config).run(sockets=[listening])
        finally:
            listening.close()
            app.state.session.close()


__all__ = ["AnnotationUI", "ServerThread", "create_app", "example_id", "is_loopback", "listen",
           "resolve_token"]
