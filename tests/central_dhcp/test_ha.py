"""Kea HA pairs in Central (central.dhcp.ha) over the real agent routes and an in-memory Kea
per server: the checks refuse whole, a partner's refusal puts the primary back, each partner
gets a key of its own and a certificate of the pair's CA (no secret in the configuration), and
a change on one partner is made on the other. The real daemons
are in tests/fleet/test_ha_lab.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.dhcp import ha, service
from central.history.models import Change
from central.registry.models import Server
from services.common.dhcp.client import DhcpAgentClient
from services.common.dhcp.contract import Reservation
from services.common.errors import BurrowError
from services.common.launch import kea_hooks_dir
from services.common.paths import StateRoot
from services.common.pki import (
    CertificateAuthority,
    Purpose,
    load_cert,
    load_key,
    new_key,
    usages,
)
from services.dhcp.ha_tls import ha_tls_router
from services.dhcp.memory import MemoryKea
from tests.central_dhcp.test_replication import ADMIN, FakeAgents, add_server, agents, db
from tests.unit.test_dhcp_client import AppTransport, Flaky, agent_app

__all__ = ["agents", "db"]  # the fixtures


def _hooks() -> list[dict[str, str]]:
    where = kea_hooks_dir()
    return [{"library": f"{where}/libdhcp_lease_cmds.so"},
            {"library": f"{where}/libdhcp_stat_cmds.so"}]  # fmt: skip


def _with_tls(agents: FakeAgents, server: Server, where: Path) -> StateRoot:
    """The agent's HA TLS routes too, on a state root of its own."""
    root = StateRoot(where / server.name)
    root.kea_etc.mkdir(parents=True)
    app = agent_app(agents.keas[server.id])
    app.include_router(ha_tls_router(root))
    agents.wires[server.id] = Flaky(AppTransport(app))
    return root


def _pair(db: Session, agents: FakeAgents, scopes: list[str], where: Path) -> tuple[Server, Server]:
    one, two = add_server(db, agents, "one"), add_server(db, agents, "two")
    _with_tls(agents, one, where)
    _with_tls(agents, two, where)
    for server, subnets in ((one, ["198.51.100.0/27"]), (two, scopes)):
        top = agents.dhcp4(server.id)
        top["hooks-libraries"] = _hooks()
        top["subnet4"] = [{"id": i + 1, "subnet": s} for i, s in enumerate(subnets)]
    return one, two


def _ha_hooks(agents: FakeAgents, server: Server) -> list[Any]:
    return [h for h in agents.dhcp4(server.id)["hooks-libraries"]
            if h["library"].endswith("libdhcp_ha.so")]  # fmt: skip


def test_refusals_change_nothing_and_a_partners_refusal_puts_the_primary_back(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one, two = _pair(db, agents, ["198.51.100.64/27"], tmp_path)
    with pytest.raises(BurrowError) as other:
        ha.set_up(db, config, ADMIN, ha.HaRequest(primary=one.id, partner=two.id))
    assert other.value.status == 409 and other.value.field == "partner"
    with pytest.raises(BurrowError) as same:
        ha.set_up(db, config, ADMIN, ha.HaRequest(primary=one.id, partner=one.id))
    assert same.value.status == 422 and same.value.field == "partner"

    agents.dhcp4(two.id)["subnet4"] = []
    before = dict(agents.dhcp4(one.id))
    agents.keas[two.id].refuse["config-test"] = "not today"
    with pytest.raises(BurrowError):
        ha.set_up(db, config, ADMIN, ha.HaRequest(primary=one.id, partner=two.id))
    assert agents.dhcp4(one.id) == before  # put back
    assert not _ha_hooks(agents, one) and not _ha_hooks(agents, two)
    assert ha.stored(db) is None
    actions = db.scalars(select(Change.action).where(Change.object_type == "dhcp-ha")).all()
    assert list(actions) == ["create", "undo"]


def test_a_pair_gets_certificates_of_its_own_ca_and_replicates_changes(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    one, two = _pair(db, agents, [], tmp_path)
    pair = ha.set_up(db, config, ADMIN, ha.HaRequest(
        mode="load-balancing", primary=one.id, partner=two.id, comment="pair"))  # fmt: skip
    assert [p.role for p in pair.partners] == ["primary", "secondary"] and pair.tls
    assert agents.dhcp4(two.id)["subnet4"][0]["subnet"] == "198.51.100.0/27"  # copied
    (hook_one,), (hook_two,) = _ha_hooks(agents, one), _ha_hooks(agents, two)
    relation_one = hook_one["parameters"]["high-availability"][0]
    relation_two = hook_two["parameters"]["high-availability"][0]
    assert relation_one["this-server-name"] == "one" and relation_two["this-server-name"] == "two"
    assert relation_one["peers"] == relation_two["peers"]
    assert [p["url"] for p in relation_one["peers"]] == ["https://198.51.100.9:8005/"] * 2
    assert agents.dhcp4(one.id)["multi-threading"]["enable-multi-threading"] is True
    assert relation_one["require-client-certs"] is True and relation_one["restrict-commands"]
    assert "password" not in str(agents.dhcp4(one.id)) + str(agents.dhcp4(two.id))
    # Each partner: its own key (the agent's, never sent), a certificate of the pair's CA
    # (not the agents' CA) good as server and client, named by the appliance's address.
    ha_ca = load_cert(config.root.pki / "ha-ca/ca.crt")
    keys = set()
    for relation in (relation_one, relation_two):
        cert = load_cert(Path(relation["cert-file"]))
        cert.verify_directly_issued_by(ha_ca)
        assert load_cert(Path(relation["trust-anchor"])) == ha_ca
        assert usages(cert) == {Purpose.SERVER.usage, Purpose.CLIENT.usage}
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert [str(n.value) for n in names] == ["198.51.100.9"]
        key = Path(relation["key-file"])
        assert key.stat().st_mode & 0o077 == 0o040  # Kea's group reads it, no one else
        assert load_key(key).public_key() == cert.public_key()
        keys.add(key.read_bytes())
    assert len(keys) == 2

    # A reservation made on the secondary is made on the primary too.
    body = Reservation(hw_address="02:00:00:00:00:09", hostname="both")
    service.change(
        db, config, ADMIN, two, "v4",
        lambda agent, known: agent.add_reservation("v4", 1, body, known_hash=known),
        object_type="dhcp-reservation", object_id="1:02:00:00:00:00:09", action="create",
        pick=service.by_key("scopes", "id", 1), comment="r",
    )  # fmt: skip
    for server in (one, two):
        hosts = agents.dhcp4(server.id)["subnet4"][0]["reservations"]
        assert [h["hostname"] for h in hosts] == ["both"]

    removed = ha.remove(db, config, ADMIN, "off")
    assert removed.kept_hook == [] and ha.stored(db) is None
    assert not _ha_hooks(agents, one) and not _ha_hooks(agents, two)


def test_the_agent_takes_only_a_certificate_of_its_last_key_signed_by_the_ca(
    tmp_path: Path,
) -> None:
    root = StateRoot(tmp_path / "appliance")
    root.kea_etc.mkdir(parents=True)
    app = agent_app(MemoryKea())
    app.include_router(ha_tls_router(root))
    agent = DhcpAgentClient(AppTransport(app))
    ca, other = CertificateAuthority(tmp_path / "ca"), CertificateAuthority(tmp_path / "other")
    ca.create("pair")
    other.create("other")
    pem = ca.paths.cert.read_text()
    with pytest.raises(BurrowError) as early:
        agent.ha_tls_install(pem, pem)
    assert early.value.status == 409 and early.value.field == "cert"
    csr = agent.ha_tls_request("one").csr.encode()
    signed = ca.sign_request(csr, "one", server_names=[], purpose=Purpose.PEER)
    strange = ca.sign(new_key().public_key(), "one", purpose=Purpose.PEER)
    by_other = other.sign_request(csr, "one", server_names=[], purpose=Purpose.PEER)
    for cert in (strange, by_other):
        with pytest.raises(BurrowError) as refused:
            agent.ha_tls_install(cert.public_bytes(serialization.Encoding.PEM).decode(), pem)
        assert refused.value.status == 422 and refused.value.field == "cert"
    assert not (root.kea_ha_tls / "ha.key").exists()  # nothing installed
    files = agent.ha_tls_install(signed.public_bytes(serialization.Encoding.PEM).decode(), pem)
    assert Path(files.key_file).exists() and not (root.kea_ha_tls / "ha.key.new").exists()
    assert load_cert(Path(files.cert_file)) == signed
