"""The record-data defects of issue 15 through Central's API, checked with dig: every answer
a 422 naming the record where named would refuse or ignore the data, nothing stored or put in
the history then, and exact data where it is taken."""

from __future__ import annotations

import subprocess

import pytest

from tests.central_dns.conftest import CentralDns, create
from tests.harness.problems import assert_problem

pytestmark = pytest.mark.sandbox

HEX64 = "0123456789abcdef" * 4


def _dig(api: CentralDns, name: str, rtype: str) -> list[str]:
    out = subprocess.run(
        ["dig", "+short", "+tcp", "+time=3", "+tries=2", f"@{api.box.address}", name, rtype],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout  # fmt: skip
    return [line for line in out.splitlines() if line]


def _unchanged(api: CentralDns, zone_id: int, before: tuple[object, int]) -> None:
    records, history = before
    assert api.records(zone_id) == records
    assert len(api.history(zone_id)) == history


def _state(api: CentralDns, zone_id: int) -> tuple[object, int]:
    return api.records(zone_id), len(api.history(zone_id))


def test_an_unquoted_txt_with_spaces_is_one_string(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    changes = [create("@", "TXT", "v=spf1 mx -all"), create("_spf", "TXT", "v=spf1 -all")]
    api.ok(api.change(zone["id"], changes))
    assert _dig(api, name, "TXT") == ['"v=spf1 mx -all"']
    assert _dig(api, f"_spf.{name}", "TXT") == ['"v=spf1 -all"']
    stored = {(r["name"], r["data"]) for r in api.records(zone["id"]) if r["type"] == "TXT"}
    assert stored == {(name, '"v=spf1 mx -all"'), (f"_spf.{name}", '"v=spf1 -all"')}
    exported = api.ok(api.call("GET", f"/api/v1/dns/zones/{zone['id']}/export"))["text"]
    assert f'{name} 3600 IN TXT "v=spf1 mx -all"' in exported


def test_underscores_and_more_types_are_taken(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    changes = [
        create("gc._msdcs", "A", "198.51.100.60"),
        create("_ldap._tcp.gc._msdcs", "SRV", "0 100 3268 dc1"),
        create("dc1", "A", "198.51.100.61"),
        create("h", "HINFO", '"PC" "Linux"'),
        create("_svc", "SVCB", "1 svc.example.net. alpn=h2"),
        create("loc", "LOC", "52 22 23 N 4 53 32 E -2m"),
        create("rp", "RP", f"admin.{name} ."),
        create("x", "TYPE65280", r"\# 2 abcd"),
    ]
    api.ok(api.change(zone["id"], changes, comment="more types"))
    assert _dig(api, f"gc._msdcs.{name}", "A") == ["198.51.100.60"]
    assert _dig(api, f"h.{name}", "HINFO") == ['"PC" "Linux"']
    assert _dig(api, f"x.{name}", "TYPE65280") == [r"\# 2 ABCD"]
    stored = {(r["name"], r["type"]) for r in api.records(zone["id"])}
    assert {
        (f"gc._msdcs.{name}", "A"),
        (f"x.{name}", "TYPE65280"),
        (f"loc.{name}", "LOC"),
    } <= stored


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ([create("child", "DS", f"12345 13 2 {HEX64}")], "changes[0].record", "no NS records"),
        ([create("big", "A", "198.51.100.1", ttl=2**31)], "changes[0].record.ttl", "less than"),
        ([create("sub", "NS", "ns.example.net."), create("a.sub", "MX", "1 x.example.net.")],
         "changes[1].record", "below the delegation"),
        ([create("c", "CNAME", "www"), create("c", "A", "198.51.100.2")], "changes[0].record",
         "CNAME"),
        ([create("@", "MX", "10 nomail")], "changes[0].record.data", "has no address"),
    ],
)  # fmt: skip
def test_data_named_would_refuse_or_ignore_is_422_and_not_stored(
    central_dns: CentralDns, changes: list[dict[str, object]], field: str, words: str
) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    before = _state(api, zone["id"])
    problem = assert_problem(api.change(zone["id"], changes), 422, field)
    assert words in " ".join(p["message"] for p in problem["problems"]), problem
    _unchanged(api, zone["id"], before)
    for change in changes:
        record = change["record"]
        assert isinstance(record, dict)
        owner = name if record["name"] == "@" else f"{record['name']}.{name}"
        assert _dig(api, owner, str(record["type"])) == []


def test_a_ds_beside_its_ns_is_served(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    changes = [create("child", "NS", "ns.example.net."), create("child", "DS", f"1 13 2 {HEX64}")]
    api.ok(api.change(zone["id"], changes))
    # A DS is answered by the parent (this zone) even below the cut.
    served = _dig(api, f"child.{name}", "DS")
    assert [line.replace(" ", "") for line in served] == [f"1132{HEX64.upper()}"]


def _import(api: CentralDns, name: str, text: str, **extra: object) -> object:
    body = {"server_id": api.server_id, "name": name, "text": text, **extra}
    return api.call("POST", "/api/v1/dns/zones/import", body)


def test_soa_timers_of_0_are_valid(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    soa = {"refresh": 0, "retry": 0, "expire": 0, "minimum": 0}
    zone = api.create_zone(name, soa=soa)
    assert zone["options"]["soa"]["refresh"] == 0
    assert _dig(api, name, "SOA")[0].split()[3:] == ["0", "0", "0", "0"]
    other = api.new_zone_name()
    text = f"{other} 300 IN SOA ns1.{other} hm.{other} 7 0 0 0 0\n{other} 300 IN NS ns1.{other}\n"
    text += f"ns1.{other} 300 IN A 198.51.100.53\n"
    response = _import(api, other, text)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    assert _dig(api, other, "SOA")[0].split()[2:] == ["7", "0", "0", "0", "0"]


@pytest.mark.parametrize(
    ("extra", "line", "words"),
    [
        ("big 2147483648 IN A 198.51.100.9\n", 4, "2147483647"),
        ("outside.example. 300 IN A 198.51.100.9\n", 4, "outside the zone"),
        ("child 300 IN DS 1 13 2 " + HEX64 + "\n", 4, "no NS records"),
    ],
)
def test_a_bad_import_is_422_at_its_line_never_201(
    central_dns: CentralDns, extra: str, line: int, words: str
) -> None:
    api = central_dns
    name = api.new_zone_name()
    text = f"$ORIGIN {name}\n@ 300 IN SOA ns1 hm 1 3600 900 1209600 300\n@ 300 IN NS ns.example.\n"
    problem = assert_problem(_import(api, name, text + extra), 422, f"line {line}")
    assert [p["line"] for p in problem["problems"]] == [line], problem
    assert words in problem["problems"][0]["message"], problem
    listed = api.ok(api.call("GET", f"/api/v1/dns/zones?filter=name:{name}"))
    assert listed["total"] == 0


def test_strict_host_names_are_a_zone_option(central_dns: CentralDns) -> None:
    api = central_dns
    name = api.new_zone_name()
    zone = api.create_zone(name)
    assert zone["options"]["strict_hostnames"] is False
    api.ok(api.change(zone["id"], [create("gc._msdcs", "A", "198.51.100.70")]))
    assert _dig(api, f"gc._msdcs.{name}", "A") == ["198.51.100.70"]
    path = f"/api/v1/dns/zones/{zone['id']}"
    patched = api.ok(api.call("PATCH", path, {"strict_hostnames": True, "comment": "strict"}))
    assert patched["options"]["strict_hostnames"] is True
    before = _state(api, zone["id"])
    refused = api.change(zone["id"], [create("dc_1", "A", "198.51.100.71")])
    problem = assert_problem(refused, 422, "changes[0].record.name")
    assert "host name" in problem["detail"]
    _unchanged(api, zone["id"], before)
    assert _dig(api, f"dc_1.{name}", "A") == []
