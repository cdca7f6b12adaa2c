"""The web console and the API's front door: the console's static files (chalicelib/console/), the pages the
mailed links open, GET /api/v1 (an index), /api/v1/config (what the console needs before signing in) and
/api/v1/docs (the interactive reference, Swagger UI vendored under chalicelib/console/vendor/).

The files are served by the API itself, under `make run` and on the API's stage in AWS: one origin, so the
console needs no CORS and its Content-Security-Policy's connect-src is 'self' and the WebSocket API only."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.api.http import API_PREFIX, PUBLIC, Api, Call, Reply
from chalicelib.config import get_settings
from chalicelib.headers import SECURITY_HEADERS
from chalicelib.schemas import models

schemas = models("system")

api = Api(__name__, tag="system")
pages = Blueprint(__name__)  # outside /api/v1 and outside the OpenAPI document: they are not the API

FILES = Path(__file__).resolve().parent.parent / "console"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}


def content_security_policy() -> str:
    """No inline script, no eval, nothing from elsewhere; the API (same origin) and the WebSocket API only."""
    websocket = get_settings().websocket_url
    connect = "'self'" + (f" {websocket}" if websocket else "")
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
            f"connect-src {connect}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


@functools.cache
def _file(relative: str) -> bytes | None:
    """A file of the console, read once per process; None for anything that is not one (no way out of it)."""
    path = (FILES / relative).resolve()
    if FILES not in path.parents or not path.is_file() or path.suffix not in TYPES:
        return None
    return path.read_bytes()


def _served(relative: str) -> Response:
    body = _file(relative)
    if body is None:
        return Response(body='{"success": false, "error": {"type": "not_found", "code": "NOT_FOUND", '
                             '"message": "No such file", "details": []}}',
                        status_code=404, headers={**SECURITY_HEADERS, "Content-Type": "application/json"})
    headers = {**SECURITY_HEADERS, "Content-Type": TYPES[Path(relative).suffix]}
    if relative.endswith(".html"):
        headers["Content-Security-Policy"] = content_security_policy()
    # Text bodies: API Gateway passes them as they are (no binary media types needed).
    return Response(body=body.decode("utf-8"), status_code=200, headers=headers)


@pages.route("/", methods=["GET", "HEAD"])
def console_page() -> Response:
    return _served("index.html")


@pages.route("/verify-email", methods=["GET", "HEAD"])
def verify_email_page() -> Response:
    return _served("index.html")


@pages.route("/reset-password", methods=["GET", "HEAD"])
def reset_password_page() -> Response:
    return _served("index.html")


@pages.route("/console/{name}", methods=["GET", "HEAD"])
def console_file(name: str) -> Response:
    return _served(name)


@pages.route("/console/vendor/{library}/{name}", methods=["GET", "HEAD"])
def vendored_file(library: str, name: str) -> Response:
    return _served(f"vendor/{library}/{name}")


@pages.route(API_PREFIX, methods=["GET", "HEAD"])
def index() -> Response:
    """GET /api/v1: where the console, the OpenAPI document and the reference are. Not an operation of the
    document (OpenAPI has no path for its own base), so it answers the envelope itself."""
    base = get_settings().public_base_url
    data = {"name": "The call exchange API", "console": f"{base}/", "openapi": f"{base}{API_PREFIX}/openapi.json",
            "docs": f"{base}{API_PREFIX}/docs", "health": f"{base}{API_PREFIX}/health"}
    return Response(body=json.dumps({"success": True, "data": data}), status_code=200,
                    headers={**SECURITY_HEADERS, "Content-Type": "application/json"})


@api.route("/config", "GET", summary="What a client needs before it signs in: the WebSocket API's URL", roles=PUBLIC,
           response=schemas.ConfigOut)
def config(call: Call):
    return {"websocket_url": get_settings().websocket_url, "api_version": "v1"}


@api.route("/docs", "GET", summary="The interactive API reference (Swagger UI) of the OpenAPI document", roles=PUBLIC,
           raw_media_type="text/html")
def docs(call: Call):
    served = _served("docs.html")
    return Reply(raw_body=served.body, headers=dict(served.headers))
