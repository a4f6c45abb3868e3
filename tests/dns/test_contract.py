"""The dns-agent's contract: every kind of error, provoked against the real agent, answers in
the one problem format (``services.common.problems``); callers without a certificate of the
appliance CA, or with a revoked one, get no answer at all.

validation 422 · not found 404 · conflict 409 · refused by named 422 (naming the record) ·
named not running 502 (in plain words) · too large 413 · no client certificate · a certificate
of another CA · a revoked certificate.
"""

from __future__ import annotations

import datetime as dt
import http.client
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.common.enrolment import crl_file
from services.common.pki import (
    CENTRAL_CLIENT_NAME,
    CertificateAuthority,
    Purpose,
    load_cert,
    revoked_serials,
)
from services.common.problems import AGENT_MAX_BODY
from services.common.supervisor import SupervisorView
from services.sandbox.sandbox import Sandbox
from tests.dns.conftest import Agent, answer_set, create
from tests.harness.problems import assert_problem, check_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

ZONE = "contract.test."
PORT = 1337


@pytest.fixture(scope="module")
def zone(agent: Agent) -> Iterator[str]:
    gone = agent.http.delete(f"/zones/{ZONE}")
    assert gone.status_code in (204, 404), gone.text
    agent.create_zone(ZONE, records=[{"name": "www", "type": "A", "data": "198.51.100.80"}])
    yield ZONE
    agent.http.delete(f"/zones/{ZONE}")


def test_validation_names_every_field(agent: Agent, zone: str) -> None:
    changes = [
        create("a", "A", "198.51.100.1", ttl="60"),  # type: ignore[arg-type]
        create("b", "A", "198.51.100.300"),
        {"action": "create", "record": {"name": "c", "type": "A", "data": "198.51.100.3"},
         "colour": "blue"},
    ]  # fmt: skip
    problem = assert_problem(agent.change(zone, changes), 422)
    assert [p["field"] for p in problem["problems"]] == [
        "changes[0].record.ttl",
        "changes[2].colour",
    ]
    assert problem["problems"][0]["message"] == "must be a whole number"
    # The request is well formed; the record is not: the problem names it and its field.
    problem = assert_problem(agent.change(zone, changes[1:2]), 422, "changes[0].record.data")
    assert problem["problems"][0]["name"] == "b" and problem["problems"][0]["type"] == "A"


def test_not_found(agent: Agent) -> None:
    problem = assert_problem(agent.get("/zones/nowhere.contract.test."), 404, "zone")
    assert "nowhere.contract.test." in problem["detail"]
    assert_problem(agent.post("/zones/nowhere.contract.test./changes",
                              {"changes": [create("x", "A", "198.51.100.1")]}), 404)  # fmt: skip
    assert_problem(agent.get("/no-such-route"), 404)


def test_conflict(agent: Agent, zone: str) -> None:
    assert_problem(agent.post("/zones", {"name": zone}), 409, "name")
    problem = assert_problem(agent.change(zone, [create("www", "A", "198.51.100.80")]), 422)
    assert problem["problems"][0]["message"].startswith("the record already exists")


def test_refused_by_named_names_the_record(
    agent: Agent, zone: str, shared_sandbox: Sandbox
) -> None:
    """named refuses an MX whose mail server is in the zone without an address (and an apex NS
    the same way); the agent says which record and why, not "REFUSED"."""
    before = agent.records(zone)["serial"]
    changes = [
        create("ok", "TXT", '"fine"'),
        create("@", "MX", "10 nomail"),
        create("@", "NS", "ns9"),
    ]
    problem = assert_problem(agent.change(zone, changes), 422)
    fields = [p["field"] for p in problem["problems"]]
    assert fields and set(fields) <= {"changes[1].record.data", "changes[2].record.data"}
    assert "REFUSED" not in str(problem)
    first = problem["problems"][0]
    assert "has no address" in first["message"] and first["type"] in ("MX", "NS")
    assert agent.records(zone)["serial"] == before
    assert not answer_set(shared_sandbox, f"ok.{zone}", "TXT")
    # Each alone, so both refusals are seen.
    mx = assert_problem(agent.change(zone, changes[1:2]), 422, "changes[0].record.data")
    assert "mail server nomail.contract.test." in mx["problems"][0]["message"]
    ns = assert_problem(agent.change(zone, changes[2:3]), 422, "changes[0].record.data")
    assert "name server ns9.contract.test." in ns["problems"][0]["message"]
    # With the address in the same change set, named takes it.
    agent.ok(agent.change(zone, [*changes[1:2], create("nomail", "A", "198.51.100.25")]))


def test_named_down_is_502_in_plain_words(agent: Agent, zone: str, shared_sandbox: Sandbox) -> None:
    supervisor = SupervisorView(shared_sandbox.root.supervisor_socket, timeout=60)
    try:
        supervisor.call("supervisor.stopProcess", "named")
        response = agent.change(zone, [create("down", "A", "198.51.100.81")])
        problem = assert_problem(response, 502)
        assert "named does not answer" in problem["detail"]
        assert "Errno" not in problem["detail"] and problem["hint"]
    finally:
        supervisor.call("supervisor.startProcess", "named")
    wait_for(lambda: answer_set(shared_sandbox, f"www.{zone}", "A"), timeout=60,
             what="named back")  # fmt: skip
    assert not answer_set(shared_sandbox, f"down.{zone}", "A")


def test_too_large_is_413_before_the_body_is_read(shared_sandbox: Sandbox) -> None:
    """A declared length over the agent's limit is refused before a byte of the body is sent."""
    conn = http.client.HTTPSConnection(
        shared_sandbox.address, PORT, context=shared_sandbox.tls_context(), timeout=30
    )
    try:
        conn.putrequest("POST", "/zones/import")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(AGENT_MAX_BODY + 1))
        conn.endheaders()
        answer = conn.getresponse()
        body = answer.read()
    finally:
        conn.close()
    check_problem(answer.status, answer.getheader("content-type") or "", orjson.loads(body), 413)


# --- who may call --------------------------------------------------------------------------------
def _exchange(box: Sandbox, context: ssl.SSLContext) -> bytes:
    """Connect, send one request and return what came back (raises if TLS refused it)."""
    with socket.create_connection((box.address, PORT), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=box.address) as tls:
            tls.sendall(b"GET /zones HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n")
            chunks = []
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)


def _refused(box: Sandbox, context: ssl.SSLContext) -> None:
    """The agent answers nothing: the handshake or the connection is refused."""
    try:
        answer = _exchange(box, context)
    except (ssl.SSLError, ConnectionError, OSError):
        return
    assert not answer, answer[:200]


def _context(box: Sandbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(box.ca_file))


def _with_cert(box: Sandbox, tmp: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
               ) -> ssl.SSLContext:  # fmt: skip
    (tmp / "client.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "client.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = _context(box)
    context.load_cert_chain(tmp / "client.crt", tmp / "client.key")
    return context


def test_the_same_request_with_centrals_certificate_is_answered(shared_sandbox: Sandbox) -> None:
    assert _exchange(shared_sandbox, shared_sandbox.tls_context()).startswith(b"HTTP/1.1 200")


def test_no_client_certificate_is_refused(shared_sandbox: Sandbox) -> None:
    _refused(shared_sandbox, _context(shared_sandbox))


def test_a_certificate_of_another_ca_is_refused(shared_sandbox: Sandbox, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "central")])
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
    _refused(shared_sandbox, _with_cert(shared_sandbox, tmp_path, cert, key))


def test_a_revoked_certificate_is_refused(shared_sandbox: Sandbox, tmp_path: Path) -> None:
    box = shared_sandbox
    ca = CertificateAuthority(box.root.pki / "ca")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.sign(key.public_key(), CENTRAL_CLIENT_NAME, purpose=Purpose.CLIENT)
    context = _with_cert(box, tmp_path, cert, key)
    assert _exchange(box, context).startswith(b"HTTP/1.1 200")  # valid until revoked
    path = crl_file(box.root)
    before = path.read_bytes() if path.exists() else None
    revoked = revoked_serials(path, load_cert(ca.paths.cert))
    try:
        ca.write_crl(path, [*revoked, cert.serial_number])
        _refused(box, context)
    finally:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before)
    assert _exchange(box, box.tls_context()).startswith(b"HTTP/1.1 200")
