"""The web console's application factory, and the port-80 redirect to HTTPS."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.common.paths import StateRoot
from webui import vendor
from webui.central import DEFAULT_URL, ApiError, Central, CentralDownError, SessionGoneError
from webui.forms import in_words
from webui.pages import (
    appliance,
    auth,
    backups,
    caching,
    dashboard,
    dhcp,
    dns,
    fleet,
    history,
    ipam,
    ipam_discovery,
    monitoring,
    servers,
    settings,
    users,
)
from webui.session import COOKIE, CookieSealer
from webui.web import Console, CsrfRefusedError, LoginNeededError, current_session, redirect, render

VERSION = "0.1.0"
STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger(__name__)

#: Scripts and styles only from the console itself: no inline script, no inline style.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
#: The heading of the error page for an answer of Central that is no form's refusal.
ERROR_TITLES = {
    404: "Not found",
    502: "A server behind Central failed",
    503: "Not available now",
    504: "No answer in time",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass(frozen=True)
class ConsoleConfig:
    """Where the console finds Central, the CA that signed Central, and its cookie key."""

    central_url: str
    ca_file: Path
    cookie_key_file: Path
    #: shared with Central: logins then count against the browser's address, not the console's
    client_key_file: Path | None = None

    @classmethod
    def from_root(cls, root: StateRoot, central_url: str = DEFAULT_URL) -> ConsoleConfig:
        return cls(
            central_url,
            root.pki / "ca" / "ca.crt",
            root.secrets / "webui-cookie.key",
            root.console_client_key,
        )

    def client_key(self) -> str | None:
        if self.client_key_file is None:
            return None
        try:
            return self.client_key_file.read_text().strip() or None
        except OSError:
            return None


def create_app(config: ConsoleConfig) -> FastAPI:
    """The console on 443."""

    # Read now, while the process is still root: it gives root up once its ports are bound
    # (services.common.serve), and the CA's directory and the cookie key are root's alone.
    central = Central(config.central_url, config.ca_file, client_key=config.client_key())
    sealer = CookieSealer.from_file(config.cookie_key_file)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.console = Console(central, sealer)
        if not vendor.HTMX_FILE.exists():
            log.warning("htmx is missing (python -m webui.vendor); pages work without it")
        try:
            yield
        finally:
            central.close()

    app = FastAPI(
        title="Burrow console",
        version=VERSION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginNeededError)
    async def login_needed(request: Request, _exc: LoginNeededError) -> Response:
        params: dict[str, str] = {}
        if request.method == "GET":
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        else:  # a form sent after the session ended: back to the page it was sent from
            referer = urlsplit(request.headers.get("referer") or "")
            here = referer.path + (f"?{referer.query}" if referer.query else "")
        if here.startswith("/") and here not in ("/", "/login"):
            params["next"] = here
        if request.cookies.get(COOKIE) or request.method != "GET":
            # There was a session (its cookie, or a form sent from a page of it): it ended.
            params["done"] = "expired"
        target = "/login" + ("?" + urlencode(params) if params else "")
        response = redirect(request, target)
        if request.cookies.get(COOKIE):
            response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    @app.exception_handler(SessionGoneError)
    async def session_gone(request: Request, exc: SessionGoneError) -> Response:
        said = str(exc)
        done = "disabled" if "disabled" in said else "revoked" if "revoked" in said else "expired"
        response = redirect(request, f"/login?done={done}")
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    @app.exception_handler(CsrfRefusedError)
    async def csrf_refused(request: Request, _exc: CsrfRefusedError) -> Response:
        log.warning("refused a write without a valid CSRF token: %s", request.url.path)
        return render(
            request, "error.html", None, 403,
            title="Refused",
            message="This form is out of date or did not come from this console; "
            "reload the page and try again.",
        )  # fmt: skip

    @app.exception_handler(CentralDownError)
    async def central_down(request: Request, exc: CentralDownError) -> Response:
        return render(
            request, "error.html", None, 503, title="Central is not answering", message=str(exc)
        )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        session = None
        with contextlib.suppress(LoginNeededError, SessionGoneError, CentralDownError, ApiError):
            session = current_session(request)
        title = ERROR_TITLES.get(exc.status, "Central refused")
        return render(
            request, "error.html", session, exc.status, title=title, message=in_words(exc)
        )

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"service": "webui", "status": "ok", "version": VERSION}

    for module in (
        auth, dashboard, dns, dhcp, caching, ipam, ipam_discovery, servers, history, users,
        settings, monitoring, appliance, backups, fleet,
    ):  # fmt: skip
        app.include_router(module.router)
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
