"""A small in-test peer Central implementing issue 7's pairing and upload contract.

It stands in for the real peer (central/backups, built in another branch) so the producer
can be tested on its own: pairing (``POST /api/v1/backup-peers/pair``), the chunk store
(missing, PUT with zlib and ``X-Burrow-Delta-Base``, sha256 checked), snapshots (walk from
the root, 409 listing missing chunks) and the bundle of a snapshot. It counts every byte
of every request body it receives. Chunks are kept in memory, not encrypted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.common.backup.bundle import write_bundle
from services.common.backup.format import BackupFormatError, chunk_hash, delta_decode, walk

STORE = re.compile(r"^/api/v1/backup-store/([^/]+)/(.*)$")


def self_signed(directory: Path) -> tuple[Path, Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-peer")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "peer.crt", directory / "peer.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return cert_path, key_path, "sha256:" + hashlib.sha256(der).hexdigest()


class FakePeer:
    """The peer: start() on an address, then pairing_token() and the counters."""

    def __init__(self, address: str, port: int = 0) -> None:
        self._dir = tempfile.TemporaryDirectory()
        cert, key, self.fingerprint = self_signed(Path(self._dir.name))
        self.chunks: dict[str, bytes] = {}
        self.snapshots: list[dict[str, Any]] = []
        self.recorded_at: list[float] = []  # time.time() each snapshot was recorded
        self.tokens: set[str] = set()
        self.credentials: dict[str, str] = {}  # credential -> peer_id
        self.paired: dict[str, dict[str, Any]] = {}
        self.received_bytes = 0
        self.received_header_bytes = 0
        self.requests = 0
        self.received_puts = 0
        self.puts: list[tuple[str, bool, int]] = []  # name, as a delta, body bytes
        self.delta_puts = 0
        self.available = True
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(length) if length else b""
                with peer.lock:
                    peer.received_bytes += len(data)
                    peer.received_header_bytes += len(self.requestline) + 2 + len(str(self.headers))
                    peer.requests += 1
                return data

            def _send(self, status: int, value: Any = None, raw: bytes | None = None) -> None:
                data = (
                    raw
                    if raw is not None
                    else (json.dumps(value).encode() if value is not None else b"")
                )
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                if raw is None and value is not None:
                    self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            def _peer_id(self, wanted: str) -> bool:
                scheme, _, credential = self.headers.get("Authorization", "").partition(" ")
                if scheme != "Backup" or peer.credentials.get(credential) != wanted:
                    self._send(401, {"detail": "unknown credential"})
                    return False
                return True

            def do_POST(self) -> None:
                body = self._body()
                if not peer.available:
                    self._send(503, {"detail": "down"})
                    return
                if self.path == "/api/v1/backup-peers/pair":
                    value = json.loads(body)
                    if value.get("token") not in peer.tokens:
                        self._send(401, {"detail": "The pairing token is not valid."})
                        return
                    peer.tokens.discard(value["token"])
                    peer_id = f"p{len(peer.paired) + 1}"
                    credential = secrets.token_urlsafe(32)
                    peer.credentials[credential] = peer_id
                    peer.paired[peer_id] = value
                    self._send(
                        200,
                        {
                            "peer_id": peer_id,
                            "credential": credential,
                            "central_fingerprint": peer.fingerprint,
                        },
                    )
                    return
                match = STORE.match(self.path)
                if not match or not self._peer_id(match.group(1)):
                    if not match:
                        self._send(404, {"detail": "no such endpoint"})
                    return
                rest = match.group(2)
                value = json.loads(body)
                if rest == "chunks/missing":
                    hashes_ = value["hashes"]
                    assert len(hashes_) <= 10_000
                    self._send(200, {"missing": [h for h in hashes_ if h not in peer.chunks]})
                elif rest == "snapshots":
                    try:
                        missing = [
                            h for h in walk(value["root"], peer.chunks.get) if h not in peer.chunks
                        ]
                    except BackupFormatError as exc:
                        self._send(422, {"type": "urn:burrow:problem:validation-error",
                                         "title": "Invalid input", "status": 422,
                                         "detail": exc.message, "problems": []})  # fmt: skip
                        return
                    if missing:
                        self._send(409, {
                            "type": "urn:burrow:problem:backup-incomplete", "title": "Conflict",
                            "status": 409, "detail": "chunks are missing",
                            "problems": [{"field": "root", "message": "chunks are missing",
                                          "missing": missing}],
                        })  # fmt: skip
                        return
                    record = {"id": len(peer.snapshots) + 1, **value}
                    peer.snapshots.append(record)
                    peer.recorded_at.append(time.time())
                    self._send(201, record)
                else:
                    self._send(404, {"detail": "no such endpoint"})

            def do_PUT(self) -> None:
                body = self._body()
                match = STORE.match(self.path)
                if not match or not self._peer_id(match.group(1)):
                    return
                name = match.group(2).removeprefix("chunks/")
                base_name = self.headers.get("X-Burrow-Delta-Base")
                base = None
                if base_name:
                    base = peer.chunks.get(base_name)
                    if base is None:
                        self._send(409, {"detail": "unknown delta base"})
                        return
                try:
                    data = delta_decode(body, base)
                except BackupFormatError as exc:
                    self._send(422, {"detail": exc.message})
                    return
                if chunk_hash(data) != name:
                    self._send(422, {"detail": "content does not match the name"})
                    return
                with peer.lock:
                    peer.puts.append((name, bool(base_name), len(body)))
                    peer.chunks[name] = data
                    peer.received_puts += 1
                    peer.delta_puts += 1 if base_name else 0
                self._send(204)

            def do_GET(self) -> None:
                self._body()
                match = STORE.match(self.path)
                if not match or not self._peer_id(match.group(1)):
                    return
                rest = match.group(2)
                if rest == "snapshots":
                    self._send(200, {"items": peer.snapshots})
                    return
                bundle = re.match(r"^snapshots/(\d+)/bundle$", rest)
                if bundle and 0 < int(bundle.group(1)) <= len(peer.snapshots):
                    out = io.BytesIO()
                    write_bundle(
                        out, peer.snapshots[int(bundle.group(1)) - 1]["root"], peer.chunks.get
                    )
                    self._send(200, raw=out.getvalue())
                    return
                self._send(404, {"detail": "no such snapshot"})

        self.server = ThreadingHTTPServer((address, port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.address = address
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakePeer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._dir.cleanup()

    def pairing_token(self) -> str:
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return token

    def bundle(self, snapshot_id: int) -> bytes:
        out = io.BytesIO()
        write_bundle(out, self.snapshots[snapshot_id - 1]["root"], self.chunks.get)
        return out.getvalue()
