"""The appliance's small certificate authority (DESIGN.md section 5).

Central's CA signs a server certificate for every listening program and client
certificates for agents. Keys are EC P-256; certificates name the appliance's addresses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.common.files import write_atomic

CA_DAYS = 3650
LEAF_DAYS = 825


@dataclass(frozen=True)
class CertPaths:
    """Where one certificate and its key live."""

    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(path, pem, mode=0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    write_atomic(path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{path} does not hold an EC private key")
    return key


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as colon-separated hex, the way administrators compare them."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


class CertificateAuthority:
    """A CA whose certificate and key live in a directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.paths = CertPaths(directory / "ca.crt", directory / "ca.key")

    def exists(self) -> bool:
        return self.paths.cert.exists() and self.paths.key.exists()

    def create(self, common_name: str) -> None:
        """Make a new CA (once; an existing one is kept)."""
        if self.exists():
            return
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(minutes=5))
            .not_valid_after(_now() + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        _write_key(self.paths.key, key)
        _write_cert(self.paths.cert, cert)

    def sign(
        self,
        public_key: ec.EllipticCurvePublicKey,
        common_name: str,
        *,
        server_names: list[str] | None = None,
        server: bool = True,
        client: bool = True,
        days: int = LEAF_DAYS,
    ) -> x509.Certificate:
        """Sign a leaf certificate for ``public_key``."""
        ca_cert = load_cert(self.paths.cert)
        ca_key = load_key(self.paths.key)
        usages = []
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(minutes=5))
            .not_valid_after(_now() + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if server_names:
            alt: list[x509.GeneralName] = []
            for item in server_names:
                try:
                    alt.append(x509.IPAddress(ipaddress.ip_address(item)))
                except ValueError:
                    alt.append(x509.DNSName(item))
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    def issue(
        self, directory: Path, name: str, *, server_names: list[str], client: bool = True
    ) -> CertPaths:
        """Make a key and a certificate for ``name`` in ``directory`` (kept if present)."""
        paths = CertPaths(directory / f"{name}.crt", directory / f"{name}.key")
        if paths.cert.exists() and paths.key.exists():
            return paths
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.sign(key.public_key(), name, server_names=server_names, client=client)
        _write_key(paths.key, key)
        _write_cert(paths.cert, cert)
        return paths
