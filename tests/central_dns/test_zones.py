"""Zones and records through Central's API, answered by the sandbox's named."""

from __future__ import annotations

import re
from typing import Any

import dns.query
import dns.rdatatype
import dns.tsig
import dns.update
import dns.zone
import pytest

from services.sandbox.sandbox import Sandbox
from tests.central_dns.conftest import CentralDns, create
from tests.dns.test_records import EVERY_TYPE
from tests.harness import appliance_dns
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def _key(text: str) -> dns.tsig.Key:
    secret = re.search(r'secret\s+"([^"]+)"', text)
    algorithm = re.search(r"algorithm\s+([A-Za-z0-9-]+)", text)
    name = re.search(r'key\s+"?([^"\s{]+)"?', text)
    assert secret and algorithm and name
    return dns.tsig.Key(name.group(1), secret.group(1), algorithm.group(1))


def test_zone_and_records_of_several_types_are_served(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name, comment="first zone")
    assert zone["kind"] == "primary" and zone["server_id"] == api.server_id
    changes = [
        create("www", "A", "203.0.113.10", 600),
        create("www", "AAAA", "2001:db8::10"),
        create("@", "MX", "10 mail"),
        create("mail", "A", "203.0.113.20"),
        create("alias", "CNAME", "www"),
        create("@", "TXT", '"v=spf1 -all"'),
        create("_sip._tcp", "SRV", "10 5 5060 www"),
        create("*.dev", "A", "203.0.113.30"),
    ]
    response = api.change(zone["id"], changes, comment="several types")
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == len(changes)
    assert api.served(f"www.{name}", "A") == {"203.0.113.10"}
    assert api.served(f"www.{name}", "AAAA") == {"2001:db8::10"}
    assert api.served(name, "MX") == {f"10 mail.{name}"}
    assert api.served(f"alias.{name}", "CNAME") == {f"www.{name}"}
    assert api.served(name, "TXT") == {'"v=spf1 -all"'}
    assert api.served(f"_sip._tcp.{name}", "SRV") == {f"10 5 5060 www.{name}"}
    assert api.served(f"x.dev.{name}", "A") == {"203.0.113.30"}
    stored = {(r["name"], r["type"], r["data"]) for r in api.records(zone["id"])}
    assert (f"www.{name}", "A", "203.0.113.10") in stored
    assert (f"*.dev.{name}", "A", "203.0.113.30") in stored
    latest = api.history(zone["id"])[0]
    assert latest["action"] == "change" and latest["comment"] == "several types"
    assert f"www.{name} 600 IN A 203.0.113.10" in latest["after"]["records"]["records"]
    got = api.ok(api.call("GET", f"/api/v1/dns/zones/{zone['id']}"))
    assert got["record_count"] == len(stored)
    listed = api.ok(api.call("GET", f"/api/v1/dns/zones?filter=name:{name}"))
    assert listed["total"] == 1 and listed["items"][0]["id"] == zone["id"]


def _axfr(api: CentralDns, zone: str) -> set[str]:
    """The zone as named serves it, transferred as the dns-agent does (on the appliance)."""
    transferred = appliance_dns.transfer(api.box, zone, timeout=10)
    return {
        f"{name} {rds.ttl} {dns.rdatatype.to_text(rds.rdtype)} {rd.to_text()}"
        for name, node in transferred.nodes.items()
        for rds in node.rdatasets
        for rd in rds
    }


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        (create("bad", "A", "203.0.113.999"), "changes[731].record.data", "bad"),
        (create("h5", "CNAME", "www"), "changes[731].record", "CNAME"),
    ],
)
def test_a_bulk_change_of_1000_with_one_bad_record_changes_nothing(
    central_dns: CentralDns, bad: dict[str, Any], field: str, words: str
) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    api.ok(api.change(zone["id"], [create("keep", "A", "203.0.113.3")]))
    before = api.records(zone["id"])
    served = _axfr(api, name)
    serial = zone_serial(api, zone["id"])
    history = len(api.history(zone["id"]))
    changes = [create(f"h{i}", "A", f"198.51.{100 + i // 250}.{i % 250 + 1}") for i in range(1000)]
    changes[731] = bad
    response = api.change(zone["id"], changes, comment="must not apply")
    problem = assert_problem(response, 422)
    assert [p["field"] for p in problem["problems"]] == [field], problem
    assert words in problem["detail"], problem
    assert api.records(zone["id"]) == before
    assert zone_serial(api, zone["id"]) == serial
    assert len(api.history(zone["id"])) == history
    assert _axfr(api, name) == served
    assert api.served(f"h0.{name}", "A") == set()


def zone_serial(api: CentralDns, zone_id: int) -> int:
    return int(api.ok(api.call("GET", f"/api/v1/dns/zones/{zone_id}"))["serial"])


def test_invalid_input_answers_422_naming_the_field(central_dns: CentralDns) -> None:
    api = central_dns
    zone = api.create_zone(api.new_zone_name())
    bad_name = api.change(zone["id"], [create("bad name", "A", "203.0.113.1")])
    assert_problem(bad_name, 422, "changes[0].record.name")
    bad_ttl = api.change(zone["id"], [create("ok", "A", "203.0.113.1", ttl=-5)])
    assert_problem(bad_ttl, 422, "changes[0].record.ttl")
    bad_zone = api.call(
        "POST", "/api/v1/dns/zones", {"server_id": api.server_id, "name": "-bad-.test."}
    )
    assert_problem(bad_zone, 422, "name")
    bad_record = api.call(
        "POST",
        "/api/v1/dns/zones",
        {
            "server_id": api.server_id,
            "name": api.new_zone_name(),
            "records": [{"name": "x", "type": "MX", "data": "mail"}],
        },
    )
    assert_problem(bad_record, 422, "records[0].data")


def test_search_ttl_by_pattern_and_repoint(central_dns: CentralDns) -> None:
    api = central_dns
    zones = [api.create_zone(api.new_zone_name()) for _ in range(2)]
    for zone in zones:
        changes = [
            create("web1", "A", "198.51.100.41"),
            create("web2", "A", "198.51.100.41"),
            create("db", "A", "198.51.100.42"),
        ]
        api.ok(api.change(zone["id"], changes))
    names = [z["name"] for z in zones]
    found = api.ok(api.call("GET", "/api/v1/dns/records?name=web*&type=A&data=198.51.100.41"))
    mine = [r for r in found["items"] if r["zone"] in names]
    assert len(mine) == 4 and all(r["name"].startswith("web") for r in mine)
    paged = api.ok(
        api.call("GET", "/api/v1/dns/records?name=web*&data=198.51.100.41&sort=-name&limit=1")
    )
    assert paged["total"] >= 4 and len(paged["items"]) == 1

    ttl = api.ok(
        api.call(
            "POST", "/api/v1/dns/records/ttl",
            {"pattern": f"web*.{names[0]}", "ttl": 120, "comment": "shorter"},
        )
    )  # fmt: skip
    assert ttl["changed"] == 2 and ttl["failed"] == []
    first = {r["name"]: r["ttl"] for r in api.records(zones[0]["id"]) if r["type"] == "A"}
    assert first[f"web1.{names[0]}"] == 120 and first[f"db.{names[0]}"] != 120
    answer = api.box.dns_query(f"web1.{names[0]}", "A")
    assert answer.answer[0].ttl == 120

    moved = api.ok(
        api.call(
            "POST", "/api/v1/dns/records/repoint",
            {"old": "198.51.100.41", "new": "198.51.100.51", "comment": "migration"},
        )
    )  # fmt: skip
    assert moved["changed"] >= 4
    for zone_name in names:
        assert api.served(f"web1.{zone_name}", "A") == {"198.51.100.51"}
        assert api.served(f"db.{zone_name}", "A") == {"198.51.100.42"}
    # (Zones the agent's own tests made on the shared appliance may hold the address too, and
    # be gone from the agent before a sync tells Central: those are listed as failed.)
    left = api.ok(api.call("GET", "/api/v1/dns/records?type=A&data=198.51.100.41&limit=1000"))
    assert [r for r in left["items"] if r["zone"] in names] == []
    assert {f["zone"] for f in moved["failed"]}.isdisjoint(names)
    assert api.history(zones[1]["id"])[0]["action"] == "repoint"


def test_import_serve_export_round_trip(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    text = (
        f"$ORIGIN {name}\n$TTL 300\n"
        f"@ IN SOA ns1 hostmaster 1 3600 900 1209600 300\n"
        "@ IN NS ns1\nns1 IN A 203.0.113.53\nwww 60 IN A 203.0.113.80\n"
        '@ IN TXT "imported" "two strings"\nmail IN MX 5 www\n'
    )
    body = {"server_id": api.server_id, "name": name, "text": text, "comment": "import"}
    zone = api.ok(api.call("POST", "/api/v1/dns/zones/import", body))
    assert api.served(f"www.{name}", "A") == {"203.0.113.80"}
    assert api.served(name, "TXT") == {'"imported" "two strings"'}
    exported = api.ok(api.call("GET", f"/api/v1/dns/zones/{zone['id']}/export"))["text"]
    zone_a = dns.zone.from_text(text, origin=name, relativize=False)
    zone_b = dns.zone.from_text(exported, origin=name, relativize=False)

    def sets(z: dns.zone.Zone) -> set[str]:
        return {
            f"{n} {rds.ttl} {rds.rdtype} {rd.to_text()}"
            for n, node in z.nodes.items()
            for rds in node.rdatasets
            if rds.rdtype != dns.rdatatype.SOA
            for rd in rds
        }

    assert sets(zone_a) == sets(zone_b)
    garbage = api.call(
        "POST", "/api/v1/dns/zones/import",
        {"server_id": api.server_id, "name": api.new_zone_name(), "text": "@ IN A not-an-ip\n"},
    )  # fmt: skip
    problem = assert_problem(garbage, 422, "line 1")
    assert [p["field"] for p in problem["problems"]] == ["line 1", "text"]


def test_an_external_nsupdate_appears_after_a_sync(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    api.ok(api.change(zone["id"], [create("keep", "A", "203.0.113.7")]))
    # nsupdate on the appliance itself, behind the agent's back.
    update = appliance_dns.update(api.box, name)
    update.add(f"outside.{name}", 300, "TXT", '"behind your back"')
    update.delete(f"keep.{name}", "A")
    assert appliance_dns.send(api.box, update) == 0
    synced = api.ok(api.call("POST", f"/api/v1/dns/servers/{api.server_id}/sync"))
    assert name in synced["changed"]
    stored = {(r["name"], r["type"], r["data"]) for r in api.records(zone["id"])}
    assert (f"outside.{name}", "TXT", '"behind your back"') in stored
    assert not any(r[0] == f"keep.{name}" for r in stored)
    entry = api.history(zone["id"])[0]
    assert entry["actor"] == "external" and entry["action"] == "external-change"
    assert entry["after"]["records"]["records"] == [f'outside.{name} 300 IN TXT "behind your back"']
    assert entry["before"]["records"]["records"] == [f"keep.{name} 3600 IN A 203.0.113.7"]
    again = api.ok(api.call("POST", f"/api/v1/dns/servers/{api.server_id}/sync"))
    assert name not in again["changed"]


def test_read_only_cannot_write(central_dns: CentralDns) -> None:
    api = central_dns
    zone = api.create_zone(api.new_zone_name())
    password = "read-only-password-long"
    user = api.call(
        "POST", "/api/v1/users",
        {"username": f"reader{zone['id']}", "role": "read-only", "password": password},
    )  # fmt: skip
    assert user.status_code == 201, user.text
    login = api.call(
        "POST", "/api/v1/auth/login", {"username": f"reader{zone['id']}", "password": password}
    )
    reader = login.json()["token"]
    assert api.call("GET", f"/api/v1/dns/zones/{zone['id']}", token=reader).status_code == 200
    writes = [
        ("POST", "/api/v1/dns/zones", {"server_id": api.server_id, "name": "ro.test."}),
        (
            "POST",
            f"/api/v1/dns/zones/{zone['id']}/changes",
            {"changes": [create("x", "A", "203.0.113.1")]},
        ),
        ("DELETE", f"/api/v1/dns/zones/{zone['id']}", None),
        ("POST", f"/api/v1/dns/servers/{api.server_id}/sync", None),
        ("POST", "/api/v1/dns/records/repoint", {"old": "203.0.113.1", "new": "203.0.113.2"}),
    ]
    for method, path, body in writes:
        assert api.call(method, path, body, token=reader).status_code == 403, path
    assert api.served(f"x.{zone['name']}", "A") == set()


def test_disable_enable_delete_and_an_agent_refusal(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name, records=[{"name": "www", "type": "A", "data": "203.0.113.44"}])
    assert api.served(f"www.{name}", "A") == {"203.0.113.44"}
    path = f"/api/v1/dns/zones/{zone['id']}"
    disabled = api.ok(api.call("POST", f"{path}/disable?comment=maintenance"))
    assert disabled["enabled"] is False
    assert api.served(f"www.{name}", "A") == set()
    assert api.history(zone["id"])[0]["comment"] == "maintenance"
    # The agent sets SOA fields on enabled zones only: its refusal changes nothing in Central.
    entries = len(api.history(zone["id"]))
    refused = api.call("PATCH", path, {"soa": {"refresh": 7200}, "comment": "refused"})
    assert_problem(refused, 409, "soa")
    assert api.ok(api.call("GET", path))["options"]["soa"]["refresh"] == 3600
    assert len(api.history(zone["id"])) == entries
    api.ok(api.call("POST", f"{path}/enable"))
    assert api.served(f"www.{name}", "A") == {"203.0.113.44"}
    patched = api.ok(api.call("PATCH", path, {"soa": {"refresh": 7200}, "comment": "slower"}))
    assert patched["options"]["soa"]["refresh"] == 7200
    assert api.box.dns_query(name, "SOA").answer[0][0].refresh == 7200
    assert api.call("DELETE", f"{path}?comment=gone").status_code == 204
    assert api.call("GET", path).status_code == 404
    assert api.served(f"www.{name}", "A") == set()


def test_a_ptr_in_a_managed_reverse_zone_is_stored_too(central_dns: CentralDns) -> None:
    api = central_dns
    # The agent's own tests may have made this reverse zone on the shared appliance already:
    # then a sync brings it into Central.
    api.ok(api.call("POST", f"/api/v1/dns/servers/{api.server_id}/sync"))
    path = "/api/v1/dns/zones?filter=name:113.0.203.in-addr.arpa."
    found = api.ok(api.call("GET", path))["items"]
    reverse = found[0] if found else api.create_zone("113.0.203.in-addr.arpa.")
    name = api.new_zone_name()
    zone = api.create_zone(name)
    change = create("host", "A", "203.0.113.61")
    change["ptr"] = True
    api.ok(api.change(zone["id"], [change], comment="with its PTR"))
    assert api.served("61.113.0.203.in-addr.arpa.", "PTR") == {f"host.{name}"}
    stored = {(r["name"], r["type"], r["data"]) for r in api.records(reverse["id"])}
    assert ("61.113.0.203.in-addr.arpa.", "PTR", f"host.{name}") in stored


def test_the_interval_sync_finds_an_external_change(sandbox: Sandbox) -> None:
    api = CentralDns(sandbox)
    name = api.new_zone_name()
    zone = api.create_zone(name)
    api.ok(api.call("PATCH", "/api/v1/settings", {"sync_interval_seconds": 10}))
    update = appliance_dns.update(sandbox, name)
    update.add(f"later.{name}", 300, "A", "203.0.113.99")
    assert appliance_dns.send(sandbox, update) == 0

    def external() -> dict[str, Any] | None:
        entries = [e for e in api.history(zone["id"]) if e["action"] == "external-change"]
        return entries[0] if entries else None

    entry = wait_for(external, timeout=40, interval=1, what="the interval sync")
    assert entry["actor"] == "external"
    assert entry["after"]["records"]["records"] == [f"later.{name} 300 IN A 203.0.113.99"]
    stored = {(r["name"], r["data"]) for r in api.records(zone["id"])}
    assert (f"later.{name}", "203.0.113.99") in stored


def _served_lines(api: CentralDns, zone: str) -> set[tuple[str, int, str, str]]:
    """The zone as named serves it (AXFR, absolute names), SOA apart."""
    transferred = appliance_dns.transfer(api.box, zone, relativize=False, timeout=10)
    return {
        (name.to_text().lower(), rds.ttl, dns.rdatatype.to_text(rds.rdtype), rd.to_text())
        for name, node in transferred.nodes.items()
        for rds in node.rdatasets
        if rds.rdtype != dns.rdatatype.SOA
        for rd in rds
    }


def _central_lines(api: CentralDns, zone_id: int) -> set[tuple[str, int, str, str]]:
    return {(r["name"], r["ttl"], r["type"], r["data"]) for r in api.records(zone_id)}


def test_centrals_view_equals_the_axfr_after_every_kind_of_change(
    central_dns: CentralDns,
) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    every = [create(owner, rtype, data) for owner, rtype, data, _query in EVERY_TYPE]
    steps = [
        every,
        # A record joining an RRset with another TTL sets the TTL of the whole RRset.
        [create("www", "A", "198.51.100.12", ttl=60)],
        [
            {
                "action": "update",
                "record": {"name": "mail", "type": "A", "data": "198.51.100.25"},
                "new": {"name": "mail", "type": "A", "ttl": 120, "data": "198.51.100.26"},
            },
            {"action": "delete", "record": {"name": "multi", "type": "TXT",
                                            "data": '"first string" "second string"'}},
        ],
    ]  # fmt: skip
    for changes in steps:
        api.ok(api.change(zone["id"], changes, comment="step"))
        assert _central_lines(api, zone["id"]) == _served_lines(api, name)
        stored = api.ok(api.call("GET", f"/api/v1/dns/zones/{zone['id']}"))
        assert stored["record_count"] == len(_served_lines(api, name))
        assert stored["serial"] == api.box.dns_query(name, "SOA").answer[0][0].serial
        # Nothing for a sync to find: Central stored exactly what named serves.
        synced = api.ok(api.call("POST", f"/api/v1/dns/servers/{api.server_id}/sync"))
        assert name not in synced["changed"]
    assert (f"www.{name}", 60, "A", "198.51.100.10") in _central_lines(api, zone["id"])


def test_a_deleted_zones_id_is_never_given_again(central_dns: CentralDns) -> None:
    """Delete the zone with the highest id and create another: it gets a new id, and each
    id's history is its own zone's alone (on PostgreSQL too: ``tests/central/test_ids.py``)."""
    api = central_dns
    first = api.create_zone(api.new_zone_name(), comment="the highest id")
    record = api.ok(api.change(first["id"], [create("www", "A", "198.51.100.90")], "one"))
    assert record["applied"] == 1
    gone = api.call("DELETE", f"/api/v1/dns/zones/{first['id']}?comment=gone")
    assert gone.status_code == 204, gone.text
    name = api.new_zone_name()
    again = api.create_zone(name, comment="made after the delete")
    assert again["id"] > first["id"], f"zone id {first['id']} was given again"
    assert [e["action"] for e in api.history(again["id"])] == ["create"]
    assert [e["action"] for e in api.history(first["id"])] == ["delete", "change", "create"]
    stale = {"changes": [create("www", "A", "198.51.100.91")], "comment": "old id"}
    old = api.call("POST", f"/api/v1/dns/zones/{first['id']}/changes", stale)
    assert old.status_code == 404, old.text
    assert api.served(f"www.{name}", "A") == set()
