"""Certificates with one purpose each, and agents that answer Central alone (issue 17).

Every leaf certificate of the appliance CA allows one use: the listeners' (Central's API, the
console, the agents) serverAuth, Central's client certificate clientAuth. Every agent
accepts that client certificate alone: the console's key, another agent's, Central's listener
certificate and a client certificate of the same CA with another name are all refused.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from central.registry.agent_client import client_certificate
from services.appliance.backup import trusted
from services.common.agent import central_client_cert, mtls_context
from services.common.launch import Launcher
from services.common.paths import StateRoot
from services.common.pki import (
    CENTRAL_CLIENT_NAME,
    CertificateAuthority,
    CertificateRequestError,
    CertPaths,
    Purpose,
    fingerprint,
    load_cert,
    load_key,
    make_request,
    new_key,
    usages,
)
from services.common.settings import ApplianceSettings
from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for

AGENT_PORTS = {"dns-agent": 1337, "dhcp-agent": 4151, "appliance-agent": 4603}
#: Where each agent logs (the dns-agent and the dhcp-agent share one process).
AGENT_LOGS = {1337: "dns-dhcp-agent", 4151: "dns-dhcp-agent", 4603: "appliance-agent"}
REFUSED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)
SERVER_ONLY = {ExtendedKeyUsageOID.SERVER_AUTH}
CLIENT_ONLY = {ExtendedKeyUsageOID.CLIENT_AUTH}


def _presenting(box: Sandbox, cert: CertPaths) -> ssl.SSLContext:
    return mtls_context(box.root, cert)


def _answers(box: Sandbox, port: int, context: ssl.SSLContext) -> bool:
    """True when the agent on ``port`` answers ``/health``; False when it refuses the caller
    (during the handshake or right after it)."""
    try:
        response = httpx.get(f"https://{box.address}:{port}/health", verify=context, timeout=5)
    except REFUSED:
        return False
    assert response.status_code == 200, response.text
    return True


def _program(box: Sandbox, name: str) -> CertPaths:
    return CertPaths(box.root.pki / f"{name}.crt", box.root.pki / f"{name}.key")


# --- against a running appliance ---------------------------------------------------------------
@pytest.mark.sandbox
def test_every_leaf_certificate_has_one_purpose(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    for name in ("central", "webui", *AGENT_PORTS):
        assert usages(load_cert(_program(box, name).cert)) == SERVER_ONLY, name
    client = load_cert(central_client_cert(box.root).cert)
    assert usages(client) == CLIENT_ONLY
    assert client.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                           CENTRAL_CLIENT_NAME)])  # fmt: skip
    # No other certificate of the appliance carries Central's client name.
    others = [p for p in box.root.pki.glob("*.crt") if p != central_client_cert(box.root).cert]
    assert others and all(load_cert(p).subject != client.subject for p in others)


@pytest.mark.sandbox
def test_centrals_client_certificate_is_accepted_by_every_agent(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    for port in AGENT_PORTS.values():
        assert _answers(box, port, mtls_context(box.root)), port


@pytest.mark.sandbox
def test_the_consoles_key_is_refused_by_every_agent(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    console = _presenting(box, _program(box, "webui"))
    for port in AGENT_PORTS.values():
        assert not _answers(box, port, console), f"the console's key drives the agent on {port}"


@pytest.mark.sandbox
def test_an_agents_certificate_is_refused_by_the_other_agents(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    for name in AGENT_PORTS:
        context = _presenting(box, _program(box, name))
        for port in AGENT_PORTS.values():
            assert not _answers(box, port, context), f"{name}'s certificate accepted on {port}"


@pytest.mark.sandbox
def test_centrals_listener_certificate_is_refused_by_every_agent(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    listener = _presenting(box, _program(box, "central"))
    for port in AGENT_PORTS.values():
        assert not _answers(box, port, listener), port


@pytest.mark.sandbox
def test_a_client_certificate_of_the_ca_in_another_name_is_refused_and_logged(
    shared_sandbox: Sandbox, tmp_path: Path
) -> None:
    box = shared_sandbox
    ca = CertificateAuthority(box.root.pki / "ca")
    impostor = ca.issue(tmp_path, "impostor", purpose=Purpose.CLIENT, common_name="Burrow Central")
    assert usages(load_cert(impostor.cert)) == CLIENT_ONLY
    context = _presenting(box, impostor)
    for port in AGENT_PORTS.values():
        assert not _answers(box, port, context), port

    def logged(port: int) -> bool:
        log = box.root.logs / f"{AGENT_LOGS[port]}.log"
        line = f"on {port}: the client certificate (CN=Burrow Central) is not Central's"
        return any(line in text for text in log.read_text(errors="replace").splitlines())

    for port in AGENT_PORTS.values():
        wait_for(lambda port=port: logged(port), timeout=10, what=f"the refusal logged ({port})")


@pytest.mark.sandbox
def test_central_serves_its_client_certificate(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    answer = box.https(1231, "/api/v1/certificates/central-client")
    assert answer.status_code == 200, answer.text
    path = central_client_cert(box.root).cert
    assert answer.json() == {
        "certificate": path.read_text(),
        "fingerprint": fingerprint(load_cert(path)),
    }


# --- the CA and the launcher -------------------------------------------------------------------
def test_the_ca_signs_no_request_in_centrals_client_name(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "ca")
    ca.create("unit CA")
    with pytest.raises(CertificateRequestError):
        ca.sign_request(make_request(new_key(), "x"), CENTRAL_CLIENT_NAME, server_names=[])
    signed = ca.sign_request(make_request(new_key(), "x"), "dns-agent", server_names=["::1"])
    assert usages(signed) == SERVER_ONLY


def _old_dual_purpose(ca: CertificateAuthority, directory: Path, name: str) -> CertPaths:
    """A certificate as launch issued them before issue 17: serverAuth and clientAuth."""
    key = new_key()
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(load_cert(ca.paths.cert).subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    old = builder.sign(load_key(ca.paths.key), hashes.SHA256())
    paths = CertPaths(directory / f"{name}.crt", directory / f"{name}.key")
    paths.cert.write_bytes(old.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_an_older_state_root_gets_certificates_with_purposes_at_its_next_start(
    tmp_path: Path,
) -> None:
    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    ApplianceSettings(
        hostname="old", interface="lo", address=ipaddress.IPv4Interface("198.51.100.2/24")
    ).save(root.appliance_settings)
    launcher = Launcher(root, python="/usr/bin/python3", pythonpath=None)
    ca = CertificateAuthority(root.pki / "ca")
    ca.create("Burrow CA old")
    console = _old_dual_purpose(ca, root.pki, "webui")
    listener = _old_dual_purpose(ca, root.pki, "central")
    console_key = console.key.read_bytes()
    listener_pem = listener.cert.read_bytes()

    launcher.make_identity()

    # The console's certificate is issued again, server-only, for the key it had.
    assert usages(load_cert(console.cert)) == SERVER_ONLY
    assert console.key.read_bytes() == console_key
    # Central's listener certificate is kept: peers pin its fingerprint.
    assert listener.cert.read_bytes() == listener_pem
    # Central's client certificate is new.
    client = load_cert(central_client_cert(root).cert)
    assert usages(client) == CLIENT_ONLY
    # A second start changes nothing.
    before = {p.name: p.read_bytes() for p in root.pki.glob("*.*")}
    launcher.make_identity()
    assert {p.name: p.read_bytes() for p in root.pki.glob("*.*")} == before


@pytest.mark.sandbox
def test_a_replacement_fetches_the_peers_client_certificate_over_the_pinned_listener(
    shared_sandbox: Sandbox,
) -> None:
    box = shared_sandbox
    listener = trusted.fingerprint_of_der(load_cert(_program(box, "central").cert).public_bytes(
        serialization.Encoding.DER))  # fmt: skip
    pem = trusted.fetch_peer_certificate(box.address, listener)
    assert pem == central_client_cert(box.root).cert.read_text()
    # Another listener fingerprint: nothing is asked, nothing trusted.
    with pytest.raises(ssl.SSLError):
        trusted.fetch_peer_certificate(box.address, "sha256:" + "0" * 64)


def test_central_makes_its_client_certificate_when_a_restore_left_none(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    ca = CertificateAuthority(root.pki / "ca")
    ca.create("unit CA")
    # A bundle from before issue 17 holds no central-client.crt; Central is restarted, not
    # launched, after a restore.
    made = client_certificate(root)
    assert made == central_client_cert(root)
    cert = load_cert(made.cert)
    assert usages(cert) == CLIENT_ONLY and cert.subject.rfc4514_string() == (
        f"CN={CENTRAL_CLIENT_NAME}"
    )
    assert client_certificate(root) == made and load_cert(made.cert) == cert  # kept
