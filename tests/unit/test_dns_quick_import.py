"""The quick reading of an imported zone file (``services.dns.quick_import``): what it accepts,
the thorough reading accepts with the same records, lines and texts; at any doubt it leaves the
file to the thorough reading (no daemon needed)."""

from __future__ import annotations

from pathlib import Path

import dns.name
import pytest

from services.common.dns.contract import Change
from services.common.dns.validate import RecordValidationError, plan_changes
from services.dns.quick_import import read_quick
from services.dns.zonefile import read_zone_file
from tests.bench.dns_scale import zone_file as bench_zone_file
from tests.central_dns.test_corpus import CORPUS

ORIGIN = dns.name.from_text("quick.test.")
ZONES = Path(__file__).resolve().parent.parent / "data" / "zones"

HEAD = "$ORIGIN quick.test.\n$TTL 300\n@ IN SOA ( ns1 hostmaster 1\n 7200 3600 1209600 300 )\n"
HEAD += "@ IN NS ns1\nns1 IN A 198.51.100.1\n"

#: Plain entries and others, mixed: directives, inherited owners, case, duplicates, RRset
#: TTLs, escapes, comments, quotes with a semicolon, SRV, a wildcard, glue below a delegation.
MIXED = (
    HEAD
    + "\n".join(
        [
            "Host1 3600 IN A 198.51.100.2",
            "host1 60 IN A 198.51.100.3 ; the RRset's TTL is the first one's",
            "host1 IN AAAA 2001:DB8:0:0::0:1",
            "host1 IN AAAA 2001:db8::1",
            '  120 IN TXT "inherited owner"',
            'txt IN TXT "v=spf1 mx -all" "two;strings"',
            'txt IN TXT "v=spf1 mx -all" "two;strings"',
            'txt IN TXT ( "in"\n  "parentheses" )',
            'esc IN TXT "a\\"b"',
            "mail IN MX 010 Host1",
            "mail IN MX 10 host1",
            "mail IN MX 20 @",
            "alias IN CNAME host1.quick.test.",
            "*.wild 30 IN A 198.51.100.4",
            "_sip._tcp IN SRV 0 5 5060 host1",
            "sub IN NS ns.sub",
            "ns.sub IN A 198.51.100.5",
            "ptr IN PTR host1",
            "$TTL 1h",
            "later IN A 198.51.100.6",
            "$ORIGIN deeper.quick.test.",
            "x IN A 198.51.100.7",
            "$GENERATE 1-3 gen$ A 198.51.100.$",
            'spf IN SPF "v=spf1 -all"',
            'utf8 IN TXT "caf\u00e9"',  # not ASCII: read (and written) by dnspython
        ]
    )
    + "\n"
)


def _thorough(text: str) -> list[tuple[int, str, str, int, str]]:
    """The records the import's thorough reading and plan accept, with their lines."""
    read = read_zone_file(ORIGIN, text)
    assert read.problems == []
    plan_changes(
        ORIGIN, [], [Change(action="create", record=r) for r in read.records], 300,
        prefix="records", record_field="", parsed=read.parsed,
    )  # fmt: skip
    return [
        (line, r.name, r.type, r.ttl or 0, r.data)
        for line, r in zip(read.lines, read.records, strict=True)
    ]


def _quick(text: str, origin: dns.name.Name = ORIGIN) -> list[tuple[int, str, str, int, str]]:
    quick = read_quick(origin, text)
    assert quick is not None
    return [(line, *record) for line, record in zip(quick.lines, quick.records, strict=True)]


def test_mixed_file_gives_the_records_of_the_thorough_reading() -> None:
    assert _quick(MIXED) == _thorough(MIXED)
    quick = read_quick(ORIGIN, MIXED)
    assert quick is not None
    assert quick.nameservers == ["ns1.quick.test."]
    assert quick.soa.serial == 1 and quick.soa_ttl == 300
    assert "host1.quick.test. 3600 IN A 198.51.100.3" in quick.text.splitlines()


def test_the_benchmark_zone_is_read_the_quick_way_alike() -> None:
    origin = dns.name.from_text("bench.test.")
    text = bench_zone_file("bench.test.", 2_000)
    read = read_zone_file(origin, text)
    assert read.problems == []
    expected = [
        (line, r.name, r.type, r.ttl, r.data)
        for line, r in zip(read.lines, read.records, strict=True)
    ]
    assert _quick(text, origin) == expected


@pytest.mark.parametrize(("path", "zone"), CORPUS)
def test_corpus_files_read_alike_or_left_to_the_thorough_reading(path: str, zone: str) -> None:
    origin = dns.name.from_text(zone)
    text = (ZONES / path).read_text()
    quick = read_quick(origin, text)
    if quick is None:
        return  # a doubt (a DS, a DNAME, ...): the thorough reading decides, as before
    read = read_zone_file(origin, text)
    assert read.problems == []
    assert [(r.name, r.type, r.ttl, r.data) for r in read.records] == quick.records
    assert read.lines == quick.lines


@pytest.mark.parametrize(
    "extra",
    [
        "out.example.invalid. IN A 198.51.100.9",  # outside the zone
        "host1 IN A 198.51.100.300",  # not an address
        "host1 IN A 198.51.100.01",
        'cname IN CNAME host1\ncname IN TXT "beside"',  # a CNAME beside other data
        "cname IN CNAME host1\ncname IN CNAME ns1",  # two CNAMEs
        "@ IN CNAME host1",  # at the apex
        'sub IN NS ns.sub\nwww.sub IN TXT "below a delegation"',
        'sub IN NS ns.sub\nsub IN TXT "at a delegation"',
        "ds IN DS 1 13 2 " + "ab" * 32,  # a DS without NS
        "big 2147483648 IN A 198.51.100.9",  # TTL over 2^31 - 1
        "$INCLUDE /etc/passwd",
        "bad IN FOOBAR x",
        'unclosed IN TXT "x',
    ],
)
def test_every_doubt_is_left_to_the_thorough_reading(extra: str) -> None:
    assert read_quick(ORIGIN, HEAD + extra + "\n") is None


def test_no_apex_ns_and_no_soa_are_left_to_the_thorough_reading() -> None:
    assert read_quick(ORIGIN, HEAD.replace("@ IN NS ns1\n", "")) is None
    assert read_quick(ORIGIN, "$ORIGIN quick.test.\n@ 300 IN NS ns1\n") is None


def test_what_the_quick_reading_leaves_out_the_thorough_one_refuses() -> None:
    for extra in ('cname IN CNAME host1\ncname IN TXT "beside"', "@ IN CNAME host1"):
        text = HEAD + extra + "\n"
        read = read_zone_file(ORIGIN, text)
        with pytest.raises(RecordValidationError):
            plan_changes(
                ORIGIN, [], [Change(action="create", record=r) for r in read.records], 300,
                prefix="records", record_field="", parsed=read.parsed,
            )  # fmt: skip
