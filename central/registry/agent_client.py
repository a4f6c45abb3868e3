"""Central's transport to its agents: mutual TLS, and the agent's certificate must be the pinned
one.

The pin is checked right after the TLS handshake, before a single byte of the request is
sent: another certificate of the same CA (another agent on the same address, say) is refused.

A connection is kept open after an answer and used again for the next request to the same
agent (same address, port and pin) if that comes within ``REUSE_SECONDS``: a mutual TLS
handshake costs more than a small change itself. The agents' server (uvicorn) closes a
connection idle for 5 s; one idle for less than ``REUSE_SECONDS``, and that shows no sign of
being closed (nothing to read on an idle connection), is taken; any other is closed.
A failure before the request is sent is ``ConnectFailedError`` (nothing happened); one after it
is ``AnswerLostError`` (the agent may have applied it). ``services.common.agent_client`` maps
them and every answer the same way for every agent.
"""

from __future__ import annotations

import functools
import http.client
import select
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from services.common.agent_client import AnswerLostError, ConnectFailedError, plain_reason
from services.common.enrolment import central_client_cert, fleet_ca_file, mtls_context
from services.common.paths import StateRoot
from services.common.pki import CertificateAuthority, CertPaths, fingerprint_der


@dataclass(frozen=True)
class AgentAddress:
    """Where an agent listens and which certificate it must show."""

    address: str
    port: int
    fingerprint: str


def client_certificate(root: StateRoot) -> CertPaths:
    """Central's client certificate (``central-client.crt``, clientAuth only), the one
    certificate the agents accept; made from the CA when it is missing or allows another use
    (a state root restored from a backup taken before Central had one). Central's listener
    certificate (``central.crt``) is for its API alone."""
    ca = CertificateAuthority(root.pki / "ca")
    if not ca.exists():  # no CA here to make one from
        return central_client_cert(root)
    with _issuing:  # the key and the certificate written by one thread
        return ca.issue_central_client(root.pki)


_issuing = threading.Lock()


def _context(root: StateRoot) -> ssl.SSLContext:
    """Trusts the appliance CA (and, while this appliance is in a fleet, the managing
    Central's CA: its agents then show that CA's certificates); presents Central's client
    certificate. Made again when the fleet CA file comes, goes or changes."""
    try:
        stamp = fleet_ca_file(root).stat().st_mtime_ns
    except FileNotFoundError:
        stamp = 0
    return _context_at(root, stamp)


@functools.lru_cache(maxsize=8)
def _context_at(root: StateRoot, _fleet_stamp: int) -> ssl.SSLContext:
    return mtls_context(root, client_certificate(root))


#: An idle connection is used again only this soon after its last answer (see above).
REUSE_SECONDS = 2.0
#: Idle connections kept per agent.
IDLE_PER_AGENT = 4

_PoolKey = tuple[StateRoot, str, int, str]
_idle: dict[_PoolKey, list[tuple[float, http.client.HTTPSConnection]]] = {}
_idle_guard = threading.Lock()


def _closed(conn: http.client.HTTPSConnection) -> bool:
    """The idle ``conn`` was closed by the other side (or shows anything to read: not ours)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _take_idle(key: _PoolKey) -> http.client.HTTPSConnection | None:
    with _idle_guard:
        pool = _idle.get(key, [])
        while pool:
            since, conn = pool.pop()
            if time.monotonic() - since < REUSE_SECONDS and not _closed(conn):
                return conn
            conn.close()
    return None


def _put_idle(key: _PoolKey, conn: http.client.HTTPSConnection) -> None:
    with _idle_guard:
        pool = _idle.setdefault(key, [])
        pool.append((time.monotonic(), conn))
        while len(pool) > IDLE_PER_AGENT:
            _since, oldest = pool.pop(0)
            oldest.close()


class CertificateMismatchError(ConnectFailedError):
    """The agent showed a certificate other than the one pinned at its enrolment (or has
    none pinned yet): nothing was sent."""


class PinnedTransport:
    """Requests to one agent over mutual TLS with Central's client certificate, the agent's
    certificate checked against the pinned fingerprint before anything is sent."""

    def __init__(self, root: StateRoot, agent: AgentAddress) -> None:
        self.root = root
        self.agent = agent

    @property
    def where(self) -> str:
        host = f"[{self.agent.address}]" if ":" in self.agent.address else self.agent.address
        return f"{host}:{self.agent.port}"

    def request(
        self, method: str, path: str, body: bytes | None, *, content_type: str, timeout: float
    ) -> tuple[int, bytes]:
        conn, response = self._send(method, path, body, content_type, timeout)
        try:
            data = response.read()
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            conn.close()
            raise AnswerLostError(plain_reason(exc)) from exc
        if response.will_close:
            conn.close()
        else:
            _put_idle(self._key, conn)
        return response.status, data

    @property
    def _key(self) -> _PoolKey:
        return (self.root, self.agent.address, self.agent.port, self.agent.fingerprint)

    def stream(self, method: str, path: str, *, timeout: float) -> tuple[int, Iterator[bytes]]:
        """Like ``request`` without a body, the answer handed on piece by piece (a backup's
        bundle); the connection closes when the pieces are exhausted or closed."""
        conn, response = self._send(
            method, path, None, "application/octet-stream", timeout, fresh=True
        )

        def pieces() -> Iterator[bytes]:
            try:
                while piece := response.read(65536):
                    yield piece
            finally:
                conn.close()

        return response.status, pieces()

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        content_type: str,
        timeout: float,
        *,
        fresh: bool = False,
    ) -> tuple[http.client.HTTPSConnection, http.client.HTTPResponse]:
        """Connect (or take an idle connection, already checked), check the pin, send; the
        open connection and the answer's head."""
        if not self.agent.fingerprint:
            raise CertificateMismatchError(f"the agent at {self.where} is not enrolled")
        conn = None if fresh else _take_idle(self._key)
        try:
            if conn is None:
                conn = self._connect(timeout)
            else:
                assert conn.sock is not None
                conn.sock.settimeout(timeout)
            headers = {"Content-Type": content_type} if body is not None else {}
            try:
                conn.request(method, path, body=body, headers=headers)
            except (OSError, ssl.SSLError) as exc:
                # Nothing (or not all) of the request reached the agent's application.
                raise ConnectFailedError(plain_reason(exc)) from exc
            try:
                return conn, conn.getresponse()
            except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
                raise AnswerLostError(plain_reason(exc)) from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise

    def _connect(self, timeout: float) -> http.client.HTTPSConnection:
        """A new connection whose peer showed the pinned certificate."""
        conn = http.client.HTTPSConnection(
            self.agent.address, self.agent.port, context=_context(self.root),
            timeout=timeout,
        )  # fmt: skip
        try:
            try:
                conn.connect()
            except (OSError, ssl.SSLError) as exc:
                raise ConnectFailedError(plain_reason(exc)) from exc
            assert isinstance(conn.sock, ssl.SSLSocket)
            der = conn.sock.getpeercert(binary_form=True) or b""
            if fingerprint_der(der) != self.agent.fingerprint:
                raise CertificateMismatchError(
                    f"the agent at {self.where} showed a certificate other than the pinned "
                    "one (re-enrol the agent if it was replaced)"
                )
        except BaseException:
            conn.close()
            raise
        return conn


def transport(root: StateRoot, agent: AgentAddress) -> PinnedTransport:
    """The pinned transport to ``agent``."""
    return PinnedTransport(root, agent)
