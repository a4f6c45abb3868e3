"""DNSSEC, TSIG keys and forwarders through Central's API, with the sandbox's real named.

A zone signed under a policy defined through Central validates against the DS Central shows;
a change through the API is signed; TSIG key objects grant transfers and updates per zone,
and no read, for any role, and no history entry shows a secret."""

from __future__ import annotations

import itertools
from typing import Any

import dns.rcode
import dns.rdatatype
import dns.tsig
import pytest

from tests.central_dns.conftest import CentralDns, create
from tests.dns.test_dnssec import FAST, _transfer, _update, assert_signed, signed_query
from tests.harness import appliance_dns
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

_users = itertools.count(1)
RRSIG = dns.rdatatype.RRSIG


def reader_and_dns_admin(api: CentralDns) -> list[str]:
    """Tokens of a new read-only user and a new DNS administrator (every role that reads)."""
    tokens = []
    for role in ("read-only", "dns-admin"):
        name, password = f"k{role[:4]}{next(_users)}{api.server_id}", "long-enough-password"
        made = api.call(
            "POST", "/api/v1/users", {"username": name, "role": role, "password": password}
        )
        assert made.status_code == 201, made.text
        login = api.call("POST", "/api/v1/auth/login", {"username": name, "password": password})
        tokens.append(str(login.json()["token"]))
    return tokens


def every_read(api: CentralDns, paths: list[str], tokens: list[str]) -> str:
    """The text of every read of ``paths`` by every token (and Central's administrator)."""
    out = []
    for token in [api.token, *tokens]:
        for path in paths:
            response = api.call("GET", path, token=token)
            assert response.status_code == 200, (path, response.text)
            out.append(response.text)
    return "\n".join(out)


@pytest.fixture(scope="module")
def policy(central_dns: CentralDns) -> dict[str, Any]:
    api = central_dns
    path = f"/api/v1/dns/servers/{api.server_id}/dnssec-policies/fast"
    return dict(api.ok(api.call("PUT", path, {"policy": FAST, "comment": "short test policy"})))


def test_signed_zone_through_central(central_dns: CentralDns, policy: dict[str, Any]) -> None:
    api = central_dns
    listed = api.ok(api.call("GET", f"/api/v1/dns/servers/{api.server_id}/dnssec-policies"))
    assert "fast" in {p["name"] for p in listed["items"]} and "default" in listed["builtin"]
    name = api.new_zone_name()
    zone = api.create_zone(name, ttl=10, dnssec_policy="fast", comment="signed")
    assert zone["options"]["dnssec_policy"] == "fast"
    path = f"/api/v1/dns/zones/{zone['id']}/dnssec"
    state = wait_for(
        lambda: (s := api.ok(api.call("GET", path)))["signed"] and s["ds"] and s,
        timeout=30, what="the zone signed",
    )  # fmt: skip
    assert {k["role"] for k in state["keys"]} == {"KSK", "ZSK"}
    assert_signed(api.box, name, name, "SOA", state["ds"])
    api.ok(api.change(zone["id"], [create("www", "A", "198.51.100.81", ttl=10)], "signed too"))
    assert_signed(api.box, name, "www." + name, "A", state["ds"])
    assert {r["type"] for r in api.records(zone["id"])} == {"NS", "A"}
    # The zone is signed with a policy that allows TTLs up to 10 s: a longer one is refused.
    refused = api.change(zone["id"], [create("long", "A", "198.51.100.82", ttl=600)])
    assert "max_zone_ttl" in assert_problem(refused, 422, "changes[0].record.ttl")["detail"]
    assert api.served("long." + name, "A") == set()
    checkds = f"/api/v1/dns/zones/{zone['id']}/dnssec/checkds"
    assert_problem(api.call("POST", checkds, {"state": "published", "key_id": 1}), 422, "key_id")
    assert_problem(api.call("POST", checkds, {"state": "maybe"}), 422, "state")
    # Unsigning starts with BIND's insecure policy. The DS was never published at a parent
    # (its state stayed hidden), so named may drop the keys at once; then the policy goes.
    unsign = {"dnssec_policy": None, "comment": "unsign"}
    step = api.ok(api.call("PATCH", f"/api/v1/dns/zones/{zone['id']}", unsign))
    assert step["options"]["dnssec_policy"] == "insecure"
    assert api.ok(api.call("GET", path))["unsigning"]
    entry = api.history(zone["id"])[0]
    assert entry["after"]["options"]["dnssec_policy"] == "insecure"
    wait_for(
        lambda: not api.ok(api.call("GET", path))["signed"], timeout=60, interval=1,
        what="named to drop the keys",
    )  # fmt: skip
    done = api.ok(api.call("PATCH", f"/api/v1/dns/zones/{zone['id']}", unsign))
    assert done["options"]["dnssec_policy"] is None
    assert api.ok(api.call("GET", path))["policy"] is None
    assert not [r for r in signed_query(api.box, name, "SOA").answer if r.rdtype == RRSIG]
    in_use = api.call(
        "DELETE", f"/api/v1/dns/servers/{api.server_id}/dnssec-policies/fast?comment=x"
    )
    assert in_use.status_code == 204  # the zone is insecure now: fast signs nothing
    api.ok(api.call("PUT", f"/api/v1/dns/servers/{api.server_id}/dnssec-policies/fast",
                    {"policy": FAST}))  # fmt: skip
    api.ok(api.call("DELETE", f"/api/v1/dns/zones/{zone['id']}?comment=done"))


def test_tsig_keys_through_central(central_dns: CentralDns) -> None:
    api = central_dns
    tokens = reader_and_dns_admin(api)
    made = []
    for key_name, algorithm in (("c-granted", "hmac-sha256"), ("c-other", "hmac-sha512")):
        body = {"server_id": api.server_id, "name": key_name, "algorithm": algorithm,
                "comment": "for a client"}  # fmt: skip
        made.append(api.ok(api.call("POST", "/api/v1/dns/tsig-keys", body)))
    granted, other = made
    secrets = [k["secret"] for k in made]
    assert granted["algorithm"] == "hmac-sha256" and len(granted["secret"]) == 44
    again = api.call("POST", "/api/v1/dns/tsig-keys",
                     {"server_id": api.server_id, "name": "c-granted"})  # fmt: skip
    assert_problem(again, 409, "name")
    reserved = api.call("POST", "/api/v1/dns/tsig-keys",
                        {"server_id": api.server_id, "name": "burrow-tsig"})  # fmt: skip
    assert_problem(reserved, 422, "name")

    name = api.new_zone_name()
    missing = api.call(
        "POST",
        "/api/v1/dns/zones",
        {"server_id": api.server_id, "name": name, "update_keys": ["nokey"]},
    )
    assert_problem(missing, 422, "update_keys[0]")
    zone = api.create_zone(
        name, transfer_keys=["c-granted"], update_keys=["c-granted"], comment="keyed"
    )
    good = dns.tsig.Key("c-granted", granted["secret"], "hmac-sha256")
    bad = dns.tsig.Key("c-other", other["secret"], "hmac-sha512")
    assert _transfer(api.box, name, good) == dns.rcode.NOERROR
    assert _transfer(api.box, name, None) in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
    assert _transfer(api.box, name, bad) in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
    assert _update(api.box, name, bad) in (dns.rcode.REFUSED, dns.rcode.NOTAUTH)
    assert _update(api.box, name, good) == dns.rcode.NOERROR

    in_use = api.call("DELETE", f"/api/v1/dns/tsig-keys/{granted['id']}?comment=x")
    assert name in assert_problem(in_use, 409)["detail"]
    listed = api.ok(api.call("GET", f"/api/v1/dns/tsig-keys?server_id={api.server_id}"))
    found = {k["name"]: k for k in listed["items"]}
    assert found["c-granted"]["zones"] == [name] and "secret" not in found["c-granted"]

    # A secondary zone with a key of its own: the secret stays with the agent.
    secondary_secret = "c2Vjb25kYXJ5LXNlY3JldC1vZi1hLXpvbmU="
    secondary = api.create_zone(
        api.new_zone_name(), kind="secondary", primaries=["198.51.100.30"],
        tsig_key={"name": "sec-xfer", "secret": secondary_secret}, comment="secondary",
    )  # fmt: skip
    assert secondary["options"]["tsig_key"] == {"name": "sec-xfer", "algorithm": "hmac-sha256"}
    # A new key for it: Central sees it took by the fingerprint the agent answers, the secret
    # is never answered back; a key without its secret is refused.
    renewed_secret = "cmVuZXdlZC1zZWNvbmRhcnktc2VjcmV0LW9mLWEtem9uZQ=="
    renew = {"tsig_key": {"name": "sec-xfer", "algorithm": "hmac-sha512",
                          "secret": renewed_secret}, "comment": "a new key"}  # fmt: skip
    renewed = api.ok(api.call("PATCH", f"/api/v1/dns/zones/{secondary['id']}", renew))
    assert renewed["options"]["tsig_key"] == {"name": "sec-xfer", "algorithm": "hmac-sha512"}
    bare = {"tsig_key": {"name": "sec-xfer"}, "comment": "no secret"}
    assert_problem(api.call("PATCH", f"/api/v1/dns/zones/{secondary['id']}", bare), 422,
                   "tsig_key.secret")  # fmt: skip

    paths = [
        "/api/v1/dns/tsig-keys",
        f"/api/v1/dns/tsig-keys/{granted['id']}",
        f"/api/v1/dns/zones/{zone['id']}",
        f"/api/v1/dns/zones/{secondary['id']}",
        "/api/v1/dns/zones?limit=1000",
        "/api/v1/history?limit=1000&sort=-id",
        f"/api/v1/history?filter=object_type:dns-zone object_id:{secondary['id']}",
        "/api/v1/history?filter=object_type:dns-tsig-key",
    ]
    text = every_read(api, paths, tokens)
    for secret in [*secrets, secondary_secret, renewed_secret]:
        assert secret not in text
    assert "c-granted" in text and "sec-xfer" in text  # the reads did show the keys

    api.ok(api.call("DELETE", f"/api/v1/dns/zones/{secondary['id']}?comment=done"))
    api.ok(api.call("DELETE", f"/api/v1/dns/zones/{zone['id']}?comment=done"))
    for key in made:
        api.ok(api.call("DELETE", f"/api/v1/dns/tsig-keys/{key['id']}?comment=done"))
    history = api.ok(api.call("GET", "/api/v1/history?filter=object_type:dns-tsig-key"))
    actions = {(e["object_id"], e["action"]) for e in history["items"]}
    assert (str(granted["id"]), "create") in actions and (str(granted["id"]), "delete") in actions


def test_the_appliance_key_counts_only_on_the_appliance(central_dns: CentralDns) -> None:
    """``burrow-tsig``, the dns-agent's key, is refused from any address but the appliance's
    loopback, for transfers and for updates, in a zone with ``update_keys`` (named's
    allow-update) and in one with ``update_grants`` (update-policy); a client's own key made
    through Central works from here; the dns-agent keeps changing both zones."""
    api = central_dns
    ours = appliance_dns.appliance_key(api.box)
    body = {"server_id": api.server_id, "name": "c-client", "comment": "a client elsewhere"}
    made = api.ok(api.call("POST", "/api/v1/dns/tsig-keys", body))
    client = dns.tsig.Key("c-client", made["secret"], "hmac-sha256")
    zones: list[dict[str, Any]] = []
    try:
        grant = {"key": "c-client", "match": "zonesub"}
        for spec in ({"update_keys": ["c-client"]}, {"update_grants": [grant]}):
            zones.append(api.create_zone(api.new_zone_name(), transfer_keys=["c-client"], **spec))
        for zone in zones:
            name = zone["name"]
            # From this machine (an address of the appliance's network, not its loopback).
            assert _transfer(api.box, name, ours) == dns.rcode.REFUSED, name
            assert _update(api.box, name, ours, "fromours") == dns.rcode.REFUSED, name
            assert _transfer(api.box, name, client) == dns.rcode.NOERROR, name
            assert _update(api.box, name, client, "fromclient") == dns.rcode.NOERROR, name
            assert api.served(f"fromours.{name}", "A") == set()
            assert api.served(f"fromclient.{name}", "A") == {"198.51.100.99"}
            # On the appliance the key works as the dns-agent uses it, and the agent does.
            assert appliance_dns.transfer(api.box, name).get_rdataset("@", "SOA") is not None
            api.ok(api.change(zone["id"], [create("agent", "A", "198.51.100.97")], "agent"))
            assert api.served(f"agent.{name}", "A") == {"198.51.100.97"}
    finally:
        for zone in zones:
            api.ok(api.call("DELETE", f"/api/v1/dns/zones/{zone['id']}?comment=done"))
        api.ok(api.call("DELETE", f"/api/v1/dns/tsig-keys/{made['id']}?comment=done"))


def test_forwarders_are_checked(central_dns: CentralDns) -> None:
    api = central_dns
    path = f"/api/v1/dns/servers/{api.server_id}/options"
    forwarders = ["0.0.0.0", "127.0.0.1", "198.51.100.9", "198.51.100.9", "::"]
    response = api.call("PUT", path, {"options": {"forwarders": forwarders}})
    problem = assert_problem(response, 422)
    fields = [p["field"] for p in problem["problems"]]
    assert fields == [
        "options.forwarders[0]", "options.forwarders[1]", "options.forwarders[3]",
        "options.forwarders[4]",
    ]  # fmt: skip
    own = api.call("PUT", path, {"options": {"forwarders": [api.box.address]}})
    assert_problem(own, 422, "options.forwarders[0]")
    bad = api.call("PUT", path, {"options": {"forwarders": ["198.51.100.300"]}})
    assert_problem(bad, 422, "options.forwarders[0]")
    zone = api.call("POST", "/api/v1/dns/zones", {
        "server_id": api.server_id, "name": api.new_zone_name(), "kind": "forward",
        "forwarders": ["198.51.100.9", api.box.address],
    })  # fmt: skip
    assert_problem(zone, 422, "forwarders[1]")


def test_forward_and_stub_zones_warn_without_recursion(central_dns: CentralDns) -> None:
    api = central_dns
    path = f"/api/v1/dns/servers/{api.server_id}/options"
    options = api.ok(api.call("GET", path))["options"]
    assert options["recursion"] is False  # the sandbox's default
    forward = api.create_zone(api.new_zone_name(), kind="forward", forwarders=["198.51.100.9"])
    stub = api.create_zone(api.new_zone_name(), kind="stub", primaries=["198.51.100.9"])
    for zone in (forward, stub):
        assert zone["warnings"] and "recursion" in zone["warnings"][0]
    try:
        api.ok(api.call("PUT", path, {"options": {**options, "recursion": True}}))
        for zone in (forward, stub):
            assert api.ok(api.call("GET", f"/api/v1/dns/zones/{zone['id']}"))["warnings"] == []
    finally:
        api.ok(api.call("PUT", path, {"options": options}))
        for zone in (forward, stub):
            api.ok(api.call("DELETE", f"/api/v1/dns/zones/{zone['id']}?comment=done"))
