"""What every agent shares: its command line, enrolment, health endpoint and mTLS listener.

The enrolment, the revocation check and the command line are in
``services.common.enrolment`` (no web framework there) and re-exported here.

An agent listens only with mutual TLS and answers Central alone: a caller must present
Central's client certificate (``pki/central-client.crt``), that is a certificate

- signed by the appliance CA (``pki/ca/ca.crt``),
- made for clients (its extended key usage is clientAuth),
- whose subject is exactly ``CN=Burrow Central (client)`` (``pki.CENTRAL_CLIENT_NAME``: the
  CA gives that name to Central's client certificate only), and
- whose serial number is not in the CA's revocation list (``pki/crl.pem``).

The first two are checked by OpenSSL during the TLS handshake (no certificate, another CA's,
or a server's certificate such as the web console's or another agent's: the handshake
fails, which asyncio does not log); the last two right after it, where a refusal is logged in
one line and the connection dropped before a byte of the request is read. ``GET /health`` is
no exception: the harness and Central call it with Central's client certificate
(``mtls_context``).

At its first start an agent has no certificate: it makes a key and a certificate request and
enrols at Central (``POST /api/v1/enrol``) with the one-time token it finds in
``var/lib/burrow/secrets/enrol-NAME.token`` (Central writes those for the agents of its own
appliance; for another appliance an administrator puts it there). Central signs the request
and pins the certificate. Later starts use the stored certificate and start at once.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common import priority, problems
from services.common.agent_contract import AgentHealth
from services.common.backup.files import mark_daemons_changed
from services.common.enrolment import (
    CENTRAL_URL_ENV,
    DEFAULT_CENTRAL_URL,
    EnrolmentError,
    RevocationGuard,
    agent_cert,
    ca_file,
    central_client_cert,
    crl_file,
    enrol,
    enrolment_token_file,
    ensure_enrolled,
    file_stamp,
    fleet_ca_file,
    fleet_cert,
    fleet_crl_file,
    listening_cert,
    mtls_context,
    run_agent,
    trusted_cas,
)
from services.common.errors import ConflictError, ValidationError
from services.common.files import write_atomic
from services.common.paths import StateRoot
from services.common.pki import CertPaths, is_central_client, load_cert

__all__ = [
    "CENTRAL_URL_ENV",
    "DEFAULT_CENTRAL_URL",
    "DaemonProbe",
    "EnrolmentError",
    "RevocationGuard",
    "agent_app",
    "agent_cert",
    "ca_file",
    "central_client_cert",
    "crl_file",
    "enrol",
    "enrolment_token_file",
    "ensure_enrolled",
    "install_crl",
    "mtls_context",
    "mtls_server",
    "run_agent",
    "serve_mtls",
    "serve_servers",
]

log = logging.getLogger(__name__)

VERSION = "0.1.0"

#: A health probe of the daemon an agent drives: returns facts, raises when unhealthy.
DaemonProbe = Callable[[StateRoot], dict[str, Any]]


def _subject(peer: dict[str, Any] | None) -> str:
    """A peer certificate's subject as ``CN=x, O=y`` (for a log line)."""
    if not peer:
        return "none"
    names = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU"}
    parts = [f"{names.get(k, k)}={v}" for rdn in peer.get("subject", ()) for k, v in rdn]
    return ", ".join(parts) or "empty"


def refusal(peer: dict[str, Any] | None, guard: RevocationGuard) -> str | None:
    """Why a caller whose certificate passed the handshake is refused, or None: it must be
    Central's client certificate, not revoked."""
    if not peer:
        return "no client certificate"
    if not is_central_client(peer):
        return f"the client certificate ({_subject(peer)}) is not Central's"
    if not guard.allows(int(str(peer["serialNumber"]), 16)):
        return f"the client certificate {peer['serialNumber']} is revoked"
    return None


def _guarded_protocol(guard: RevocationGuard, port: int) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol, dropping a connection whose client certificate is not
    Central's or is revoked, right after the handshake."""
    from services.common.serve import QuickStopProtocol

    class GuardedProtocol(QuickStopProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            peer = ssl_object.getpeercert() if ssl_object is not None else None
            reason = refusal(peer, guard)
            if reason is not None:
                host, client_port = self.client or ("?", 0)
                log.warning("refused %s:%s on %d: %s", host, client_port, port, reason)
                transport.abort()

    return GuardedProtocol


def _server_context(root: StateRoot, tls: CertPaths) -> ssl.SSLContext:
    """A listener's context: shows ``tls``, asks every client for a certificate of a trusted
    CA (the appliance CA, and a fleet's managing Central's, ``trusted_cas``)."""
    cas = trusted_cas(root)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(cas[0]))
    for extra in cas[1:]:
        ctx.load_verify_locations(cafile=str(extra))
    ctx.load_cert_chain(str(tls.cert), str(tls.key))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class FleetContexts:
    """The listener's context follows the appliance's fleet membership without a restart.

    Joining or leaving a fleet writes or removes ``pki/fleet`` (``fleet_dir``): from the next
    connection on, the agent shows the fleet's certificate (or its own again) and trusts the
    managing Central's CA (or no longer). The switch happens in the TLS server-name callback,
    which OpenSSL calls for every handshake, with or without a server name, before the
    certificate is chosen; ``SSLObject.context`` set there changes the certificate and the
    CAs the client's certificate is checked against.
    """

    def __init__(self, root: StateRoot, name: str, own: CertPaths) -> None:
        self.root = root
        self.name = name
        self.own = own
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[int, int], ...] | None = None
        self._context: ssl.SSLContext | None = None

    def _files(self) -> tuple[tuple[int, int], ...]:
        fleet = fleet_cert(self.root, self.name)
        return tuple(file_stamp(p) for p in (fleet_ca_file(self.root), fleet.cert, fleet.key))

    def current(self) -> ssl.SSLContext:
        stamp = self._files()
        with self._lock:
            if self._context is None or stamp != self._stamp:
                tls = listening_cert(self.root, self.name, self.own)
                try:
                    context = _server_context(self.root, tls)
                except (OSError, ssl.SSLError) as exc:  # half written: the last one serves
                    if self._context is None:
                        raise
                    log.warning("%s keeps its certificate for now: %s", self.name, exc)
                    return self._context
                context.sni_callback = self._switch
                if self._context is not None:
                    log.info("%s now shows %s", self.name, tls.cert)
                self._context, self._stamp = context, stamp
            return self._context

    def _switch(self, conn: Any, _server_name: str | None, base: ssl.SSLContext) -> None:
        current = self.current()
        if current is not base:
            conn.context = current


def mtls_server(
    app: FastAPI,
    root: StateRoot,
    tls: CertPaths,
    port: int,
    host: str,
    *,
    name: str | None = None,
) -> Any:
    """A uvicorn server of ``app`` on ``host:port`` that answers only Central's client
    certificate, unrevoked (not started). With the agent's ``name`` (``tls`` its own
    certificate), the certificate shown follows the fleet membership (``FleetContexts``)."""
    import uvicorn

    guard = RevocationGuard(root)
    contexts = FleetContexts(root, name, tls) if name is not None else None

    def context(_config: Any, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        if contexts is not None:
            return contexts.current()
        return _server_context(root, tls)

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_guarded_protocol(guard, port),
        ssl_context_factory=context,
        log_level="info",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


def serve_mtls(
    app: FastAPI, root: StateRoot, tls: CertPaths, port: int, host: str, *, name: str | None = None
) -> None:
    """Serve ``app`` on ``host:port`` to Central's client certificate alone."""
    serve_servers([mtls_server(app, root, tls, port, host, name=name)])


def serve_servers(servers: list[Any]) -> None:
    """Run uvicorn servers in one event loop until SIGTERM or SIGINT stops all of them.

    Each server catches the signal in turn and passes it on when it has stopped, so one
    signal stops every listener of the process.
    """

    async def serve_all() -> None:
        await asyncio.gather(*(server.serve() for server in servers))

    priority.serving()
    asyncio.run(serve_all())


# --- the application ---------------------------------------------------------------------
#: Requests that may change named or Kea; a preview and a new revocation list change neither.
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_CHANGES = ("/preview", "/pki/crl", "/caching/flush")


class ChangeMarker:
    """ASGI middleware of the dns-agent and the dhcp-agent: after a write it answered with
    success, touch the backup producer's ``daemons-changed`` file, so that a change reaches
    the backup peer within a second whichever Central made it (on an appliance in a fleet,
    the managing Central's changes never pass through the appliance's own Central)."""

    def __init__(self, app: ASGIApp, root: StateRoot) -> None:
        self.app = app
        self.root = root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in CHANGING_METHODS
            or str(scope["path"]).endswith(NOT_CHANGES)
        ):
            await self.app(scope, receive, send)
            return
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, sending)
        if 200 <= status < 400:
            mark_daemons_changed(self.root)


def agent_app(
    name: str,
    root: StateRoot,
    probe: DaemonProbe | None = None,
    *,
    max_body: int = problems.AGENT_MAX_BODY,
    marks_changes: bool = False,
) -> FastAPI:
    """An agent application with ``GET /health`` and ``PUT /pki/crl``; its errors are problem
    answers (``services.common.problems``) and bodies over ``max_body`` bytes are refused.
    With ``marks_changes`` each successful write touches the backup trigger (``ChangeMarker``)."""
    app = FastAPI(title=f"Burrow {name}", version=VERSION, docs_url=None, redoc_url=None)
    problems.install(app, service=name, max_body=max_body)
    if marks_changes:
        app.add_middleware(ChangeMarker, root=root)
    started = time.time()

    @app.get("/health", response_model_exclude_none=True)
    def health() -> AgentHealth:
        """The agent is up; what it sees of the daemon it drives."""
        daemon: dict[str, Any] | None = None
        if probe is not None:
            try:
                daemon = probe(root)
            except Exception as exc:  # the agent is up; say what is wrong below it
                daemon = {"status": "unreachable", "error": str(exc)}
        return AgentHealth(
            service=name,
            status="ok",
            version=VERSION,
            uptime_seconds=round(time.time() - started, 3),
            daemon=daemon,
        )

    @app.put("/pki/crl", status_code=204, responses=problems.RESPONSES)
    async def replace_crl(request: Request) -> None:
        """Take a newer revocation list from Central (PEM, signed by the appliance CA; one
        older than the list in use is refused with 409)."""
        data = await request.body()
        install_crl(root, data)

    return app


def install_crl(root: StateRoot, data: bytes) -> None:
    """Store ``data`` as the CRL if the CA signed it and it is not older than the current one."""
    from cryptography import x509

    try:
        new = x509.load_pem_x509_crl(data)
    except ValueError as exc:
        raise ValidationError("The body is not a PEM revocation list.", field="body") from exc
    path = crl_file(root)
    if not new.is_signature_valid(load_cert(ca_file(root)).public_key()):  # type: ignore[arg-type]
        # In a fleet the managing Central sends its own CA's list (docs/fleet.md).
        fleet_ca = fleet_ca_file(root)
        if not fleet_ca.exists() or not new.is_signature_valid(
            load_cert(fleet_ca).public_key()  # type: ignore[arg-type]
        ):
            raise ValidationError(
                "The revocation list is not signed by the appliance CA.", field="body"
            )
        path = fleet_crl_file(root)
    if path.exists():
        old = x509.load_pem_x509_crl(path.read_bytes())
        if new.last_update_utc < old.last_update_utc:
            raise ConflictError("The revocation list is older than the one in use.", field="body")
    write_atomic(path, data, mode=0o644)
