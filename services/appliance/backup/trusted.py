"""A restore without the code, from the one peer Central this appliance was told to trust.

An appliance set up as a replacement may be given, in its first-boot settings, the peer
Central that keeps the lost appliance's backups: ``restore_from`` in appliance.json, its
address and the SHA-256 fingerprint of its listener's certificate (``central.crt``, as that
Central shows it with a pairing token). Such an appliance, while ``uninitialized``, also
serves the restore receiver on 4605/tcp with mutual TLS: the client must present exactly that
Central's client certificate (``central-client.crt``, clientAuth only; the only trust anchor
of this listener, checked again by fingerprint when the connection is made). A push arriving
there needs no restore code: that Central has proved who it is, and the administrator who
wrote its fingerprint into this appliance's settings chose it. This is what Central's
``backup_auto_approve`` policy uses; without ``restore_from`` the listener does not exist and
every restore needs the code shown on the console (port 4604).

The client certificate is fetched from ``GET https://restore_from.address:1231/api/v1/
certificates/central-client`` over a connection whose server certificate must have the
fingerprint given, checked before the request is sent; a Central that shows another
certificate is logged and asked again later, and nothing is trusted meanwhile. A Central
made before certificates had one purpose has no such route (404): it presents its
listener's certificate (then good for clients too) to 4605, and that one is trusted.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509

from services.appliance.backup import paths
from services.appliance.backup import state as appliance_state
from services.common.agent import agent_cert
from services.common.files import write_atomic
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings

log = logging.getLogger(__name__)

PORT = 4605
CENTRAL_PORT = 1231
#: Where a Central serves its client certificate (central.registry.routes).
CLIENT_CERTIFICATE_PATH = "/api/v1/certificates/central-client"


def normal(value: str) -> str:
    """``sha256:<hex>`` from the forms people write (``sha256:ab…``, ``AB:CD:…``)."""
    text = value.strip().lower().removeprefix("sha256:").replace(":", "").replace(" ", "")
    return "sha256:" + text


def fingerprint_of_der(der: bytes) -> str:
    return "sha256:" + hashlib.sha256(der).hexdigest()


def peer_file(root: StateRoot) -> Path:
    return paths.restore_dir(root) / "trusted-central.pem"


def fetch_peer_certificate(address: str, pin: str, timeout: float = 5.0) -> str:
    """The PEM client certificate of the Central at ``address``, fetched over HTTPS from a
    listener whose certificate has the fingerprint ``pin`` (else ``ssl.SSLError``, nothing
    sent). A Central without the route (404) presents its listener's certificate instead."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # trust comes from the pinned fingerprint below
    conn = http.client.HTTPSConnection(address, CENTRAL_PORT, context=context, timeout=timeout)
    try:
        conn.connect()
        assert isinstance(conn.sock, ssl.SSLSocket)
        listener = conn.sock.getpeercert(binary_form=True) or b""
        seen = fingerprint_of_der(listener)
        if seen != normal(pin):
            raise ssl.SSLError(
                f"the Central at {address} presents {seen}, not the {normal(pin)} of restore_from"
            )
        conn.request("GET", CLIENT_CERTIFICATE_PATH)
        answer = conn.getresponse()
        body = answer.read()
    except http.client.HTTPException as exc:
        raise OSError(f"the Central at {address}: {exc}") from exc
    finally:
        conn.close()
    if answer.status == 404:
        return ssl.DER_cert_to_PEM_cert(listener)
    if answer.status != 200:
        raise OSError(f"the Central at {address} answered {answer.status} for its certificate")
    try:
        pem = str(json.loads(body)["certificate"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"the Central at {address} answered no certificate") from exc
    x509.load_pem_x509_certificate(pem.encode())  # ValueError if it is none
    return pem


def server_context(root: StateRoot, trusted_pem: Path) -> ssl.SSLContext:
    """TLS with the agent's certificate; the client must show the trusted Central's client
    certificate (its only trust anchor; OpenSSL also wants clientAuth in it)."""
    tls = agent_cert(root, "appliance-agent")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(tls.cert), str(tls.key))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(trusted_pem))
    # The trusted certificate is a leaf of that Central's own CA, which this appliance does
    # not have: it is the trust anchor itself.
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return ctx


def _pinned_protocol(pin: str) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol, dropping a connection whose client is not the pinned one."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class PinnedProtocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            if not der or fingerprint_of_der(der) != pin:
                log.warning("refused %s on %d: not the trusted Central", self.client, PORT)
                transport.abort()

    return PinnedProtocol


def serve_trusted(
    root: StateRoot, app_factory: Callable[[], Any], host: str, port: int = PORT
) -> threading.Thread | None:
    """Serve ``app_factory()`` on ``port`` for the trusted Central, if restore_from is set.

    Runs in a thread: fetches the Central's certificate (again and again while that Central
    cannot be reached), then serves until the agent stops. None without restore_from or when
    the appliance is not waiting for a restore.
    """
    try:
        settings = ApplianceSettings.load(root.appliance_settings)
    except Exception:  # no settings yet: nothing to trust
        return None
    seed = settings.restore_from
    if seed is None or appliance_state.load(root).state != "uninitialized":
        return None
    listener_pin = normal(seed.fingerprint)

    def run() -> None:
        import uvicorn

        delay = 2.0
        while True:
            try:
                pem = fetch_peer_certificate(str(seed.address), listener_pin)
                break
            except (OSError, ssl.SSLError, ValueError) as exc:
                log.warning("restore_from: %s; asking again in %.0f s", exc, delay)
                time.sleep(delay)
                delay = min(60.0, delay * 2)
        trusted = peer_file(root)
        trusted.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(trusted, pem, mode=0o600)
        pin = fingerprint_of_der(ssl.PEM_cert_to_DER_cert(pem))
        config = uvicorn.Config(
            app_factory(),
            host=host,
            port=port,
            http=_pinned_protocol(pin),
            ssl_context_factory=lambda _config, _default: server_context(root, trusted),
            log_level="info",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        log.info("restore_from: a restore pushed by %s (%s) needs no code", seed.address, pin)
        uvicorn.Server(config).run()

    thread = threading.Thread(target=run, name="restore-trusted", daemon=True)
    thread.start()
    return thread
