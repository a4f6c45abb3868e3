"""Calls from Central to an agent: mutual TLS, and the agent's certificate must be the pinned one.

The pin is checked right after the TLS handshake, before a single byte of the request is
sent: another certificate of the same CA (another agent on the same address, say) is refused.
"""

from __future__ import annotations

import functools
import http.client
import ssl
from dataclasses import dataclass
from typing import Any

import orjson

from services.common.errors import DaemonError
from services.common.paths import StateRoot
from services.common.pki import fingerprint_der


class PinMismatchError(DaemonError):
    """The agent showed a certificate other than the one pinned at its enrolment."""

    code = "certificate-mismatch"


@dataclass(frozen=True)
class AgentAddress:
    """Where an agent listens and which certificate it must show."""

    address: str
    port: int
    fingerprint: str


@functools.cache
def _context(pki: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=f"{pki}/ca/ca.crt")
    context.load_cert_chain(f"{pki}/central.crt", f"{pki}/central.key")
    return context


def call(
    root: StateRoot,
    agent: AgentAddress,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    content_type: str = "application/json",
    timeout: float = 5.0,
) -> tuple[int, Any]:
    """One request to ``agent``; returns the status and the decoded JSON body (or None)."""
    if not agent.fingerprint:
        raise PinMismatchError(f"The agent at {agent.address}:{agent.port} is not enrolled.")
    conn = http.client.HTTPSConnection(
        agent.address, agent.port, context=_context(str(root.pki)), timeout=timeout
    )
    try:
        conn.connect()
        assert isinstance(conn.sock, ssl.SSLSocket)
        der = conn.sock.getpeercert(binary_form=True) or b""
        if fingerprint_der(der) != agent.fingerprint:
            raise PinMismatchError(
                f"The agent at {agent.address}:{agent.port} showed a certificate other than "
                "the pinned one.",
                hint="re-enrol the agent if it was replaced",
            )
        headers = {"Content-Type": content_type} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        decoded = orjson.loads(data) if data else None
    except orjson.JSONDecodeError:
        decoded = data.decode(errors="replace")
    return response.status, decoded
