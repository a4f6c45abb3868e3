"""HTTPS to an appliance's restore listener (port 4604), pinned to a certificate fingerprint.

The replacement R has a fresh, self-made identity that no CA of ours signed, so the usual
chain check cannot apply: the TLS connection is made without it and the fingerprint of the
leaf certificate R actually presents is compared with the expected one *before* a request
is sent (a bundle holds every key of the appliance). ``fingerprint=None`` only reads the
presented fingerprint (the detection's ``GET /identity``, which sends nothing secret).
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from central.backups.service import fingerprint_of_der

PORT = 4604
#: The same receiver for the one Central a replacement was told to trust (``restore_from``):
#: mutual TLS, this Central's certificate; a push there needs no restore code.
TRUSTED_PORT = 4605


class PinnedError(Exception):
    """The appliance could not be reached, or presented another certificate."""


@dataclass
class Answer:
    """An HTTP answer of the appliance."""

    status: int
    body: bytes
    fingerprint: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _context(client_cert: tuple[str, str] | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # pinned by fingerprint below instead
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert is not None:
        ctx.load_cert_chain(*client_cert)
    return ctx


def request(
    address: str,
    method: str,
    path: str,
    *,
    fingerprint: str | None,
    allowed: Iterable[str] = (),
    headers: dict[str, str] | None = None,
    body: bytes | Iterable[bytes] | None = None,
    length: int | None = None,
    timeout: float = 10.0,
    port: int = PORT,
    client_cert: tuple[str, str] | None = None,
) -> Answer:
    """One request; refused before sending when the certificate is not the pinned one
    (``fingerprint`` or one of ``allowed``). ``client_cert``: (certificate, key) to present."""
    conn = http.client.HTTPSConnection(
        address, port, timeout=timeout, context=_context(client_cert)
    )
    try:
        try:
            conn.connect()
        except OSError as exc:
            raise PinnedError(f"{address}:{port} cannot be reached: {exc}") from None
        assert conn.sock is not None
        der = conn.sock.getpeercert(binary_form=True)
        seen = fingerprint_of_der(der) if der else ""
        expected = {f for f in (fingerprint, *allowed) if f}
        if expected and seen not in expected:
            raise PinnedError(
                f"{address}:{port} presented the certificate {seen}, expected "
                f"{' or '.join(sorted(expected))}: nothing was sent."
            )
        all_headers = dict(headers or {})
        try:
            if body is None or isinstance(body, bytes):
                conn.request(method, path, body=body, headers=all_headers)
            else:
                if length is not None:
                    all_headers["Content-Length"] = str(length)
                conn.putrequest(method, path)
                for key, value in all_headers.items():
                    conn.putheader(key, value)
                if length is None:
                    conn.putheader("Transfer-Encoding", "chunked")
                conn.endheaders()
                for part in body:
                    if length is None:
                        conn.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    else:
                        conn.send(part)
                if length is None:
                    conn.send(b"0\r\n\r\n")
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise PinnedError(f"{address}:{port} failed during {method} {path}: {exc}") from None
        return Answer(response.status, data, seen)
    finally:
        conn.close()
