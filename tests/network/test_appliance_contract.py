"""The appliance-agent's contract on a real appliance: every kind of error in the one problem
format, and the typed client (``ApplianceAgentClient``) that Central uses mapping each the same
way as for every agent.

Kinds provoked: validation (422, every field, no coercion), not found (404), conflict (409),
refused by the kernel (502), too large (413), unauthenticated (no client certificate: refused
during the TLS handshake) and forbidden (a certificate of another CA, or a revoked one).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from services.common.appliance.client import ApplianceAgentClient
from services.common.appliance.contract import (
    BackupRequest,
    DiagShellView,
    NetworkChange,
    NetworkSettings,
)
from services.common.errors import (
    ConflictError,
    NotFoundError,
    UnavailableError,
    ValidationError,
)
from services.common.pki import (
    CENTRAL_CLIENT_NAME,
    CertificateAuthority,
    Purpose,
    load_cert,
    load_key,
)
from services.common.problems import AGENT_MAX_BODY
from services.sandbox.sandbox import Sandbox
from tests.backup_appliance.helpers import declared
from tests.harness.problems import assert_problem, check_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

PORT = 4603
REFUSED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, ssl.SSLError)


def agent(box: Sandbox, method: str, path: str, **kw: Any) -> httpx.Response:
    """A request to the appliance-agent with Central's client certificate."""
    return httpx.request(
        method, f"https://{box.address}:{PORT}{path}", verify=box.tls_context(), timeout=30, **kw
    )


def client(box: Sandbox, port: int = PORT) -> ApplianceAgentClient:
    return ApplianceAgentClient.over_https(f"https://{box.address}:{port}", box.tls_context())


# --- validation ------------------------------------------------------------------------------
def test_validation_names_every_field_and_coerces_nothing(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    problem = assert_problem(
        agent(box, "PUT", "/network", json={"hostname": 7, "resolvers": "x", "gateway": "y"}), 422
    )
    assert [p["field"] for p in problem["problems"]] == ["hostname", "resolvers", "gateway"]
    assert problem["problems"][0]["message"] == "must be text"
    assert problem["problems"][2]["message"] == "is not a known field"

    pairing = {"address": "not-an-address", "port": "1231", "token": "t", "fingerprint": "f"}
    problem = assert_problem(agent(box, "PUT", "/backup/peer", json=pairing), 422)
    assert [p["field"] for p in problem["problems"]] == ["address", "port", "fingerprint"]
    assert_problem(agent(box, "POST", "/backup/now", json={"kind": "weekly"}), 422, "kind")
    assert_problem(agent(box, "PUT", "/diag-shell", json={"password": "short"}), 422, "password")
    assert_problem(agent(box, "GET", "/backup/snapshots/zero/bundle"), 422, "snapshot_id")
    assert_problem(agent(box, "PUT", "/network", content=b"{not json"), 422)
    # A CRL that is not one, or not of the appliance CA: 422 naming the body.
    assert_problem(agent(box, "PUT", "/pki/crl", content=b"not a CRL"), 422, "body")


def test_the_checks_after_the_shape_name_every_field(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    net = box.network
    change = {
        "extra_addresses": [f"{net.network_address}/{net.prefixlen}", f"{box.address}/27"],
        "routes": [{"destination": str(net), "gateway": "198.18.0.1"}],
    }
    before = agent(box, "GET", "/network").json()
    problem = assert_problem(agent(box, "PUT", "/network", json=change), 422)
    assert [p["field"] for p in problem["problems"]] == [
        "extra_addresses[0]",
        "extra_addresses[1]",
        "routes[0].gateway",
    ]
    assert agent(box, "GET", "/network").json() == before


# --- not found, conflict ---------------------------------------------------------------------
def test_not_found_and_conflict(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    assert not agent(box, "GET", "/backup/peer").json()["paired"]
    assert_problem(agent(box, "DELETE", "/backup/peer"), 404, "peer")
    assert_problem(agent(box, "GET", "/no/such/route"), 404)
    assert_problem(agent(box, "POST", "/backup/now", json={"kind": "full"}), 409, "peer")
    assert_problem(agent(box, "GET", "/backup/snapshots/1/bundle"), 409, "peer")
    assert_problem(agent(box, "DELETE", "/network"), 405)


def test_an_older_revocation_list_is_a_conflict(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    ca = CertificateAuthority(box.root.pki / "ca")
    current = box.root.pki / "crl.pem"
    in_use = current.read_bytes()
    now = dt.datetime.now(dt.UTC)
    older = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(load_cert(ca.paths.cert).subject)
        .last_update(now - dt.timedelta(days=2))
        .next_update(now + dt.timedelta(days=1))
        .sign(load_key(ca.paths.key), hashes.SHA256())
    )
    pem = older.public_bytes(serialization.Encoding.PEM)
    answer = agent(
        box, "PUT", "/pki/crl", content=pem, headers={"Content-Type": "application/pkix-crl"}
    )
    assert_problem(answer, 409, "body")
    assert current.read_bytes() == in_use


# --- refused by the kernel -------------------------------------------------------------------
def test_a_step_the_kernel_refuses_is_502_naming_it_and_undone(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    before = agent(box, "GET", "/network").json()
    other = next(
        n
        for n in ipaddress.IPv4Network("198.51.100.0/24").subnets(new_prefix=27)
        if n != box.network
    )
    change = {
        "extra_addresses": [f"{other[3]}/28"],  # added first, then taken off again
        "routes": [{"destination": str(other), "gateway": str(box.network.broadcast_address)}],
    }
    problem = assert_problem(agent(box, "PUT", "/network", json=change), 502, "routes[0]")
    assert problem["type"] == "urn:burrow:problem:daemon-error"
    assert "Invalid argument" in problem["detail"] and problem["hint"]
    assert agent(box, "GET", "/network").json() == before


# --- too large -------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_413_before_it_is_read(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    status, kind, body = declared(
        box.address, PORT, "/network", box.tls_context(), AGENT_MAX_BODY + 1
    )
    check_problem(status, kind, body, 413)
    assert str(AGENT_MAX_BODY) in body["detail"]


# --- unauthenticated, forbidden --------------------------------------------------------------
def test_no_client_certificate_is_refused_during_the_handshake(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    plain = ssl.create_default_context(cafile=str(box.ca_file))
    with pytest.raises(REFUSED):
        httpx.get(f"https://{box.address}:{PORT}/health", verify=plain, timeout=5)


def test_a_certificate_of_another_ca_or_a_revoked_one_is_refused(
    shared_sandbox: Sandbox, tmp_path: Path
) -> None:
    box = shared_sandbox
    stranger_ca = CertificateAuthority(tmp_path / "ca")
    stranger_ca.create("not the appliance CA")
    stranger = stranger_ca.issue(tmp_path, "intruder", purpose=Purpose.CLIENT,
                                 common_name=CENTRAL_CLIENT_NAME)  # fmt: skip
    context = ssl.create_default_context(cafile=str(box.ca_file))
    context.load_cert_chain(str(stranger.cert), str(stranger.key))
    with pytest.raises(REFUSED):
        httpx.get(f"https://{box.address}:{PORT}/health", verify=context, timeout=5)

    # A certificate of the appliance CA in Central's client name (only the CA's holder makes
    # one) that Central revoked: dropped after the handshake.
    (tmp_path / "ours").mkdir()
    ours = CertificateAuthority(box.root.pki / "ca").issue(
        tmp_path / "ours", "revoked-caller", purpose=Purpose.CLIENT,
        common_name=CENTRAL_CLIENT_NAME,
    )  # fmt: skip
    context = ssl.create_default_context(cafile=str(box.ca_file))
    context.load_cert_chain(str(ours.cert), str(ours.key))
    url = f"https://{box.address}:{PORT}/health"
    assert httpx.get(url, verify=context, timeout=5).status_code == 200
    serial = f"{load_cert(ours.cert).serial_number:X}"
    token = box.central_token()
    revoked = box.https(
        1231, "/api/v1/certificates/revoked", method="POST", token=token, timeout=10,
        json_body={"serial": serial, "reason": "contract test", "comment": "contract test"},
    )  # fmt: skip
    assert revoked.status_code == 201, revoked.text

    def refused() -> bool:
        try:
            httpx.get(url, verify=context, timeout=5)
        except REFUSED:
            return True
        return False

    wait_for(refused, timeout=15, what="the revoked certificate refused")


# --- the typed client ------------------------------------------------------------------------
def test_the_typed_client_maps_every_answer_like_for_every_agent(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    with client(box) as appliance:
        health = appliance.health()
        assert health.service == "appliance-agent" and health.daemon is not None
        # The status reads the sandbox's addresses from the kernel (one ioctl, no pyroute2).
        assert health.daemon["status"] == "running", health.daemon
        assert health.daemon["address_present"] is True
        network = appliance.network()
        assert isinstance(network, NetworkSettings)
        assert str(network.address) == f"{box.address}/{box.network.prefixlen}"
        assert isinstance(appliance.diag_shell(), DiagShellView)
        assert not appliance.backup_peer().paired
        assert not appliance.backup_status().peer

        with pytest.raises(NotFoundError) as missing:
            appliance.unpair()
        assert missing.value.status == 404 and missing.value.field == "peer"
        with pytest.raises(ConflictError) as conflict:
            appliance.back_up_now(BackupRequest(kind="full"))
        assert conflict.value.field == "peer"
        with pytest.raises(ConflictError):
            appliance.bundle(1)
        with pytest.raises(NotFoundError):  # a 4xx keeps its status: never made a 502
            appliance.call("GET", "/no/such/route")
        bad = NetworkChange.model_validate(
            {"extra_addresses": [f"{box.network.network_address}/27"], "resolvers": ["0.0.0.0"]}
        )
        with pytest.raises(ValidationError) as invalid:
            appliance.change_network(bad)
        assert [p.field for p in invalid.value.problems] == ["extra_addresses[0]", "resolvers[0]"]

    with client(box, port=4699) as nobody, pytest.raises(UnavailableError) as down:
        nobody.health()
    assert down.value.status == 503 and down.value.headers["Retry-After"]
