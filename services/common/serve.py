"""Serve ASGI applications over TLS with uvicorn, several ports in one process if needed."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from typing import Any

import uvicorn

from services.common.pki import CertPaths

log = logging.getLogger(__name__)


@dataclass
class Listener:
    """One port an application is served on."""

    app: Any
    port: int
    host: str = "0.0.0.0"
    tls: CertPaths | None = None
    client_ca: str | None = None  # set: clients must present a certificate from this CA


def _config(listener: Listener) -> uvicorn.Config:
    kwargs: dict[str, Any] = {}
    if listener.tls is not None:
        kwargs["ssl_certfile"] = str(listener.tls.cert)
        kwargs["ssl_keyfile"] = str(listener.tls.key)
        if listener.client_ca:
            kwargs["ssl_ca_certs"] = listener.client_ca
            kwargs["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return uvicorn.Config(
        listener.app,
        host=listener.host,
        port=listener.port,
        log_level="info",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        **kwargs,
    )


async def _serve_all(listeners: list[Listener]) -> None:
    servers = [uvicorn.Server(_config(item)) for item in listeners]
    await asyncio.gather(*(server.serve() for server in servers))


def serve(*listeners: Listener) -> None:
    """Serve until interrupted (SIGINT or SIGTERM)."""
    asyncio.run(_serve_all(list(listeners)))
