"""Serve ASGI applications over TLS with uvicorn, several ports in one process if needed.

A program that needs root only to bind its ports and read its key (the web console) passes
``user``: every listener's TLS context is loaded and its socket bound first, then the process
gives up root for good (``drop_privileges``) before it serves a single request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from services.common import priority
from services.common.pki import CertPaths

log = logging.getLogger(__name__)


class QuickStopProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, dropping an idle kept-alive connection at once when the
    server stops.

    uvicorn closes such a connection and waits until it is gone; over TLS the close waits for
    the client's close_notify, which a client holding the connection in its pool does not send
    until it next uses it. A stopping agent waited up to its graceful-shutdown limit for
    Central's pooled connections (2 s and more per listener, every appliance stop and restart).
    A connection in the middle of a request still finishes it, as before.
    """

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.abort()
        else:
            super().shutdown()


@dataclass
class Listener:
    """One port an application is served on."""

    app: Any
    port: int
    host: str = "0.0.0.0"
    tls: CertPaths | None = None
    client_ca: str | None = None  # set: clients must present a certificate from this CA
    sock: socket.socket | None = None  # set: serve on this bound socket (see ``bind``)


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
        http=QuickStopProtocol,
        log_level="info",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        **kwargs,
    )


def _tcp_socket(sock: socket.socket) -> socket.socket:
    """``sock`` as a socket whose protocol is TCP, so that its connections get TCP_NODELAY.

    uvicorn's ``bind_socket`` makes the socket with protocol 0, accepted connections inherit
    it, and asyncio sets TCP_NODELAY only on sockets whose protocol is ``IPPROTO_TCP``. Without
    it, Nagle's algorithm holds a response's body (written after its headers) until the client
    acknowledges the headers, and clients delay that acknowledgement by 40 ms: every response
    on a kept-alive connection took 40 ms or more, whatever the server's load.
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to ``host``:``port``.

    ``reuse_port``: several processes of the same user each bind a socket of their own to the
    port, and the kernel spreads new connections over them evenly (SO_REUSEPORT).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def drop_privileges(user: str) -> None:
    """Become ``user`` (its uid and primary group, no supplementary groups) irrevocably.

    Called as root only; a process that is not root already runs unprivileged and keeps its
    identity. Afterwards the process has no capabilities, so it cannot bind a privileged port,
    read root's files or become root again.
    """
    if os.getuid() != 0:
        return
    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    if os.getuid() == 0 or os.geteuid() == 0:  # pragma: no cover - the kernel refused
        raise RuntimeError(f"could not give up root for {user}")
    log.info("running as %s (uid %d) from now on", user, entry.pw_uid)


async def _serve_all(listeners: list[Listener], user: str | None) -> None:
    configs = [_config(item) for item in listeners]
    sockets = []
    for listener, config in zip(listeners, configs, strict=True):
        config.load()  # reads the certificate and key now, while they are still readable
        sockets.append(_tcp_socket(listener.sock or config.bind_socket()))
    if user is not None:
        drop_privileges(user)
    servers = [uvicorn.Server(config) for config in configs]
    await asyncio.gather(
        *(server.serve(sockets=[sock]) for server, sock in zip(servers, sockets, strict=True))
    )


def serve(*listeners: Listener, user: str | None = None) -> None:
    """Serve until interrupted (SIGINT or SIGTERM); as ``user`` once the ports are bound."""
    priority.serving()  # while still root
    asyncio.run(_serve_all(list(listeners), user))
