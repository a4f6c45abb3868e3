"""HTTPS client of the peer Central (P): its certificate pinned by fingerprint, no CA.

P's Central certificate is signed by P's own CA, which S does not know. S therefore trusts
exactly one certificate: the one whose fingerprint (``sha256:<hex of the DER>``) the
administrator copied from P. The pin is checked right after the TLS handshake, before a
byte of the request is sent. Store requests carry ``Authorization: Backup <credential>``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
from typing import Any

from services.common.errors import BurrowError

DEFAULT_PORT = 1231


class PeerError(BurrowError):
    """The peer could not be reached, showed another certificate or refused a request."""

    code = "backup-peer"
    status = 502


class PinMismatchError(PeerError):
    """The peer showed a certificate other than the pinned one."""

    code = "certificate-mismatch"
    status = 422


def fingerprint_of(der: bytes) -> str:
    """``sha256:<hex>`` of a DER certificate, the form the backup design uses."""
    return "sha256:" + hashlib.sha256(der).hexdigest()


def normalize_fingerprint(value: str) -> str:
    """``sha256:<lower-case hex>`` from what an administrator typed (colons, case, prefix)."""
    text = value.strip().lower()
    if text.startswith("sha256:"):
        text = text[len("sha256:") :]
    text = text.replace(":", "").replace(" ", "")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError("a fingerprint is sha256: and 64 hex digits")
    return "sha256:" + text


def _context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # trust comes from the pinned fingerprint below
    return context


class PeerClient:
    """Requests to one peer over a kept-alive connection, the pin checked at each connect."""

    def __init__(
        self,
        address: str,
        port: int,
        fingerprint: str,
        credential: str | None = None,
        *,
        timeout: float = 30.0,
    ) -> None:
        self.address = address
        self.port = port
        self.fingerprint = normalize_fingerprint(fingerprint)
        self.credential = credential
        self.timeout = timeout
        self._conn: http.client.HTTPSConnection | None = None
        self.sent_bytes = 0

    def _connect(self) -> http.client.HTTPSConnection:
        if self._conn is not None:
            return self._conn
        conn = http.client.HTTPSConnection(
            self.address, self.port, context=_context(), timeout=self.timeout
        )
        try:
            conn.connect()
        except OSError as exc:
            conn.close()
            raise PeerError(
                f"The peer {self.address}:{self.port} cannot be reached: {exc}."
            ) from None
        assert isinstance(conn.sock, ssl.SSLSocket)
        seen = fingerprint_of(conn.sock.getpeercert(binary_form=True) or b"")
        if seen != self.fingerprint:
            conn.close()
            raise PinMismatchError(
                f"the peer presented {seen}, expected {self.fingerprint}", field="fingerprint"
            )
        self._conn = conn
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        """One request; reconnects once when a kept-alive connection was dropped."""
        all_headers = dict(headers or {})
        if self.credential:
            all_headers["Authorization"] = f"Backup {self.credential}"
        for attempt in (1, 2):
            conn = self._connect()
            try:
                conn.request(method, path, body=body, headers=all_headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt == 2:
                    raise PeerError(f"The peer {self.address}:{self.port} failed: {exc}.") from None
                continue
            if body:
                self.sent_bytes += len(body)
            if response.will_close:
                self.close()
            return response.status, data, response
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, value: Any = None) -> tuple[int, Any]:
        """A JSON request; returns the status and the decoded answer (None when empty)."""
        body = json.dumps(value).encode() if value is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, data, _ = self.request(method, path, body, headers)
        try:
            return status, (json.loads(data) if data else None)
        except ValueError:
            return status, data.decode(errors="replace")


def problem_text(answer: Any) -> str:
    """The ``detail`` of a problem answer, or the answer itself."""
    if isinstance(answer, dict):
        return str(answer.get("detail") or answer.get("title") or answer)
    return str(answer)
