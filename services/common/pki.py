"""The appliance's small certificate authority (DESIGN.md section 5).

Central runs the CA. The launcher issues Central's and the web console's certificates at
first start; every agent enrols with a one-time token and gets its certificate signed from a
certificate request (``sign_request``). Revoked serial numbers are published in a CRL signed by
the CA (``write_crl``), which the agents read to refuse revoked client certificates. Keys are
EC P-256; certificates name the addresses they serve.

Every leaf certificate has one purpose, written as its only extended key usage:

- ``Purpose.SERVER`` (serverAuth): a listener. Central's API (``central.crt``), the web
  console (``webui.crt``) and every agent's certificate. OpenSSL refuses such a certificate
  when it is presented as a client certificate.
- ``Purpose.CLIENT`` (clientAuth): a caller. Only Central calls others with a certificate:
  ``central-client.crt``, whose subject ``CENTRAL_CLIENT_NAME`` no other certificate of the CA
  can have (``sign_request`` refuses it, and no server name can be spelled like it). Every
  agent accepts that subject alone (``is_central_client``).
- ``Purpose.PEER`` (serverAuth and clientAuth): a Kea server of a high-availability pair,
  which answers its partner on its HA listener and calls the partner's. Signed only by the
  pair's own CA (``central.dhcp.ha_tls``), never by the agents' CA.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.common.files import write_atomic

CA_DAYS = 3650
LEAF_DAYS = 825

#: The common name of Central's client certificate, the one identity every agent accepts.
#: Spaces and parentheses keep it apart from every server name (``[A-Za-z0-9._-]``) and every
#: program's name, which the CA gives the other certificates.
CENTRAL_CLIENT_NAME = "Burrow Central (client)"
#: The files of Central's client certificate and key in the pki directory (NAME.crt, NAME.key).
CENTRAL_CLIENT = "central-client"


class Purpose(enum.Enum):
    """What a leaf certificate is for: its one extended key usage."""

    SERVER = "server"  # serverAuth: it answers (Central's API, the console, an agent)
    CLIENT = "client"  # clientAuth: it calls (Central calling its agents)
    PEER = "peer"  # both: a Kea HA partner (its own CA only)

    @property
    def usage(self) -> x509.ObjectIdentifier:
        if self is Purpose.SERVER:
            return ExtendedKeyUsageOID.SERVER_AUTH
        return ExtendedKeyUsageOID.CLIENT_AUTH

    @property
    def usages(self) -> list[x509.ObjectIdentifier]:
        if self is Purpose.PEER:
            return [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        return [self.usage]


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


def usages(cert: x509.Certificate) -> frozenset[x509.ObjectIdentifier]:
    """The extended key usages of ``cert`` (empty when it names none, i.e. any use)."""
    try:
        return frozenset(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return frozenset()


def has_only_purpose(cert: x509.Certificate, purpose: Purpose) -> bool:
    """Whether ``purpose`` is the one use ``cert`` allows."""
    return usages(cert) == {purpose.usage}


def common_name_of(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def is_central_client(peer: Mapping[str, object] | None) -> bool:
    """Whether a verified peer certificate (``SSLSocket.getpeercert()``) is Central's client
    certificate: its subject is exactly ``CN=CENTRAL_CLIENT_NAME``, nothing more."""
    if not peer:
        return False
    return peer.get("subject") == ((("commonName", CENTRAL_CLIENT_NAME),),)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as colon-separated hex, the way administrators compare them."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


class CertificateRequestError(ValueError):
    """A certificate request that cannot be signed."""


def write_key_and_cert(paths: CertPaths, key: ec.EllipticCurvePrivateKey, cert_pem: bytes) -> None:
    """Store an enrolled key and certificate (the key 0600)."""
    _write_key(paths.key, key)
    write_atomic(paths.cert, cert_pem, mode=0o644)


def make_request(key: ec.EllipticCurvePrivateKey, common_name: str) -> bytes:
    """A PEM certificate request for ``key``."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def fingerprint_der(der: bytes) -> str:
    """SHA-256 fingerprint of a DER certificate (as ``fingerprint``)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def revoked_serials(crl_path: Path, ca_cert: x509.Certificate) -> frozenset[int]:
    """Serial numbers revoked by the CRL at ``crl_path``; the CRL must be signed by the CA.

    A missing CRL revokes nothing; a CRL that is not the CA's is an error (fail closed).
    """
    try:
        data = crl_path.read_bytes()
    except FileNotFoundError:
        return frozenset()
    crl = x509.load_pem_x509_crl(data)
    public_key = ca_cert.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not crl.is_signature_valid(
        public_key
    ):
        raise ValueError(f"{crl_path} is not signed by the appliance CA")
    return frozenset(entry.serial_number for entry in crl)


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
        purpose: Purpose = Purpose.SERVER,
        days: int = LEAF_DAYS,
    ) -> x509.Certificate:
        """Sign a leaf certificate for ``public_key``, good for ``purpose`` alone."""
        ca_cert = load_cert(self.paths.cert)
        ca_key = load_key(self.paths.key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(minutes=5))
            .not_valid_after(_now() + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(purpose.usages), critical=False)
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

    def sign_request(
        self,
        csr_pem: bytes,
        common_name: str,
        *,
        server_names: list[str],
        purpose: Purpose = Purpose.SERVER,
    ) -> x509.Certificate:
        """Sign a PEM certificate request for a server (an agent; ``Purpose.PEER``: a Kea HA
        partner); the CA, not the request, decides name, SANs and purpose. Central's client
        identity is never given this way."""
        if purpose is Purpose.CLIENT:
            raise CertificateRequestError("client certificates are not signed from requests")
        if common_name == CENTRAL_CLIENT_NAME:
            raise CertificateRequestError(f"{common_name!r} is Central's own name")
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise CertificateRequestError("the certificate request is not PEM") from exc
        if not csr.is_signature_valid:
            raise CertificateRequestError("the certificate request's signature is not valid")
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise CertificateRequestError("the certificate request must hold an EC public key")
        return self.sign(public_key, common_name, server_names=server_names, purpose=purpose)

    def write_crl(self, path: Path, serials: list[int]) -> None:
        """Publish the revoked ``serials`` as a CRL signed by this CA."""
        ca_cert = load_cert(self.paths.cert)
        ca_key = load_key(self.paths.key)
        now = _now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=LEAF_DAYS))
        )
        for serial in sorted(set(serials)):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        crl = builder.sign(ca_key, hashes.SHA256())
        write_atomic(path, crl.public_bytes(serialization.Encoding.PEM), mode=0o644)

    def issue(
        self,
        directory: Path,
        name: str,
        *,
        server_names: list[str] | None = None,
        purpose: Purpose = Purpose.SERVER,
        common_name: str | None = None,
    ) -> CertPaths:
        """A key and a certificate for ``name`` in ``directory``, for ``purpose`` alone.

        Kept if present and already good for exactly ``purpose``; otherwise (missing, or one
        that allows more or another use) the certificate is issued again for the key it had,
        so a public-key pin of it still holds.
        """
        paths = CertPaths(directory / f"{name}.crt", directory / f"{name}.key")
        subject = common_name or name
        try:
            key = load_key(paths.key)
        except (FileNotFoundError, ValueError, TypeError):  # missing or damaged: a new key
            key = new_key()
            _write_key(paths.key, key)
        else:
            if paths.cert.exists():
                cert = load_cert(paths.cert)
                if has_only_purpose(cert, purpose) and common_name_of(cert) == subject:
                    return paths
        cert = self.sign(key.public_key(), subject, server_names=server_names, purpose=purpose)
        _write_cert(paths.cert, cert)
        return paths

    def issue_central_client(self, directory: Path) -> CertPaths:
        """Central's client certificate in ``directory`` (clientAuth, ``CENTRAL_CLIENT_NAME``)."""
        return self.issue(
            directory, CENTRAL_CLIENT, purpose=Purpose.CLIENT, common_name=CENTRAL_CLIENT_NAME
        )
