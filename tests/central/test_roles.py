"""Roles on every endpoint, found from the OpenAPI document so that a new one cannot slip by."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
import sqlalchemy

from tests.central.conftest import Api, User, assert_problem

PUBLIC = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/enrol"),
    # a certificate, public like every certificate (a replacement fetches it to trust it)
    ("GET", "/api/v1/certificates/central-client"),
    # authenticated by the one-time pairing token in its body (tests/backups)
    ("POST", "/api/v1/backup-peers/pair"),
    # a fleet: the managing Central's CA certificate (public), and the calls between two
    # Centrals, each authenticated by the join code or a secret of the join in its body
    ("GET", "/api/v1/fleet/ca"),
    ("POST", "/api/v1/fleet/members"),
    ("POST", "/api/v1/fleet/members/{member_id}/leave"),
    ("POST", "/api/v1/fleet/membership/release"),
}
#: The backup store authenticates paired appliances (``Authorization: Backup``), never users:
#: every user's bearer token gets 401 there, whatever the role.
PEER = "/api/v1/backup-store/"
#: One's own account: every role may log out and change its own password.
ACCOUNT = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/me/password")}
#: Every role but read-only may make and revoke its own API tokens.
#: Views read from an appliance's agent: the roles test's server is a DNS server that no agent
#: serves, so the reader gets past the role check to a 422 (not an appliance) instead of 200.
AGENT_VIEWS = {("GET", "/api/v1/servers/{server_id}/diag-shell")}
#: Views of Central's own appliance: the roles test's Central runs on none, so the reader gets
#: past the role check to a 404 (no appliance) instead of 200.
OWN_APPLIANCE_VIEWS = {("GET", "/api/v1/appliance/network")}
#: Views of something the roles test never makes (a DHCP high-availability pair): the reader
#: gets past the role check to a 404.
NOTHING_MADE_VIEWS = {("GET", "/api/v1/dhcp/ha")}
#: DHCP views of the roles test's DHCP server, which no agent serves: the reader gets past the
#: role check to a 503 (the agent cannot be reached: it is not enrolled).
DHCP_VIEWS = "/api/v1/dhcp/servers/{dhcp_server_id}/"
#: Figures the monitor program collects: the roles test's Central runs without it, so the
#: reader gets past the role check to a 503 (nothing collected yet).
MONITOR_VIEWS = {("GET", "/api/v1/monitoring/figures"), ("GET", "/metrics")}
#: DNS views read from the DNS server's agent (DNSSEC policies, a zone's keys and DS): the
#: roles test's server has no agent, so the reader gets past the role check to a 503.
DNS_AGENT_VIEWS = {
    ("GET", "/api/v1/dns/servers/{server_id}/dnssec-policies"),
    ("GET", "/api/v1/dns/zones/{zone_id}/dnssec"),
}
#: Caching views of the roles test's server, a DNS server: the reader gets past the role check
#: to a 422 (not a caching server; a lookup without its name).
CACHING_VIEWS = "/api/v1/caching/servers/{server_id}/"
#: Reads only administrators may make: a backup bundle holds the appliance's keys.
ADMIN_READS = {
    ("GET", "/api/v1/appliance/backups/{backup_id}/export"),
    ("GET", "/api/v1/backup-peers/{peer_id}/snapshots/{snapshot_id}/bundle"),
}
OWN_TOKENS = {("POST", "/api/v1/api-tokens"), ("DELETE", "/api/v1/api-tokens/{token_id}")}
#: The part of the API a domain administrator writes (its role check lets it through).
DOMAINS = {"dns-admin": ("/api/v1/dns/", "/api/v1/caching/")}
#: IPAM objects of the roles test: each ``ids`` gets a block and a range of its own.
_ipam = itertools.count(1)


def _endpoints(central: Api) -> list[tuple[str, str]]:
    spec = central.call("GET", "/api/v1/openapi.json").json()
    found = []
    for path, methods in spec["paths"].items():
        for method in methods:
            found.append((method.upper(), path))
    return sorted(found)


def _fill(central: Api, path: str, ids: dict[str, Any]) -> str:
    """``path`` with real ids: the reader's user and API token, a server."""
    return path.format(**ids)


def _seed_zone(central: Api, server_id: int, name: str) -> int:
    """A DNS zone written straight into Central's database (the roles' server has no agent)."""
    url = central.process.database_url or f"sqlite:///{central.process.root.lib / 'central.db'}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sqlalchemy.text(
                    "INSERT INTO dns_zones (server_id, name, kind, enabled, ttl, soa, spec,"
                    " record_count, created_at, updated_at) VALUES (:server, :name, 'primary',"
                    " true, 3600, '', '{}', 0, :at, :at)"
                ),
                {
                    "server": server_id,
                    "name": name,
                    "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                },
            )
            zone_id = conn.execute(
                sqlalchemy.text("SELECT id FROM dns_zones WHERE name = :name"), {"name": name}
            ).scalar_one()
    finally:
        engine.dispose()
    return int(zone_id)


def _seed_key(central: Api, server_id: int, name: str) -> int:
    """A TSIG key object written straight into Central's database (no agent to make it)."""
    url = central.process.database_url or f"sqlite:///{central.process.root.lib / 'central.db'}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sqlalchemy.text(
                    "INSERT INTO dns_tsig_keys (server_id, name, algorithm, created_at)"
                    " VALUES (:server, :name, 'hmac-sha256', :at)"
                ),
                {
                    "server": server_id,
                    "name": name,
                    "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                },
            )
            key_id = conn.execute(
                sqlalchemy.text("SELECT id FROM dns_tsig_keys WHERE name = :name"), {"name": name}
            ).scalar_one()
    finally:
        engine.dispose()
    return int(key_id)


@pytest.fixture
def ids(central: Api) -> dict[str, Any]:
    victim = central.make_user("read-only")
    token = central.post("/api/v1/api-tokens", {"name": "roles", "user_id": victim.id}).json()
    server = central.post(
        "/api/v1/servers",
        {"kind": "dns", "name": f"roles-{victim.username}", "address": "198.51.100.77"},
    ).json()
    dhcp = central.post(
        "/api/v1/servers",
        {"kind": "dhcp", "name": f"roles-dhcp-{victim.username}", "address": "198.51.100.78"},
    ).json()
    zone_id = _seed_zone(central, server["id"], f"roles-{victim.username}.test.")
    pairing = central.post(
        "/api/v1/backup-peers/pairing-tokens", {"address": "127.0.0.1", "comment": "roles"}
    ).json()
    peer = central.call(
        "POST",
        "/api/v1/backup-peers/pair",
        json={
            "token": pairing["token"],
            "appliance_id": f"roles-{victim.username}",
            "address": "127.0.0.1",
            "agent_certificate": (central.process.root.pki / "central.crt").read_text(),
        },
    ).json()
    n = next(_ipam)
    block = central.post("/api/v1/ipam/blocks", {"prefix": f"10.{100 + n}.0.0/16"}).json()
    # one range holds the address of every path (``address``), claimed
    ranges = central.get("/api/v1/ipam/ranges?filter=name:roles").json()["items"]
    if not ranges:
        ranges = [central.post("/api/v1/ipam/ranges", {"start": "198.51.100.1",
                                                        "end": "198.51.100.14",
                                                        "name": "roles"}).json()]  # fmt: skip
    ipam_range = ranges[0]
    central.post(f"/api/v1/ipam/ranges/{ipam_range['id']}/claims", {"address": "198.51.100.5"})
    prop = f"roles-{n}"
    central.post("/api/v1/ipam/properties", {"name": prop, "kind": "text"})
    profile = central.post("/api/v1/ipam/snmp-profiles", {"name": f"roles-{n}", "version": "2c",
                                                         "community": "roles"}).json()  # fmt: skip
    schedule = central.post("/api/v1/ipam/discovery/schedules", {
        "name": f"roles-{n}", "kind": "sweep", "range_id": ipam_range["id"],
        "interval_seconds": 3600, "enabled": False}).json()  # fmt: skip
    return {
        "block_id": block["id"],
        "range_id": ipam_range["id"],
        "property_name": prop,
        "profile_id": profile["id"],
        "schedule_id": schedule["id"],
        "peer_id": peer["peer_id"],
        "snapshot_id": 1,
        "replacement_id": 1,
        "digest": "0" * 64,
        "dhcp_server_id": dhcp["id"],
        "family": "v4",
        "scope_id": 1,
        "kind": "hw_address",
        "value": "02:00:00:00:00:01",
        "network_name": "lab",
        "space": "dhcp4",
        "code": 250,
        "class_name": "lab",
        "address": "198.51.100.5",
        "user_id": victim.id,
        "zone_id": zone_id,
        "key_id": _seed_key(central, server["id"], f"roles-{victim.username}"),
        "name": "roles-policy",
        "token_id": token["id"],
        "backup_id": 1,
        "member_id": 1,
        "server_id": server["id"],
        "object_type": "user",
        "object_id": str(victim.id),
        "reader": victim,
    }


def test_every_endpoint_but_the_public_ones_needs_a_token(
    central: Api, ids: dict[str, Any]
) -> None:
    endpoints = _endpoints(central)
    assert len(endpoints) >= 25
    for method, path in endpoints:
        if (method, path) in PUBLIC:
            continue
        response = central.call(method, _fill(central, path, ids), json={})
        assert_problem(response, 401)


def test_read_only_reads_everything_and_every_write_is_forbidden(
    central: Api, ids: dict[str, Any]
) -> None:
    reader = ids["reader"]
    before = central.history_total()
    writes = 0
    for method, path in _endpoints(central):
        if (method, path) in PUBLIC | ACCOUNT:
            continue
        response = central.call(method, _fill(central, path, ids), reader.token, json={})
        if path.startswith(PEER):
            assert_problem(response, 401)
        elif (method, path) in ADMIN_READS:
            assert_problem(response, 403)
        elif (method, path) in AGENT_VIEWS:
            assert_problem(response, 422, "server_id")
        elif method == "GET" and path.startswith(CACHING_VIEWS):
            # the lookup's name is a required query parameter, checked first
            assert_problem(response, 422, "name" if path.endswith("/lookup") else "server_id")
        elif (method, path) in OWN_APPLIANCE_VIEWS | NOTHING_MADE_VIEWS:
            assert_problem(response, 404)
        elif method == "GET" and path.startswith(DHCP_VIEWS):
            assert_problem(response, 503)
        elif (method, path) in MONITOR_VIEWS | DNS_AGENT_VIEWS:
            assert_problem(response, 503)
        elif method == "GET":
            assert response.status_code == 200, (path, response.text)
        else:
            writes += 1
            assert_problem(response, 403)
    assert writes >= 10
    assert central.history_total() == before, "a refused write left a history entry"


@pytest.mark.parametrize("role", ["dns-admin", "dhcp-admin", "ipam-admin"])
def test_domain_administrators_cannot_change_users_settings_or_servers(
    central: Api, ids: dict[str, Any], role: str
) -> None:
    user: User = central.make_user(role)
    before = central.history_total()
    for method, path in _endpoints(central):
        if method == "GET" or (method, path) in PUBLIC | ACCOUNT | OWN_TOKENS:
            continue
        if role == "dhcp-admin" and path.startswith("/api/v1/dhcp/"):
            continue  # its own domain (tests/central_dhcp)
        if role == "ipam-admin" and path.startswith("/api/v1/ipam/"):
            continue  # its own domain (tests/central/test_ipam.py)
        response = central.call(method, _fill(central, path, ids), user.token, json={})
        if path.startswith(PEER):
            assert_problem(response, 401)
            continue
        if role in DOMAINS and path.startswith(DOMAINS[role]):
            assert response.status_code != 403, (method, path, response.text)
            continue
        assert_problem(response, 403)
    assert central.history_total() == before


def test_a_domain_administrator_cannot_revoke_someone_elses_token(
    central: Api, ids: dict[str, Any]
) -> None:
    user = central.make_user("dns-admin")
    response = central.delete(f"/api/v1/api-tokens/{ids['token_id']}", user.token)
    assert_problem(response, 404, "token_id")


def test_a_disabled_user_is_logged_out(central: Api) -> None:
    user = central.make_user("dns-admin")
    assert central.patch(f"/api/v1/users/{user.id}", {"enabled": False}).status_code == 200
    # Its sessions are revoked as well, but the reason given is that the user is disabled.
    gone = central.get("/api/v1/me", user.token)
    assert_problem(gone, 401)
    assert gone.json()["detail"] == "The user is disabled."
    response = central.call(
        "POST", "/api/v1/auth/login", json={"username": user.username, "password": user.password}
    )
    assert_problem(response, 401)
