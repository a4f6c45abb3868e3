"""Record data through the dns-agent, answered by the real named (and dig): every type BIND
serves, RFC 2181 owner names, TXT strings kept exactly, what named would refuse or ignore
refused before it is sent, and the import's preview and its explicit leaving out."""

from __future__ import annotations

import subprocess

import pytest

from services.sandbox.sandbox import Sandbox
from tests.dns.conftest import Agent, answer_set, create, rdata
from tests.harness.problems import assert_problem

pytestmark = pytest.mark.sandbox

HEX64 = "0123456789abcdef" * 4

#: (owner, type, data) of types beyond the common ones, each served as given.
MORE_TYPES = [
    ("h", "HINFO", '"PC-Intel-700mhz" "NetBSD 1.4"'),
    ("rp", "RP", "admin.more.test. txt.more.test."),
    ("txt", "TXT", '"responsible person"'),
    ("loc", "LOC", "42 21 54 N 71 06 18 W -24m 30m"),
    ("_ftp._tcp", "URI", '10 1 "ftp://ftp1.example.com/public"'),
    ("cert", "CERT", "PGP 0 0 AQIDBAUGBwgJ"),
    ("_dns.svc", "SVCB", "1 svc.example.net. alpn=h2,h3 port=8443"),
    ("www", "HTTPS", "1 . alpn=h2 ipv4hint=198.51.100.10"),
    ("pgp", "OPENPGPKEY", "AQIDBAUGBwgJ"),
    ("s._smimecert", "SMIMEA", f"3 1 1 {HEX64}"),
    ("afs", "AFSDB", "1 afs.example.net."),
    ("eui", "EUI48", "00-00-5e-00-53-2a"),
    ("kx", "KX", "10 kx.example.net."),
    ("@", "CSYNC", "66 3 A NS AAAA"),
    ("spf", "SPF", "v=spf1 -all"),
    ("private", "TYPE65280", r"\# 4 0A000001"),
    ("gc._msdcs", "A", "198.51.100.40"),
    ("_ldap._tcp.dc._msdcs", "SRV", "0 100 389 dc1"),
    ("dc1", "A", "198.51.100.41"),
    ("_spf", "TXT", "v=spf1 mx -all"),
    (r"dot\.in", "TXT", '"a label with a dot"'),
    ("*._tcp.wild", "TXT", "wildcard"),
]


def _dig(box: Sandbox, name: str, rtype: str) -> list[str]:
    out = subprocess.run(
        ["dig", "+short", "+tcp", "+time=3", "+tries=2", f"@{box.address}", name, rtype],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout  # fmt: skip
    return [line for line in out.splitlines() if line]


def _fresh(agent: Agent, zone: str, **spec: object) -> None:
    gone = agent.http.delete(f"/zones/{zone}")
    assert gone.status_code in (204, 404), gone.text
    agent.create_zone(zone, **spec)


def test_more_types_and_rfc2181_names_are_served(agent: Agent, shared_sandbox: Sandbox) -> None:
    zone = "more.test."
    _fresh(agent, zone)
    agent.ok(agent.change(zone, [create(o, t, d, ttl=600) for o, t, d in MORE_TYPES]))
    for owner, rtype, data in MORE_TYPES:
        name = zone if owner == "@" else f"{owner}.{zone}"
        served = answer_set(shared_sandbox, name, rtype)
        wanted = rdata(rtype, data, zone) if rtype not in ("TXT", "SPF") else None
        if wanted is not None:
            assert served == {wanted}, (owner, rtype, served)
        else:
            assert len(served) == 1, (owner, rtype, served)
    # Read back by AXFR: the same records, the generic type kept in RFC 3597 form.
    stored = {(r["name"], r["type"], r["data"]) for r in agent.records(zone)["records"]}
    assert (f"private.{zone}", "TYPE65280", r"\# 4 0a000001") in stored
    assert (f"gc._msdcs.{zone}", "A", "198.51.100.40") in stored
    assert (rf"dot\.in.{zone}", "TXT", '"a label with a dot"') in stored


def test_an_unquoted_txt_is_one_string_in_dig(agent: Agent, shared_sandbox: Sandbox) -> None:
    zone = "txt.test."
    _fresh(agent, zone)
    changes = [
        create("spf", "TXT", "v=spf1 mx -all"),
        create("two", "TXT", '"v=spf1" "-all"'),
        create("quote", "TXT", r'"say \"hi\""'),
        create("dkim._domainkey", "TXT", "v=DKIM1; k=rsa; p=" + "A" * 300),
    ]
    agent.ok(agent.change(zone, changes))
    assert _dig(shared_sandbox, f"spf.{zone}", "TXT") == ['"v=spf1 mx -all"']
    assert _dig(shared_sandbox, f"two.{zone}", "TXT") == ['"v=spf1" "-all"']
    assert _dig(shared_sandbox, f"quote.{zone}", "TXT") == [r'"say \"hi\""']
    dkim = answer_set(shared_sandbox, f"dkim._domainkey.{zone}", "TXT")
    strings = [s for rd in dkim for s in rd.strings]  # type: ignore[attr-defined]
    assert b"".join(strings) == ("v=DKIM1; k=rsa; p=" + "A" * 300).encode()
    assert [len(s) for s in strings] == [255, 63]
    # What the API answers means the same strings when sent back: deleting by it works.
    answered = {r["name"]: r["data"] for r in agent.records(zone)["records"] if r["type"] == "TXT"}
    assert answered[f"spf.{zone}"] == '"v=spf1 mx -all"'
    delete = {"action": "delete", "record": {"name": "spf", "type": "TXT",
                                             "data": answered[f"spf.{zone}"]}}  # fmt: skip
    agent.ok(agent.change(zone, [delete]))
    assert _dig(shared_sandbox, f"spf.{zone}", "TXT") == []


def test_strict_host_names_only_when_the_zone_asks(agent: Agent, shared_sandbox: Sandbox) -> None:
    _fresh(agent, "strict.test.", strict_hostnames=True)
    response = agent.change("strict.test.", [create("gc._msdcs", "A", "198.51.100.40")])
    problem = assert_problem(response, 422, "changes[0].record.name")
    assert "host name" in problem["detail"]
    response = agent.change("strict.test.", [create("@", "MX", "10 mail_x")])
    assert_problem(response, 422, "changes[0].record.data")
    assert agent.ok(agent.get("/zones/strict.test."))["strict_hostnames"] is True
    # A loose zone (the default) serves the same names.
    _fresh(agent, "loose.test.")
    agent.ok(agent.change("loose.test.", [create("gc._msdcs", "A", "198.51.100.40")]))
    assert _dig(shared_sandbox, "gc._msdcs.loose.test.", "A") == ["198.51.100.40"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ([create("nons", "DS", f"1 13 2 {HEX64}")], "changes[0].record", "no NS records"),
        ([create("@", "DS", f"1 13 2 {HEX64}")], "changes[0].record", "parent zone"),
        ([create("sub", "NS", "ns.example.net."), create("www.sub", "TXT", "x")],
         "changes[1].record", "below the delegation"),
        ([create("sub", "NS", "ns.example.net."), create("sub", "TXT", "x")],
         "changes[1].record", "is a delegation"),
        ([create("old", "DNAME", "example.net."), create("a.old", "A", "198.51.100.1")],
         "changes[1].record", "below the DNAME"),
        ([create("c", "CNAME", "www"), create("c", "TXT", "x")], "changes[0].record", "CNAME"),
        ([create("out.example.net.", "A", "198.51.100.1")], "changes[0].record.name", "outside"),
        ([create("big", "A", "198.51.100.1", ttl=2**31)], "changes[0].record.ttl", "less than"),
        ([create("x", "NSEC", "y.refuse.test. A")], "changes[0].record.type", "signs"),
    ],
)  # fmt: skip
def test_what_named_would_refuse_or_ignore_is_refused_before_sending(
    agent: Agent, shared_sandbox: Sandbox, changes: list[dict[str, object]], field: str,
    words: str,
) -> None:  # fmt: skip
    zone = "refuse.test."
    if not any(z["name"] == zone for z in agent.ok(agent.get("/zones"))):
        agent.create_zone(zone)
    serial = agent.records(zone)["serial"]
    problem = assert_problem(agent.change(zone, changes), 422, field)
    assert words in problem["problems"][0]["message"], problem
    assert agent.records(zone)["serial"] == serial


IMPORT = f"""\
$ORIGIN imp.test.
$TTL 300
@        IN SOA ns1 hostmaster 2024010101 0 0 0 0
@        IN NS  ns1
ns1      IN A   198.51.100.53
_spf     IN TXT "v=spf1 mx -all"
gc._msdcs IN A  198.51.100.54
h        IN HINFO "PC" "Linux"
other.example. IN A 198.51.100.55
nons     IN DS  1 13 2 {HEX64}
deleg    IN NS  ns.example.net.
deleg    IN MX  10 mail.example.net.
big 2147483648 IN A 198.51.100.56
good     IN A   198.51.100.57
"""

REFUSED = [
    (9, "outside the zone"),
    (10, "no NS records"),
    (12, "is a delegation"),
    (13, "2147483647"),
]


def test_an_import_preview_then_an_explicit_leaving_out(
    agent: Agent, shared_sandbox: Sandbox
) -> None:
    gone = agent.http.delete("/zones/imp.test.")
    assert gone.status_code in (204, 404)
    body = {"name": "imp.test", "text": IMPORT}
    preview = agent.ok(agent.post("/zones/import/preview", body))
    refused = [(r["line"], r["message"]) for r in preview["refused"]]
    assert [line for line, _ in refused] == [line for line, _ in REFUSED], refused
    for (_, message), (_, words) in zip(refused, REFUSED, strict=True):
        assert words in message, refused
    assert all(r["can_leave_out"] for r in preview["refused"])
    assert preview["importable"] is False and preview["importable_leaving_out"] is True
    created = {(r["line"], r["name"], r["type"]) for r in preview["records"]}
    assert (6, "_spf.imp.test.", "TXT") in created and (14, "good.imp.test.", "A") in created
    assert (11, "deleg.imp.test.", "NS") in created
    assert len(created) == 7
    assert agent.get("/zones/imp.test.").status_code == 404  # the preview changed nothing

    # Without the explicit choice the file is refused whole, every line named.
    problem = assert_problem(agent.post("/zones/import", body), 422)
    assert [p["line"] for p in problem["problems"]] == [line for line, _ in REFUSED]
    assert agent.get("/zones/imp.test.").status_code == 404

    imported = agent.ok(agent.post("/zones/import", {**body, "leave_out_refused": True}))
    assert [r["line"] for r in imported["left_out"]] == [line for line, _ in REFUSED]
    assert imported["soa"]["refresh"] == 0 and imported["soa"]["minimum"] == 0
    assert _dig(shared_sandbox, "_spf.imp.test.", "TXT") == ['"v=spf1 mx -all"']
    assert _dig(shared_sandbox, "gc._msdcs.imp.test.", "A") == ["198.51.100.54"]
    assert _dig(shared_sandbox, "good.imp.test.", "A") == ["198.51.100.57"]
    assert _dig(shared_sandbox, "big.imp.test.", "A") == []
    soa = _dig(shared_sandbox, "imp.test.", "SOA")[0].split()
    assert soa[3:] == ["0", "0", "0", "0"], soa
    served = {(r["name"], r["type"]) for r in agent.records("imp.test.")["records"]}
    assert ("nons.imp.test.", "DS") not in served and ("deleg.imp.test.", "MX") not in served
    assert ("deleg.imp.test.", "NS") in served


def test_a_file_without_soa_cannot_be_left_out_of(agent: Agent) -> None:
    body = {"name": "nosoa.test", "text": "@ 300 IN NS ns1\nns1 300 IN A 198.51.100.1\n",
            "leave_out_refused": True}  # fmt: skip
    preview = agent.ok(agent.post("/zones/import/preview", body))
    assert preview["importable_leaving_out"] is False
    assert [r["can_leave_out"] for r in preview["refused"]] == [False]
    assert_problem(agent.post("/zones/import", body), 422, "text")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("$TTL 2147483648\n@ IN SOA ns1 hm 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 198.51.100.1\n",
         1, "2147483647"),
        ("@ 300 IN SOA ns1 hm 1 2 3 4 5\n@ 300 IN NS ns1\nns1 300 IN A 198.51.100.1\n"
         "$INCLUDE other.db\n", 4, "$INCLUDE"),
        ("@ 300 IN SOA ns1 hm 1 2 3 4 5\n@ 300 IN NS ns1\nns1 300 IN A 198.51.100.1\n"
         "$ORIGIN elsewhere.example.\nx 300 IN A 198.51.100.2\n", 5, "outside the zone"),
    ],
)  # fmt: skip
def test_bad_imports_answer_422_at_the_line(agent: Agent, text: str, line: int, words: str) -> None:
    response = agent.post("/zones/import", {"name": "badttl.test", "text": text})
    problem = assert_problem(response, 422, f"line {line}")
    item = next(p for p in problem["problems"] if p.get("line") == line)
    assert words in item["message"], problem
    assert agent.get("/zones/badttl.test.").status_code == 404


def test_generate_is_expanded(agent: Agent, shared_sandbox: Sandbox) -> None:
    gone = agent.http.delete("/zones/gen.test.")
    assert gone.status_code in (204, 404)
    text = (
        "$TTL 300\n@ IN SOA ns1 hm 1 3600 900 1209600 300\n@ IN NS ns1\nns1 IN A 198.51.100.1\n"
        '$GENERATE 1-20 host$ A 198.51.100.$\n$GENERATE 1-3 _s$._tcp TXT "n=$"\n'
    )
    agent.ok(agent.post("/zones/import", {"name": "gen.test", "text": text}))
    assert _dig(shared_sandbox, "host17.gen.test.", "A") == ["198.51.100.17"]
    assert _dig(shared_sandbox, "_s2._tcp.gen.test.", "TXT") == ['"n=2"']
    types = [r["type"] for r in agent.records("gen.test.")["records"]]
    assert types.count("A") == 21 and types.count("TXT") == 3


def test_a_file_without_apex_ns_names_the_file_not_a_record(agent: Agent) -> None:
    text = "@ 300 IN SOA ns1 hm 1 2 3 4 5\n@ 300 IN MX 10 mail.example.\n"
    preview = agent.ok(agent.post("/zones/import/preview", {"name": "nons.test", "text": text}))
    assert [(r["line"], r["field"]) for r in preview["refused"]] == [(None, "text")], preview
    assert "no NS record" in preview["refused"][0]["message"]
