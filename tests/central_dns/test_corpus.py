"""Zone files from other DNS projects' test suites (``tests/data/zones``, sources in its README)
imported through Central: previewed, served by named exactly as the file says (AXFR, both
parsed by dnspython, the SOA serial aside), exported exactly, and a copy with one bad entry
refused at that entry's line with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dns.name
import dns.query
import dns.rdatatype
import dns.zone
import pytest

from tests.central_dns.conftest import CentralDns
from tests.harness import appliance_dns
from tests.harness.problems import assert_problem

pytestmark = pytest.mark.sandbox

ZONES = Path(__file__).resolve().parent.parent / "data" / "zones"
HEX64 = "0123456789abcdef" * 4

#: (file, zone name) of every zone that imports as it is.
CORPUS = [
    ("knot/records.zone", "records."),
    ("knot/test.zone", "test."),
    ("knot/example.com.zone", "example.com."),
    ("nsd/bug086_chars.zone", "spf-test.nl."),
    ("nsd/rr-test.nsap.int.zone", "3.3.1.e.1.0.0.0.0.0.0.0.0.0.a.5.0.0.0.8.5.0.0.0.7.4.nsap.int."),
    ("nsd/wcard_add_rr.zone", "example.nl."),
    ("powerdns/dnssec-parent.com", "dnssec-parent.com."),
    ("powerdns/cdnskey-cds-test.com", "cdnskey-cds-test.com."),
    ("powerdns/wtest.com", "wtest.com."),
    ("powerdns/2.0.192.in-addr.arpa", "2.0.192.in-addr.arpa."),
    ("powerdns/zonemd1.zone", "example."),
]

#: A bad entry added at the end of a copy (absolute names: whatever the file's last $ORIGIN),
#: and words of the reason it is refused with.
BAD = [
    ("burrow-bad.{zone} 300 IN A 198.51.100.300", "IPv4"),
    ("burrow-bad.{zone} 300 IN DS 1 13 2 " + HEX64, "no NS records"),
    ("burrow-bad.{zone} 2147483648 IN A 198.51.100.1", "2147483647"),
    ("burrow-bad.example.invalid. 300 IN A 198.51.100.1", "outside the zone"),
    ("burrow-bad.{zone} 300 IN RRSIG A 13 2 300 20300101000000 20200101000000 1 {zone} AAAA",
     "signs"),
    ("$INCLUDE /etc/passwd", "$INCLUDE"),
    ("burrow-bad.{zone} 300 IN FOOBAR x", "not a record type"),
    ("burrow-bad.{zone} 300 IN CNAME x.{zone}\nburrow-bad.{zone} 300 IN TXT y", "CNAME"),
    ("burrow-bad.{zone} 300 IN NSEC3PARAM 1 0 0 -", "dnssec-policy"),
    ("burrow-bad.{zone} 300 IN TYPE65534 \\# 1 00", "65534"),
    ("burrow-bad.{zone} 300 IN SSHFP 1 2 abcd", "length"),
]  # fmt: skip


def _records(zone: dns.zone.Zone) -> set[tuple[dns.name.Name, int, int, Any]]:
    """Every record of ``zone`` as (owner, TTL, type, rdata), the SOA's serial set to 0."""
    out = set()
    for name, node in zone.nodes.items():
        for rdataset in node.rdatasets:
            for rdata in rdataset:
                if rdataset.rdtype == dns.rdatatype.SOA:
                    rdata = rdata.replace(serial=0)
                out.add((name, rdataset.ttl, int(rdataset.rdtype), rdata))
    return out


def _parsed(text: str, zone: str) -> set[tuple[dns.name.Name, int, int, Any]]:
    return _records(dns.zone.from_text(text, origin=zone, relativize=False))


def _served(api: CentralDns, zone: str) -> set[tuple[dns.name.Name, int, int, Any]]:
    return _records(appliance_dns.transfer(api.box, zone, relativize=False))


def _drop(api: CentralDns, zone: str) -> None:
    found = api.ok(api.call("GET", f"/api/v1/dns/zones?filter=name:{zone}"))
    for item in found["items"]:
        api.ok(api.call("DELETE", f"/api/v1/dns/zones/{item['id']}"))


def _with_bad_entry(text: str, index: int, zone: str) -> tuple[str, int, str]:
    """``text`` with the ``index``th bad entry added at its end: the text, the entry's line,
    the words of its reason."""
    entry, words = BAD[index % len(BAD)]
    body = text if text.endswith("\n") else text + "\n"
    line = body.count("\n") + 1
    return body + entry.format(zone=zone) + "\n", line, words


@pytest.mark.parametrize(("path", "zone"), CORPUS, ids=[p for p, _ in CORPUS])
def test_a_zone_of_another_project_imports_and_stays_exact(
    central_dns: CentralDns, path: str, zone: str
) -> None:
    api = central_dns
    text = (ZONES / path).read_text()
    source = _parsed(text, zone)
    _drop(api, zone)
    body = {"server_id": api.server_id, "name": zone, "text": text, "comment": f"corpus {path}"}

    # A bad copy is refused whole, at the bad entry's line, and nothing is made.
    bad_text, line, words = _with_bad_entry(text, CORPUS.index((path, zone)), zone)
    problem = assert_problem(
        api.call("POST", "/api/v1/dns/zones/import", {**body, "text": bad_text}), 422
    )
    assert [p.get("line") for p in problem["problems"]] == [line], problem
    assert words in problem["problems"][0]["message"], problem
    assert problem["problems"][0]["field"] == f"line {line}"
    assert api.ok(api.call("GET", f"/api/v1/dns/zones?filter=name:{zone}"))["total"] == 0

    preview = api.ok(api.call("POST", "/api/v1/dns/zones/import/preview", body))
    assert preview["importable"] is True and preview["refused"] == [], preview["refused"]
    assert len(preview["records"]) == len(source) - 1  # the SOA apart

    imported = api.ok(api.call("POST", "/api/v1/dns/zones/import", body))
    assert imported["left_out"] == []
    try:
        assert _served(api, zone) == source
        assert imported["record_count"] == len(source) - 1
        exported = api.ok(api.call("GET", f"/api/v1/dns/zones/{imported['id']}/export"))
        assert _parsed(exported["text"], zone) == source
        latest = api.history(imported["id"])[0]
        assert (
            latest["action"] == "import" and latest["after"]["records"]["count"] == len(source) - 1
        )
    finally:
        _drop(api, zone)


def test_out_of_zone_data_of_a_real_zone_is_never_dropped_silently(
    central_dns: CentralDns,
) -> None:
    api = central_dns
    zone = "nztest.com."
    text = (ZONES / "powerdns/nztest.com").read_text()
    _drop(api, zone)
    body = {"server_id": api.server_id, "name": zone, "text": text}
    problem = assert_problem(api.call("POST", "/api/v1/dns/zones/import", body), 422)
    outside = [(p["line"], p["name"]) for p in problem["problems"]]
    assert outside == [(15, "testnonzone.com."), (16, "NZTEST.COM.NET.")], problem
    assert all("outside the zone" in p["message"] for p in problem["problems"])

    preview = api.ok(api.call("POST", "/api/v1/dns/zones/import/preview", body))
    assert [r["line"] for r in preview["refused"]] == [15, 16]
    assert preview["importable"] is False and preview["importable_leaving_out"] is True

    imported = api.ok(
        api.call("POST", "/api/v1/dns/zones/import", {**body, "leave_out_refused": True})
    )
    try:
        assert [r["line"] for r in imported["left_out"]] == [15, 16]
        history = api.history(imported["id"])[0]
        assert [r["line"] for r in history["after"]["left_out"]] == [15, 16]
        served = _served(api, zone)
        source = _parsed(text, zone)  # dnspython too leaves the outside records out
        assert served == source
    finally:
        _drop(api, zone)
