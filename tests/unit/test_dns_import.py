"""Reading an imported zone file entry by entry with line numbers, explaining named's refusals
record by record, and the fault points' guard (no daemon needed)."""

from __future__ import annotations

import os
from pathlib import Path

import dns.name
import dns.rcode
import pytest

from services.common.dns.contract import Change, RecordData
from services.common.dns.validate import RecordValidationError, plan_changes
from services.common.errors import DaemonError
from services.common.faults import FaultPoints, fault_file
from services.common.paths import StateRoot
from services.dns import refusal, zonefile
from services.dns.zonefile import entries, read_zone_file
from tests.dns.test_import_lines import EXPECTED, ZONE_FILE

ORIGIN = dns.name.from_text("many.test.")


def test_entries_keep_the_line_they_start_on() -> None:
    text = 'a A 1.2.3.4\n\n; comment\n@ SOA ( ns h\n 1 2 3 4 5 ) ; end\nb TXT "x;(y"\n'
    assert list(entries(text)) == [
        (1, "a A 1.2.3.4"),
        (4, "@ SOA ( ns h\n 1 2 3 4 5 ) ; end"),
        (6, 'b TXT "x;(y"'),
    ]


def test_every_syntax_problem_is_found_with_its_line() -> None:
    zone_file = read_zone_file(ORIGIN, ZONE_FILE)
    assert zone_file.soa is not None and zone_file.soa.serial == 2024010101
    syntax = [p.line for p in zone_file.problems]
    # The rest (a host name, a CNAME beside other data) are the plan's to find.
    assert syntax == [line for line, _ in EXPECTED if line not in (16, 17)]
    assert all(p.field == f"line {p.line}" for p in zone_file.problems)
    good = dict(zip(zone_file.lines, zone_file.records, strict=True))
    assert good[21] == RecordData(name="good.many.test.", type="A", ttl=300,
                                  data="198.51.100.12")  # fmt: skip


def test_directives_ttls_and_duplicates_are_read_as_bind_reads_them() -> None:
    text = (
        "$ORIGIN many.test.\n@ 600 IN SOA ns1 h 1 2 3 4 5\n@ NS ns1\n$ORIGIN sub.many.test.\n"
        "www A 198.51.100.1\n 120 A 198.51.100.2\nwww A 198.51.100.1\n"
        "$GENERATE 1-2 h$ A 198.51.100.$\n"
    )
    zone_file = read_zone_file(ORIGIN, text)
    assert zone_file.problems == []
    assert zone_file.soa_ttl == 600
    found = [
        (line, r.name, r.ttl, r.data)
        for line, r in zip(zone_file.lines, zone_file.records, strict=True)
    ]
    assert found == [
        (3, "many.test.", 600, "ns1.many.test."),
        (5, "www.sub.many.test.", 600, "198.51.100.1"),
        (6, "www.sub.many.test.", 600, "198.51.100.2"),  # the RRset keeps its first TTL
        (8, "h1.sub.many.test.", 120, "198.51.100.1"),
        (8, "h2.sub.many.test.", 120, "198.51.100.2"),
    ]


def test_a_missing_soa_or_ns_is_named_on_the_text() -> None:
    assert [p.field for p in read_zone_file(ORIGIN, "www 300 A 198.51.100.1\n").problems] == [
        "text"
    ]
    no_ns = read_zone_file(ORIGIN, "@ 300 SOA ns1 h 1 2 3 4 5\n")
    assert [(p.field, p.type) for p in no_ns.problems] == [("text", "NS")]


def _plan(*records: tuple[str, str, str]) -> object:
    changes = [
        Change(action="create", record=RecordData(name=n, type=t, data=d)) for n, t, d in records
    ]
    return plan_changes(ORIGIN, [], changes, 300)


UPDATE_LOG = [
    "06-Dec-2026 07:13:02.034 update: info: client @0x1 127.0.0.1#3/key burrow-tsig: updating "
    "zone 'many.test/IN': adding an RR at 'many.test' MX 10 mail.many.test.",
    "06-Dec-2026 07:13:02.034 update: error: client @0x1 127.0.0.1#3/key burrow-tsig: updating "
    "zone 'many.test/IN': many.test/MX 'mail.many.test' has no address records (A or AAAA)",
]


def test_a_refused_update_names_the_record_of_the_change() -> None:
    plan = _plan(("@", "NS", "ns1.example."), ("x", "TXT", '"x"'), ("@", "MX", "10 mail"))
    error = refusal.update_refused(ORIGIN, dns.rcode.REFUSED, UPDATE_LOG, plan)  # type: ignore[arg-type]
    assert isinstance(error, RecordValidationError) and error.status == 422
    assert [(p.field, p.extra) for p in error.problems] == [
        ("changes[2].record.data", {"name": "many.test.", "type": "MX"})
    ]
    assert "mail server mail.many.test. is in this zone" in error.problems[0].message


def test_a_name_server_sanity_refusal_names_the_apex_ns() -> None:
    plan = _plan(("@", "NS", "ns1.example."), ("@", "NS", "ns2"))
    log = [UPDATE_LOG[0].replace("adding an RR", "update rejected: post update name server "
                                 "sanity check failed")]  # fmt: skip
    error = refusal.update_refused(ORIGIN, dns.rcode.REFUSED, log, plan)  # type: ignore[arg-type]
    assert [p.field for p in error.problems] == ["changes[1].record.data"]
    # Without any log line, the plan's records still tell.
    error = refusal.update_refused(ORIGIN, dns.rcode.REFUSED, [], plan)  # type: ignore[arg-type]
    assert [p.field for p in error.problems] == ["changes[1].record.data"]


def test_a_failure_of_named_itself_is_502_in_words() -> None:
    plan = _plan(("x", "TXT", '"x"'))
    error = refusal.update_refused(ORIGIN, dns.rcode.SERVFAIL, [], plan)  # type: ignore[arg-type]
    assert isinstance(error, DaemonError) and "journal" in error.message
    denied = ["update-security: error: client @0x1 127.0.0.1#3: update 'many.test/IN' denied"]
    error = refusal.update_refused(ORIGIN, dns.rcode.REFUSED, denied, plan)  # type: ignore[arg-type]
    assert isinstance(error, DaemonError) and "does not accept the appliance's key" in error.message


def test_fault_points_need_root_alone(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    path = fault_file(root, "dns-agent", "after-apply")
    points = FaultPoints(root, "dns-agent")
    assert not points.armed("after-apply")
    path.parent.mkdir(parents=True)
    for directory in (root.lib, path.parent.parent, path.parent):
        os.chmod(directory, 0o755)
    path.write_text("")
    path.chmod(0o644)
    assert points.armed("after-apply") == (os.geteuid() == 0)
    path.chmod(0o666)
    assert not points.armed("after-apply")
    path.chmod(0o644)
    os.chmod(path.parent, 0o777)
    assert not points.armed("after-apply")


def test_generate_as_bind_reads_it() -> None:
    origin = dns.name.from_text("gen.test.")
    text = (
        "$TTL 300\n@ IN SOA ns1 hm 1 2 3 4 5\n@ IN NS ns1\n"
        "$GENERATE 1-3 host$ A 198.51.100.$\n"  # line 4
        "$GENERATE 8-10/2 h${10,3,d} 60 IN CNAME host${-7}\n"  # line 5
        '$GENERATE 1-2 _s$._tcp TXT "n=$ x"\n'  # line 6: quoted, then read as data
        "$GENERATE 1-2 x$.elsewhere. A 198.51.100.$\n"  # line 7: outside, refused
        "$GENERATE 3-1 bad$ A 198.51.100.1\n"  # line 8: empty range
        "$GENERATE 1-1000001 big$ A 198.51.100.1\n"  # line 9: too many
    )
    found = read_zone_file(origin, text)
    made = {(r.name, r.ttl, r.type, r.data) for r in found.records}
    assert ("host3.gen.test.", 300, "A", "198.51.100.3") in made
    assert ("h018.gen.test.", 60, "CNAME", "host1.gen.test.") in made
    assert ("h020.gen.test.", 60, "CNAME", "host3.gen.test.") in made
    assert ("_s2._tcp.gen.test.", 300, "TXT", '"n=2" "x"') in made
    assert [(p.line, "outside" in p.message) for p in found.problems[:2]] == [(7, True)] * 2
    assert [p.line for p in found.problems[2:]] == [8, 9]


def test_out_of_zone_records_and_ttls_are_refused_at_their_lines() -> None:
    origin = dns.name.from_text("o.test.")
    text = (
        "$TTL 2147483648\n@ 300 IN SOA ns1 hm 1 0 0 0 0\n@ 300 IN NS ns1\n"
        "$ORIGIN .\no.test. 300 IN A 198.51.100.1\nother.test. 300 IN A 198.51.100.2\n"
    )
    found = read_zone_file(origin, text)
    assert [(p.line, p.field) for p in found.problems] == [(1, "line 1"), (6, "line 6")]
    assert "over 2147483647" in found.problems[0].message
    assert "the $ORIGIN is ." in found.problems[1].message
    assert found.soa is not None and found.soa_line == 2 and found.soa.refresh == 0
    assert [r.name for r in found.records] == ["o.test.", "o.test."]


#: Entries near the edge of what the reader takes without dnspython's tokenizer: each is read
#: alike both ways, records, lines and problems (the tokenizer's words for a bad one).
PLAIN_OR_NOT = """$ORIGIN many.test.
$TTL 300
@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 3600
@ IN NS ns1
ns1 A 10.0.0.1
a 60 IN A 10.0.0.2
a 60 in a 10.0.0.3
b 4294967296 IN A 10.0.0.4
b 2147483648 IN A 10.0.0.5
c 99999 IN A 10.0.0.256
d IN AAAA 2001:db8::1
d IN AAAA 2001:db8::zz
e IN A (10.0.0.6)
f IN MX ( 10 mail )
f IN MX 10 (mail)
f IN MX 70000 mail
f IN MX \uff12 mail
f IN MX 10 mail.other.test.
g IN CNAME target..bad
h IN TXT "one" "two"
h IN TXT "one"   "with (parens) ; and a semicolon"
h IN TXT "unclosed
h IN TXT "esc\\"aped"
h IN TXT ""
h IN TXT "{long}"
h IN TXT unquoted words
h IN TXT "one" word
h IN SPF "v=spf1 -all"
h IN A "10.0.0.7"
i\u00a0IN A 10.0.0.8
j IN A 10.0.0.9 ; a comment
k IN PTR host
k IN NS ns1.other.test.
l IN A 10.0.0.10 10.0.0.11
m 60 A
IN A 10.0.0.12
n 1h IN A 10.0.0.13
o IN 60 A 10.0.0.14
p IN CH A 10.0.0.15
a.outside. IN A 10.0.0.16
\\@ IN A 10.0.0.17
* IN A 10.0.0.18
@ IN MX 0 .
q IN A 10.0.0.2
q 120 IN A 10.0.0.2
""".replace("{long}", "x" * 256)


def test_plain_entries_are_read_as_the_tokenizer_reads_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = read_zone_file(ORIGIN, PLAIN_OR_NOT)
    monkeypatch.setattr(zonefile._Reader, "_plain_entry", lambda self, line, text: False)
    slow = read_zone_file(ORIGIN, PLAIN_OR_NOT)
    assert fast.records == slow.records
    assert fast.lines == slow.lines
    assert fast.problems == slow.problems
    assert [r.key for r in fast.parsed] == [r.key for r in slow.parsed]
    assert len(fast.records) > 20 and len(fast.problems) > 10
