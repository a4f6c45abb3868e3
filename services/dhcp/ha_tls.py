"""``/dhcp/ha/tls``: the key and certificate of this Kea's HA listener (services.common.dhcp.ha).

Kea 2.2's HA hook speaks TLS on its dedicated listener and to its partner with the same
``cert-file`` / ``key-file`` (the peer entry of ``this-server-name``, Kea ARM "HTTPS Support"),
and with ``require-client-certs`` it accepts only partners whose certificate its
``trust-anchor`` signed. The files live in ``etc/kea/ha``, owned by root and readable by Kea's
group only. A new key waits in ``ha.key.new`` until its certificate comes, so the key and the
certificate Kea loads always belong together.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter

from services.common.dhcp.ha import (
    HaCertificate,
    HaCertificateRequest,
    HaCertificateSigning,
    HaTlsFiles,
)
from services.common.errors import ConflictError, ValidationError
from services.common.files import write_atomic
from services.common.paths import StateRoot
from services.common.pki import load_key, make_request, new_key


def _public(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def files_of(root: StateRoot) -> HaTlsFiles:
    folder = root.kea_ha_tls
    return HaTlsFiles(
        trust_anchor=str(folder / "ca.crt"),
        cert_file=str(folder / "ha.crt"),
        key_file=str(folder / "ha.key"),
    )


def _write(root: StateRoot, path: Path, data: bytes, mode: int) -> None:
    write_atomic(path, data, mode=mode)
    # Kea runs as its own user: the files are root's and its group's (that of etc/kea).
    group = root.kea_etc.stat().st_gid
    if os.geteuid() == 0:
        os.chown(path, 0, group)


def ha_tls_router(root: StateRoot) -> APIRouter:
    api = APIRouter(prefix="/dhcp/ha/tls")
    lock = threading.Lock()
    pending = root.kea_ha_tls / "ha.key.new"

    def _folder() -> Path:
        folder = root.kea_ha_tls
        folder.mkdir(mode=0o750, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(folder, 0, root.kea_etc.stat().st_gid)
        return folder

    @api.post("/request")
    def request(body: HaCertificateRequest) -> HaCertificateSigning:
        with lock:
            _folder()
            key = new_key()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write(root, pending, pem, 0o640)
            return HaCertificateSigning(csr=make_request(key, body.name).decode())

    @api.put("")
    def install(body: HaCertificate) -> HaTlsFiles:
        with lock:
            try:
                cert = x509.load_pem_x509_certificate(body.cert.encode())
            except ValueError as exc:
                raise ValidationError("cert: not a PEM certificate", field="cert") from exc
            try:
                ca = x509.load_pem_x509_certificate(body.ca.encode())
            except ValueError as exc:
                raise ValidationError("ca: not a PEM certificate", field="ca") from exc
            try:
                cert.verify_directly_issued_by(ca)
            except (InvalidSignature, ValueError, TypeError) as exc:
                raise ValidationError("cert: not signed by ca", field="cert") from exc
            if not pending.exists():
                raise ConflictError(
                    "No key waits for a certificate here.", field="cert",
                    hint="ask for a certificate request first (POST /dhcp/ha/tls/request)",
                )  # fmt: skip
            key = load_key(pending)
            if _public(key.public_key()) != _public(cert.public_key()):
                raise ValidationError("cert: not the key last requested", field="cert")
            files = files_of(root)
            _write(root, Path(files.trust_anchor), body.ca.encode(), 0o644)
            _write(root, Path(files.cert_file), body.cert.encode(), 0o644)
            os.replace(pending, files.key_file)
            return files

    return api
