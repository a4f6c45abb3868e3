"""Records through the dns-agent are served by the real named exactly as given."""

from __future__ import annotations

import dns.name
import dns.rcode
import pytest

from services.sandbox.sandbox import Sandbox
from tests.dns.conftest import Agent, answer_set, create, query, rdata, record_set
from tests.harness.problems import assert_problem

pytestmark = pytest.mark.sandbox

HEX64 = "0123456789abcdef" * 4
LONG_TEXT = "burrow-" * 100  # 700 characters: three strings on the wire

#: (owner, type, data, name to query) for every managed record type.
EVERY_TYPE = [
    ("www", "A", "198.51.100.10", "www"),
    ("www", "AAAA", "2001:db8::10", "www"),
    ("alias", "CNAME", "www", "alias"),
    ("@", "MX", "10 mail", "@"),
    ("mail", "A", "198.51.100.25", "mail"),
    ("@", "NS", "ns2.example.net.", "@"),
    ("host", "PTR", "target.example.net.", "host"),
    ("_sip._tcp", "SRV", "10 60 5060 www", "_sip._tcp"),
    ("multi", "TXT", '"first string" "second string"', "multi"),
    ("long", "TXT", f'"{LONG_TEXT}"', "long"),
    ("@", "CAA", '0 issue "ca.example.net"', "@"),
    ("_443._tcp.www", "TLSA", f"3 1 1 {HEX64}", "_443._tcp.www"),
    ("www", "SSHFP", f"4 2 {HEX64}", "www"),
    ("naptr", "NAPTR", '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.net!" .', "naptr"),
    ("sub", "NS", "ns1.example.net.", None),
    ("sub", "DS", f"12345 13 2 {HEX64}", "sub"),
    ("moved", "DNAME", "example.net.", "moved"),
    ("*.wild", "A", "198.51.100.11", "anything.wild"),
]


def _fqdn(name: str, zone: str) -> str:
    return dns.name.from_text(name, origin=dns.name.from_text(zone)).to_text()


def test_every_record_type_is_served_exactly(agent: Agent, shared_sandbox: Sandbox) -> None:
    zone = "types.test."
    agent.create_zone(zone)
    before = {(r["name"], r["type"], r["data"]) for r in agent.records(zone)["records"]}
    changes = [create(owner, rtype, data, ttl=600) for owner, rtype, data, _ in EVERY_TYPE]
    result = agent.ok(agent.change(zone, changes))
    assert result["applied"] == len(EVERY_TYPE)

    for owner, rtype, _data, ask in EVERY_TYPE:
        if ask is None:
            continue
        expected = {rdata(t, d, zone) for o, t, d, _ in EVERY_TYPE if (o, t) == (owner, rtype)}
        served = answer_set(shared_sandbox, _fqdn(ask, zone), rtype)
        if (owner, rtype) == ("@", "NS"):  # the zone's own name server is there too
            assert expected < served, served
        else:
            assert served == expected, (owner, rtype, served)
    long = answer_set(shared_sandbox, _fqdn("long", zone), "TXT").pop()
    assert b"".join(long.strings).decode() == LONG_TEXT  # type: ignore[attr-defined]

    # The AXFR the agent reads back equals what was applied (and what the zone had).
    content = agent.records(zone)
    applied = record_set([c["record"] for c in changes], zone)
    have = record_set(content["records"], zone)
    base = {r for r in have if (r[0], r[2], r[3].to_text()) in _keys(before, zone)}
    assert have - base == applied
    assert content["serial"] == result["serial"]


def _keys(items: set[tuple[str, str, str]], zone: str) -> set[tuple[str, str, str]]:
    return {(n.lower(), t, rdata(t, d, zone).to_text()) for n, t, d in items}


def test_update_delete_and_ttl(agent: Agent, shared_sandbox: Sandbox) -> None:
    zone = "change.test."
    agent.create_zone(zone)
    serials = [agent.records(zone)["serial"]]
    serials.append(
        agent.ok(agent.change(zone, [create("h", "A", "198.51.100.40", ttl=300)]))["serial"]
    )
    old = {"name": "h", "type": "A", "data": "198.51.100.40"}
    new = {"name": "h", "type": "A", "data": "198.51.100.41", "ttl": 120}
    change = {"action": "update", "record": old, "new": new}
    serials.append(agent.ok(agent.change(zone, [change]))["serial"])
    response = query(shared_sandbox, f"h.{zone}", "A")
    assert [rr.to_text() for rr in response.answer[0]] == ["198.51.100.41"]
    assert response.answer[0].ttl == 120
    serials.append(agent.ok(agent.change(zone, [{"action": "delete", "record": new}]))["serial"])
    assert query(shared_sandbox, f"h.{zone}", "A").rcode() == dns.rcode.NXDOMAIN
    # The serial moves on with every change, once per change set.
    assert serials == [serials[0] + n for n in range(4)], serials
    assert answer_set(shared_sandbox, zone, "SOA").pop().serial == serials[-1]  # type: ignore[attr-defined]


def test_bulk_of_1000_with_one_bad_record_changes_nothing(
    agent: Agent, shared_sandbox: Sandbox
) -> None:
    zone = "bulk.test."
    agent.create_zone(zone)
    serial = agent.records(zone)["serial"]
    changes = [create(f"h{i}", "A", f"198.51.{100 + i // 250}.{i % 250 + 1}") for i in range(1000)]
    changes[500] = create("h500", "A", "198.51.100.300")
    response = agent.change(zone, changes)
    problem = assert_problem(response, 422)
    assert [p["field"] for p in problem["problems"]] == ["changes[500].record.data"]
    assert query(shared_sandbox, f"h1.{zone}", "A").rcode() == dns.rcode.NXDOMAIN
    assert agent.records(zone)["serial"] == serial

    # The same bulk without the bad record is applied whole.
    changes[500] = create("h500", "A", "198.51.100.251")
    assert agent.ok(agent.change(zone, changes))["serial"] == serial + 1
    names = {r["name"] for r in agent.records(zone)["records"] if r["type"] == "A"}
    assert {f"h{i}.{zone}" for i in range(1000)} <= names


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (create("www", "A", "not-an-address"), "changes[0].record.data", "not valid A"),
        (create("www", "CNAME", "elsewhere"), "changes[0].record", "CNAME"),
        (create("x.other.example.", "A", "198.51.100.9"), "changes[0].record.name", "outside"),
        (create("www", "A", "198.51.100.10"), "changes[0].record", "already exists"),
        (create("nons", "DS", f"1 13 2 {HEX64}"), "changes[0].record", "no NS records"),
        (create("a..b", "TXT", "x"), "changes[0].record.name", "empty label"),
        (create("www", "A", "198.51.100.9", ttl=2**31), "changes[0].record.ttl", "less than"),
        (create("sig", "RRSIG", "A 13 2 300 x x 1 x. AA=="), "changes[0].record.type", "signs"),
        (create("t", "TLSA", "3 1 1 abcd"), "changes[0].record.data", "length"),
        (create("@", "SOA", "a b 1 2 3 4 5"), "changes[0].record.type", "SOA"),
        (create("www", "A", "198.51.100.9", ttl=-1), "changes[0].record.ttl", "greater"),
        ({"action": "delete", "record": {"name": "nope", "type": "A", "data": "198.51.100.1"}},
         "changes[0].record", "no such record"),
        (create("ptr-me", "TXT", "x", ptr=True), "changes[0].ptr", "PTR"),
    ],
)  # fmt: skip
def test_invalid_input_is_422_and_named_serves_the_old_data(
    agent: Agent, shared_sandbox: Sandbox, change: dict[str, object], field: str, words: str
) -> None:
    zone = "invalid.test."
    if not any(z["name"] == zone for z in agent.ok(agent.get("/zones"))):
        agent.create_zone(zone)
        agent.ok(agent.change(zone, [create("www", "A", "198.51.100.10")]))
    serial = agent.records(zone)["serial"]
    response = agent.change(zone, [change])
    problem = assert_problem(response, 422)
    assert problem["problems"][0]["field"] == field
    assert words in problem["problems"][0]["message"]
    assert answer_set(shared_sandbox, f"www.{zone}", "A") == {rdata("A", "198.51.100.10", zone)}
    assert agent.records(zone)["serial"] == serial


def test_ptr_in_a_managed_reverse_zone(agent: Agent, shared_sandbox: Sandbox) -> None:
    agent.create_zone("fwd.test.")
    # The shared appliance may already serve this reverse zone (Central's DNS tests make it).
    gone = agent.http.delete("/zones/113.0.203.in-addr.arpa.")
    assert gone.status_code in (204, 404), gone.text
    agent.create_zone("113.0.203.in-addr.arpa.")
    agent.ok(agent.change("fwd.test.", [create("printer", "A", "203.0.113.77", ptr=True)]))
    served = answer_set(shared_sandbox, "77.113.0.203.in-addr.arpa.", "PTR")
    assert {rd.to_text() for rd in served} == {"printer.fwd.test."}
    old = {"name": "printer", "type": "A", "data": "203.0.113.77"}
    new = {"name": "printer", "type": "A", "data": "203.0.113.78"}
    agent.ok(agent.change("fwd.test.", [{"action": "update", "record": old, "new": new,
                                         "ptr": True}]))  # fmt: skip
    assert not answer_set(shared_sandbox, "77.113.0.203.in-addr.arpa.", "PTR")
    assert answer_set(shared_sandbox, "78.113.0.203.in-addr.arpa.", "PTR")
    # No managed reverse zone for the address: refused whole, the A record is not made either.
    response = agent.change("fwd.test.", [create("far", "A", "198.51.100.99", ptr=True)])
    assert_problem(response, 422, "changes[0].ptr")
    assert query(shared_sandbox, "far.fwd.test.", "A").rcode() == dns.rcode.NXDOMAIN
