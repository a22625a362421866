# Copyright 2026 The sam_detect_ros Authors
# SPDX-License-Identifier: MIT
"""The annotation UI's HTTP side: a FastAPI app over an :class:`AnnotationSession`.

Safe by default: :class:`AnnotationUI` binds 127.0.0.1; any other host needs a token
(``token=`` / ``--token`` or ``$SAM_DETECT_TOKEN``), checked in constant time on every request
and never logged (uvicorn's access log, which prints URLs, is off). Request bodies are capped,
pictures and examples are addressed by index or id (never by path), and a bad request gets a
one-line 4xx before anything is written.

(No ``from __future__ import annotations`` here: FastAPI reads the route functions'
annotations, and the request models are imported inside :func:`create_app`.)
"""

import hmac
import ipaddress
import logging
import os
import threading
from pathlib import Path
from typing import Any

from sam_detect.errors import SamDetectError, require_extra

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 64 * 1024
TOKEN_ENV = "SAM_DETECT_TOKEN"
TOKEN_COOKIE = "sam_detect_token"


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


def resolve_token(host: str, token: str | None) -> str | None:
    """Return the token to require: the given one, else ``$SAM_DETECT_TOKEN``.

    Raises:
        SamDetectError: when ``host`` is reachable from other machines and there is no token.
    """
    token = token or os.environ.get(TOKEN_ENV) or None
    if token is not None and len(token) < 8:
        raise SamDetectError("the token is too short; use at least 8 characters")
    if token is None and not is_loopback(host):
        raise SamDetectError(
            f"--host {host} is reachable from other machines: give --token or set "
            f"${TOKEN_ENV} (or bind 127.0.0.1)")
    return token


def _example_id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def create_app(session: Any, token: str | None = None,
               max_body_bytes: int = MAX_BODY_BYTES) -> Any:
    """Return the FastAPI app serving the page and the JSON API of ``session``.

    Args:
        session: An :class:`~sam_detect.annotate.session.AnnotationSession`.
        token: When set, every request must carry it (``Authorization: Bearer``, the
            ``X-Token`` header, or the cookie set by opening ``/?token=...`` once).
        max_body_bytes: Larger request bodies are refused with 413.
    """
    require_extra("fastapi", "ui", "the annotation UI")
    from fastapi import FastAPI, HTTPException, Query, Request
    from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
    from fastapi.staticfiles import StaticFiles

    from sam_detect.annotate.schemas import PromptRequest, RelabelRequest, SaveRequest, Target
    from sam_detect.annotate.session import NotFoundError, label_colours

    app = FastAPI(title="sam_detect annotate", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.session = session

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
            return JSONResponse({"detail": f"request body over {max_body_bytes} bytes"}, 413)
        if request.method in ("POST", "PUT", "PATCH") and length is None:
            body = await request.body()  # chunked upload: read, but never more than allowed
            if len(body) > max_body_bytes:
                return JSONResponse({"detail": f"request body over {max_body_bytes} bytes"}, 413)
        if token is not None:
            given = request.query_params.get("token")
            if given is not None and hmac.compare_digest(given.encode(), token.encode()):
                # The page's URL should not keep the token: move it into a cookie.
                response = RedirectResponse(str(request.url.remove_query_params("token")), 303)
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
                return response
            header = request.headers.get("authorization", "")
            candidates = [request.headers.get("x-token", ""),
                          header[7:] if header.lower().startswith("bearer ") else "",
                          request.cookies.get(TOKEN_COOKIE, "")]
            if not any(c and hmac.compare_digest(c.encode(), token.encode())
                       for c in candidates):
                return JSONResponse({"detail": "a valid token is required (open the URL "
                                               "with ?token=... once)"}, 401)
        return await call_next(request)

    @app.exception_handler(SamDetectError)
    async def library_error(request: Request, exc: SamDetectError) -> Any:
        status = 404 if isinstance(exc, NotFoundError) else 400
        return JSONResponse({"detail": " ".join(str(exc).split())}, status)

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
        return {"live": bool(session.source.live), "count": len(names), "names": names[:5000],
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
        found = session.examples(ids=[_example_id(point_id)], limit=1)
        if not found:
            raise HTTPException(404, f"no stored example {point_id}")
        return found[0]

    @app.delete("/api/examples/{point_id}")
    def delete(point_id: str) -> Any:
        return session.delete_example(_example_id(point_id))

    @app.post("/api/examples/{point_id}/relabel")
    def relabel(point_id: str, request: RelabelRequest) -> Any:
        return session.relabel_example(_example_id(point_id), request.label)

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
        print(f"annotate: open http://{host}:{port}/"
              + ("  (append ?token=<your token> once)" if self.token or
                 os.environ.get(TOKEN_ENV) else ""), flush=True)
        try:
            uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
        finally:
            app.state.session.close()


__all__ = ["AnnotationUI", "ServerThread", "create_app", "is_loopback", "resolve_token"]
