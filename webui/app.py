"""The web console's application factory, and the port-80 redirect to HTTPS."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

VERSION = "0.1.0"


def create_app() -> FastAPI:
    """The console on 443."""
    app = FastAPI(title="Burrow console", version=VERSION, docs_url=None, redoc_url=None)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"service": "webui", "status": "ok", "version": VERSION}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>Burrow</title></head><body><h1>Burrow</h1>"
            "<p>The web console is being built.</p></body></html>"
        )

    return app


def create_redirect_app() -> FastAPI:
    """Port 80: every request is redirected to the same path over HTTPS."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"])
    def redirect(request: Request, path: str) -> RedirectResponse:
        host = (request.headers.get("host") or "").split(":")[0] or "localhost"
        target = f"https://{host}/{path}"
        if request.url.query:
            target += f"?{request.url.query}"
        return RedirectResponse(target, status_code=308)

    return app
