"""Record types, owner names and the contract models of the shared DNS model."""

from __future__ import annotations

import dns.name
import pytest
from pydantic import ValidationError as PydanticError

from services.common.dns.contract import Change, RecordData, ZoneCreate
from services.common.dns.names import hostname_problems, owner_problems, zone_name_problems
from services.common.dns.options import ServerOptions
from services.common.dns.records import REGISTRY, parse_checked, record_type, type_problem

ORIGIN = dns.name.from_text("example.test.")
HEX = "0123456789abcdef"


def test_every_type_bind_serves_and_dnspython_parses_is_managed() -> None:
    wanted = "A AAAA CNAME MX NS PTR SRV TXT CAA TLSA SSHFP NAPTR DS DNAME".split()
    assert set(wanted) <= set(REGISTRY)
    assert record_type("aaaa") is REGISTRY["AAAA"]
    assert record_type("TYPE1") is REGISTRY["A"]
    for name in "HINFO RP AFSDB LOC URI CERT OPENPGPKEY CSYNC EUI48 BRID WALLET".split():
        found = record_type(name)
        assert found is not None and found.rtype == name, name
    generic = record_type("type65280")
    assert generic is not None and generic.rtype == "TYPE65280"
    for name in ("SOA", "RRSIG", "NSEC", "NSEC3", "ANY", "AXFR", "OPT", "MD", "FOO", "TYPE65534"):
        assert record_type(name) is None, name
        assert type_problem(name), name


@pytest.mark.parametrize(
    ("rtype", "data", "shown"),
    [
        ("TYPE65280", r"\# 4 0A000001", r"\# 4 0a000001"),
        ("A", r"\# 4 0A000001", "10.0.0.1"),
        ("HINFO", '"PC-Intel-700mhz" "NetBSD 1.4"', '"PC-Intel-700mhz" "NetBSD 1.4"'),
        ("RP", "admin.example.test. txt.example.test.", "admin.example.test. txt.example.test."),
        (
            "LOC",
            "42 21 54 N 71 06 18 W -24m 30m",
            "42 21 54.000 N 71 6 18.000 W -24.00m 30.00m 10000.00m 10.00m",
        ),
        ("URI", '10 1 "ftp://ftp1.example.com/public"', '10 1 "ftp://ftp1.example.com/public"'),
        ("SVCB", "1 . alpn=h2,h3 port=8443", '1 . alpn="h2,h3" port="8443"'),
        ("HTTPS", "0 www.example.test.", "0 www.example.test."),
        ("CERT", "PGP 0 0 AQID", "PGP 0 0 AQID"),
        ("OPENPGPKEY", "AQID", "AQID"),
        ("SMIMEA", f"3 1 1 {HEX * 4}", f"3 1 1 {HEX * 4}"),
        ("CDS", "0 0 0 00", "0 0 0 00"),
        ("DNSKEY", "257 3 13 AQID", "257 3 13 AQID"),
        ("ZONEMD", f"2021 1 1 {HEX * 6}", f"2021 1 1 {HEX * 6}"),
        ("CSYNC", "66 3 A NS AAAA", "66 3 A NS AAAA"),
        ("SPF", "v=spf1 mx -all", '"v=spf1 mx -all"'),
    ],
)
def test_more_types_parse(rtype: str, data: str, shown: str) -> None:
    found = record_type(rtype)
    assert found is not None
    rdata, problems = parse_checked(found, data, ORIGIN, ORIGIN)
    assert rdata is not None and problems == [], problems
    assert rdata.to_text() == shown


@pytest.mark.parametrize(
    ("data", "strings"),
    [
        ("v=spf1 mx -all", [b"v=spf1 mx -all"]),
        ('"v=spf1 mx -all"', [b"v=spf1 mx -all"]),
        ('"v=spf1" "mx" "-all"', [b"v=spf1", b"mx", b"-all"]),
        (r"back\slash", [rb"back\slash"]),
        ("", [b""]),
        ('"say \\"hi\\""', [b'say "hi"']),
        ("x" * 300, [b"x" * 255, b"x" * 45]),
    ],
)
def test_txt_strings_are_kept_exactly(data: str, strings: list[bytes]) -> None:
    rdata, problems = parse_checked(REGISTRY["TXT"], data, ORIGIN, ORIGIN)
    assert rdata is not None and problems == []
    assert list(rdata.strings) == strings  # type: ignore[attr-defined]
    again, _ = parse_checked(REGISTRY["TXT"], rdata.to_text(), ORIGIN, ORIGIN)
    assert again == rdata  # the answer's presentation form means the same strings


@pytest.mark.parametrize(
    ("rtype", "owner", "data", "words"),
    [
        ("DNSKEY", "@", "257 2 13 AQID", "protocol"),
        ("SMIMEA", "s", "4 1 1 " + HEX * 4, "usage"),
        ("CDS", "@", "0 0 0 01", "0 0 0 00"),
        ("URI", "u", '10 1 ""', "empty"),
        ("ZONEMD", "@", f"1 1 1 {HEX * 4}", "inconsistent"),
        ("SVCB", "s", "0 . alpn=h2", "AliasMode"),
        ("HTTPS", "s", "1 . key8", "does not know the key ohttp"),
        ("LOC", "l", "91 0 0 N 0 0 0 E 0m", "not valid LOC"),
        ("HINFO", "h", '"only-one"', "not valid HINFO"),
    ],
)
def test_rules_of_more_types(rtype: str, owner: str, data: str, words: str) -> None:
    found = record_type(rtype)
    assert found is not None
    name = dns.name.from_text(owner, origin=ORIGIN)
    _, problems = parse_checked(found, data, name, ORIGIN)
    assert problems and words in " ".join(problems), problems


@pytest.mark.parametrize(
    ("rtype", "owner", "data"),
    [
        ("A", "www", "192.0.2.1"),
        ("AAAA", "www", "2001:db8::1"),
        ("CNAME", "alias", "www"),
        ("DNAME", "old", "new.example.net."),
        ("NS", "@", "ns1.example.net."),
        ("PTR", "1.2.0.192.in-addr.arpa.", "host.example.test."),
        ("PTR", "_printer._tcp", r"Office\ Printer._ipp._tcp.example.test."),
        ("MX", "@", "10 mail"),
        ("MX", "@", "0 ."),
        ("SRV", "_sip._udp", "10 20 5060 sip"),
        ("SRV", "_sip._udp", "0 0 0 ."),
        ("TXT", "t", '"one" "two"'),
        ("TXT", "t", "bare"),
        ("CAA", "@", '128 tbs "x"'),
        ("TLSA", "_443._tcp", f"3 1 1 {HEX * 4}"),
        ("TLSA", "_443._tcp", "3 0 0 abcd"),
        ("SSHFP", "h", f"1 1 {HEX * 2}{HEX[:8]}"),
        ("NAPTR", "n", '100 10 "S" "SIP+D2U" "" _sip._udp'),
        ("DS", "sub", f"1 8 2 {HEX * 4}"),
    ],
)
def test_valid_data(rtype: str, owner: str, data: str) -> None:
    name = dns.name.from_text(owner, origin=ORIGIN)
    rdata, problems = parse_checked(REGISTRY[rtype], data, name, ORIGIN)
    assert rdata is not None and problems == []


@pytest.mark.parametrize(
    ("rtype", "owner", "data", "words"),
    [
        ("A", "www", "192.0.2.256", "not valid A"),
        ("AAAA", "www", "192.0.2.1", "not valid AAAA"),
        ("SRV", "_sip._udp", "10 20 70000 sip", "not valid SRV"),
        ("CAA", "@", '0 is-sue "x"', "CAA"),
        ("TLSA", "_443._tcp", "4 1 1 " + HEX * 4, "usage"),
        ("SSHFP", "h", f"5 2 {HEX * 4}", "algorithm"),
        ("SSHFP", "h", f"1 2 {HEX * 2}", "length"),
        ("NAPTR", "n", '100 10 "S!" "SIP" "" _sip._udp', "flags"),
        ("NAPTR", "n", '100 10 "U" "E2U" "!x!y!" sip', "exclusive"),
        ("DS", "sub", f"1 8 2 {HEX}", "length"),
        ("TXT", "t", '"open', "ends too early"),
    ],
)
def test_invalid_data(rtype: str, owner: str, data: str, words: str) -> None:
    name = dns.name.from_text(owner, origin=ORIGIN)
    _, problems = parse_checked(REGISTRY[rtype], data, name, ORIGIN)
    assert problems and words in " ".join(problems), problems


def test_long_txt_is_split_into_strings_of_255() -> None:
    rdata, _ = parse_checked(REGISTRY["TXT"], '"' + "x" * 600 + '" "y"', ORIGIN, ORIGIN)
    assert rdata is not None
    assert [len(s) for s in rdata.strings] == [255, 255, 90, 1]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("a..b", "empty label"),
        ("x" * 64, "63 octets"),
        (".".join(["abcdefghi"] * 26), "255 octets"),
        ("bad\\999", "bad escape"),
        ("tab\tbed", "white space"),
        ("has space", "white space"),
        ('quo"te', "white space"),
        ("", "empty"),
    ],
)
def test_bad_owner_names(name: str, words: str) -> None:
    assert words in " ".join(owner_problems(name))


@pytest.mark.parametrize(
    "name",
    ["@", "www", "*.dev", "_sip._tcp", "a.b.c.", "ü-not-ldh", "x_y", "gc._msdcs", "_spf",
     "a_b.c_d", r"dot\.in.label", r"\032lead", "a$b", "w@x", "*._tcp"],
)  # fmt: skip
def test_good_owner_names(name: str) -> None:
    assert owner_problems(name) == []


@pytest.mark.parametrize(
    ("rtype", "owner", "data"),
    [
        ("NS", "@", "bad_name.example.net."),
        ("MX", "@", "10 -mail"),
        ("SRV", "_sip._udp", "10 20 5060 under_score"),
        ("SRV", "sip", "10 20 5060 sip"),
        ("PTR", "1.2.0.192.in-addr.arpa.", "under_score.example."),
    ],
)
def test_host_name_targets_only_when_strict(rtype: str, owner: str, data: str) -> None:
    name = dns.name.from_text(owner, origin=ORIGIN)
    found = REGISTRY[rtype]
    rdata, problems = parse_checked(found, data, name, ORIGIN)
    assert rdata is not None and problems == []
    reasons = " ".join(found.hostname_checks(rdata, name))
    assert "host name" in reasons or "_service._proto" in reasons


def test_host_names_are_ldh() -> None:
    assert hostname_problems(dns.name.from_text("ok-1.example.")) == []
    assert hostname_problems(dns.name.from_text("*.ok.example."), wildcard=True) == []
    assert hostname_problems(dns.name.from_text("_x.example."))
    assert hostname_problems(dns.name.from_text("-x.example."))
    assert hostname_problems(dns.name.from_text("*.ok.example."))


def test_zone_names() -> None:
    assert zone_name_problems("example.test") == []
    assert zone_name_problems("2.0.192.in-addr.arpa.") == []
    assert zone_name_problems(".")
    assert zone_name_problems("a/b.test")


def test_contract_rules() -> None:
    assert ZoneCreate(name="Example.TEST").name == "example.test."
    with pytest.raises(PydanticError, match="needs at least one primary"):
        ZoneCreate(name="s.test", kind="secondary")
    with pytest.raises(PydanticError, match="forwarder"):
        ZoneCreate(name="f.test", kind="forward")
    with pytest.raises(PydanticError, match="only for a forward zone"):
        ZoneCreate(name="p.test", forwarders=["192.0.2.1"])
    with pytest.raises(PydanticError, match="reserved"):
        ZoneCreate(
            name="s.test",
            kind="secondary",
            primaries=["192.0.2.1"],
            tsig_key={"name": "burrow-tsig", "secret": "c2VjcmV0c2VjcmV0c2VjcmV0"},
        )
    record = RecordData(name="www", type="a", data="192.0.2.1")
    assert record.type == "A"
    with pytest.raises(PydanticError, match="needs 'new'"):
        Change(action="update", record=record)
    with pytest.raises(PydanticError, match="only for an update"):
        Change(action="create", record=record, new=record)


def test_server_options_render_safely() -> None:
    options = ServerOptions(
        recursion=True,
        allow_recursion=["198.51.100.0/24"],
        forwarders=["192.0.2.53"],
        listen_on=["198.51.100.2"],
    )
    values = options.template_vars()
    assert values["allow_recursion"] == "198.51.100.0/24;"
    assert values["listen_on"] == "127.0.0.1; 198.51.100.2;"
    assert ServerOptions(listen_on=[]).template_vars()["listen_on"] == "127.0.0.1;"
    assert values["listen_on_v6"] == "any;"
    assert ServerOptions(recursion=True).template_vars()["allow_recursion"] == "localhost;"
    assert ServerOptions().template_vars()["allow_recursion"] == "none;"
    with pytest.raises(PydanticError):
        ServerOptions(forwarders=['192.0.2.1; }; include "/etc/passwd'])
    with pytest.raises(PydanticError, match="needs recursion on"):
        ServerOptions(allow_recursion=["0.0.0.0/0"])
