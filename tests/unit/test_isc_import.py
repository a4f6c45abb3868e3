"""The ISC DHCP import: dhcpd.conf's grammar, the translation into Burrow's model, lease files.

Every test configuration under tests/data/isc-dhcp/ is checked with Debian's dhcpd (``dhcpd
-t``) first: the import is tested on files ISC DHCP itself takes.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from services.common.dhcp.isc.conf import ConfError, parse, tokenize
from services.common.dhcp.isc.leases import read_leases, read_leases6
from services.common.dhcp.isc.merge import merge
from services.common.dhcp.isc.translate import translate_text
from services.common.errors import ConflictError, ValidationError

DATA = Path(__file__).parents[1] / "data/isc-dhcp"
NOW = int(dt.datetime(2026, 12, 6, tzinfo=dt.UTC).timestamp())


def dhcpd() -> str:
    found = shutil.which("dhcpd") or "/usr/sbin/dhcpd"
    assert Path(found).exists(), "dhcpd is missing: ./build.sh setup installs isc-dhcp-server"
    return found


@pytest.mark.parametrize("conf", sorted(DATA.glob("*.conf")), ids=lambda p: p.name)
def test_every_test_configuration_passes_dhcpd(conf: Path) -> None:
    """``*6.conf`` are dhcpd6.conf files (``dhcpd -6``), read with ``sample6.leases``."""
    v6 = conf.stem.endswith("6")
    family = ["-6"] if v6 else ["-4"]
    checked = subprocess.run([dhcpd(), *family, "-t", "-cf", str(conf)], capture_output=True,
                             text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    leases = DATA / ("sample6.leases" if v6 else "sample.leases")
    read = subprocess.run([dhcpd(), *family, "-T", "-cf", str(conf), "-lf", str(leases)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert read.returncode == 0, read.stderr


def test_the_lab_templates_pass_dhcpd(tmp_path: Path) -> None:
    """The lab test's configurations, filled in as for the network 198.51.100.32/27."""
    from services.sandbox.sandbox import network6_of
    from tests.central_dhcp.test_isc_migration_lab import render, render6

    network = ipaddress.IPv4Network("198.51.100.32/27")
    for text, family in ((render(network), "-4"), (render6(network6_of(network)), "-6")):
        conf = tmp_path / "dhcpd.conf"
        conf.write_text(text)
        checked = subprocess.run([dhcpd(), family, "-t", "-cf", str(conf)], capture_output=True,
                                 text=True, check=False)  # fmt: skip
        assert checked.returncode == 0, checked.stderr


def test_dhcpd_refuses_what_the_parser_refuses(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text(
        "subnet 198.51.100.0 netmask 255.255.255.0 {\n  range 198.51.100.10 198.51.100.20\n}\n"
    )
    assert subprocess.run([dhcpd(), "-t", "-cf", str(bad)], capture_output=True,
                          check=False).returncode != 0  # fmt: skip
    with pytest.raises(ConfError) as caught:
        parse(bad.read_text())
    assert caught.value.line == 3  # the '}' before which the ';' is missing, as dhcpd says


# --- grammar ---------------------------------------------------------------------------------
def test_tokens_keep_lines_strings_and_comments_apart() -> None:
    tokens = tokenize('# a comment\noption domain-name "a;b # not a comment";\n  x != y;')
    assert [(t.kind, t.value, t.line) for t in tokens] == [
        ("word", "option", 2), ("word", "domain-name", 2), ("string", "a;b # not a comment", 2),
        ("punct", ";", 2), ("word", "x", 3), ("punct", "!=", 3), ("word", "y", 3),
        ("punct", ";", 3),
    ]  # fmt: skip


def test_string_escapes() -> None:
    (token,) = tokenize(r'"a\"b\\c\001"')
    assert token.value == 'a"b\\c\x01'


def test_blocks_nest_and_keep_their_lines() -> None:
    conf = parse("shared-network n {\n subnet 198.51.100.0 netmask 255.255.255.0 {\n"
                 "  pool { range 198.51.100.10 198.51.100.20; }\n }\n};\n")  # fmt: skip
    (network,) = conf.statements
    assert network.keyword == "shared-network" and network.line == 1
    (subnet,) = network.block or []
    assert subnet.line == 2
    (pool,) = subnet.block or []
    assert pool.line == 3 and (pool.block or [])[0].words() == ["range", "198.51.100.10",
                                                                 "198.51.100.20"]  # fmt: skip


def test_statements_and_expressions_may_run_over_lines() -> None:
    conf = parse(
        "option domain-name-servers 198.51.100.2,\n    198.51.100.3;\n"
        'class "c" {\n  match if\n    option vendor-class-identifier = "x"\n'
        '    or option user-class = "y";\n}\n'
    )
    assert [s.keyword for s in conf.statements] == ["option", "class"]


def test_record_types_in_braces_are_not_a_block() -> None:
    text = "option site-pair code 225 = { ip-address, unsigned integer 16 };"
    (statement,) = parse(text).statements
    assert statement.block is None and statement.words()[-1] == "}"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('option domain-name "open;\n\n', 1, "not closed"),
        ("subnet 198.51.100.0 netmask 255.255.255.0 {\n range 198.51.100.1 198.51.100.2;\n", 1,
         "never closed"),
        ("}\n", 1, "closes no block"),
        ("authoritative;\ndefault-lease-time 600\n", 2, "no ';'"),
        ("group {\n option routers 198.51.100.1\n}\n", 3, "no ';' before"),
        ('\n\ninclude "/etc/dhcp/other.conf";\n', 3, "'include' is not read"),
        ("class c {\n match if (substring(option vendor-class-identifier, 0, 3) = \"a\";\n}\n", 2,
         "'(' is not closed"),
        ("x ~ y;", 1, "'~'"),
        ('option domain-name "a.example"\noption routers 198.51.100.1;\n', 1, "line 2 starts"),
    ],
)  # fmt: skip
def test_syntax_errors_name_their_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfError) as caught:
        parse(text)
    assert caught.value.line == line
    assert words in caught.value.message
    problem = caught.value.problems[0]
    assert problem.field == "conf" and problem.extra == {"line": line}


# --- translation ----------------------------------------------------------------------------
def test_subnets_pools_options_and_hosts() -> None:
    made = translate_text((DATA / "features.conf").read_text())
    first, second, third, fourth = (p.scope for p in made.scopes)
    assert str(first.subnet) == "198.51.100.0/27"
    assert [(str(p.start), str(p.end), p.client_class) for p in first.pools] == [
        ("198.51.100.16", "198.51.100.20", None),
        ("198.51.100.21", "198.51.100.22", "pxe"),
        ("198.51.100.23", "198.51.100.24", "isc-pool-line-37"),
    ]
    options = {o.name or o.code: (o.data, o.csv_format) for o in first.options}
    assert options["routers"] == ("198.51.100.1", True)
    assert options[121] == ("18c63364c6336401", False)  # RFC 3442 bytes, as dhcpd sends them
    assert options["site-pair"] == ("198.51.100.9, 8080", True)
    (printer,) = first.reservations
    assert (printer.hw_address, str(printer.ip_addresses[0]), printer.hostname) == (
        "02:00:00:00:00:01", "198.51.100.25", "printer")  # use-host-decl-names  # fmt: skip
    # the laptop (declared in a group, identified by its client id) lands in its subnet
    (laptop,) = second.reservations
    assert laptop.client_id == "6c:61:70:74:6f:70:2d:31"  # "laptop-1"
    assert laptop.hostname == "laptop"
    assert [(o.name, o.data) for o in laptop.options] == [("domain-name", "hosts.example.org")]
    assert second.shared_network == third.shared_network == "lab-net"
    assert (third.valid_lifetime, third.renew_timer, third.rebind_timer) == (300, 150, 262)
    assert third.pools[0].client_class == "KNOWN"  # deny unknown-clients
    # a host without a fixed address, declared in a subnet: reserved there without an address
    (kiosk,) = fourth.reservations
    assert (kiosk.hw_address, kiosk.ip_addresses, kiosk.hostname, kiosk.boot_file_name) == (
        "02:00:00:00:00:03", [], "kiosk", "kiosk.efi")  # fmt: skip


def test_globals_classes_and_definitions() -> None:
    made = translate_text((DATA / "features.conf").read_text())
    assert [(o.name, o.data) for o in made.options] == [
        ("domain-name", "example.org"),
        ("domain-name-servers", "198.51.100.2, 198.51.100.3"),
        ("domain-search", "example.org, lab.example.org"),
    ]
    props = made.properties
    assert (props.valid_lifetime, props.max_valid_lifetime) == (600, 7200)
    assert (props.renew_timer, props.rebind_timer) == (300, 525)
    assert made.extra == {"authoritative": True}
    classes = {c.name: c for _line, c in made.classes}
    assert classes["pxe"].test == "substring(option[60].hex, 0, 9) == 'PXEClient'"
    assert classes["pxe"].boot_file_name == "pxelinux.0"
    assert str(classes["pxe"].next_server) == "198.51.100.4"
    assert classes["phones"].test == "(option[60].hex == 'phone') or (option[77].hex == 'voip')"
    assert classes["isc-pool-line-37"].test == "(member('phones') or member('pxe'))"
    # match DATA with subclasses: one test over every subclass's value
    assert classes["allowed"].test == (
        "(pkt4.mac == 0x0000c05dbd95) or (pkt4.mac == 0x08000726c0a5)")  # fmt: skip
    assert classes["vendors"].test == ("(substring(option[60].hex, 0, 4) == 'MSFT') or "
                                       "(substring(option[60].hex, 0, 4) == 'SUNW')")  # fmt: skip
    assert [(o.name, o.data) for o in classes["vendors"].options] == [
        ("ntp-servers", "198.51.100.6")]  # fmt: skip
    definitions = {(d.space, d.name): d for _line, d in made.option_definitions}
    assert definitions[("pxe", "mtftp-ip")].type == "ipv4-address"
    assert definitions[(None, "site-motd")].type == "string"
    pair = definitions[(None, "site-pair")]
    assert (pair.type, pair.record_types) == ("record", "ipv4-address, uint16")
    assert [(line, n.name) for line, n in made.shared_networks] == [(48, "lab-net")]


def test_what_is_not_carried_is_listed_by_line() -> None:
    made = translate_text((DATA / "features.conf").read_text())
    listed = {(n.line, n.statement.split()[0]) for n in made.not_carried}
    assert listed >= {(7, "ddns-update-style"), (76, "if"), (48, "shared-network")}
    # a host without a fixed address, outside a subnet, in a file of several: global
    assert [(line, r.hw_address) for line, r in made.global_reservations] == [
        (72, "02:00:00:00:00:02")]  # fmt: skip
    merged = merge(made, server())
    assert merged.config["reservations"] == [{"hw-address": "02:00:00:00:00:02",
                                              "hostname": "roaming"}]  # fmt: skip
    assert merged.config["reservations-global"] is True
    assert merged.config["reservations-in-subnet"] is True
    assert any("reservations-global" in n.reason for n in merged.notes)
    with_block = next(n for n in made.not_carried if n.line == 84)
    assert "its statements are not" in with_block.reason


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("option routers gw.example.org;", "name, not an address"),
        ("option no-such-option 1;", "no option named"),
        ("option dhcp-lease-time 600;", "default-lease-time"),
        ("failover peer \"p\" { primary; }", "High Availability"),
        ("ping-check true;", "ping"),
        ("on commit { set x = 1; }", "event statements"),
        ("some-new-statement 1;", "not a statement this import carries over"),
        ("class \"sub\" { match option vendor-class-identifier; }", "has no subclasses"),
        ("class \"lc\" { match if lcase(option host-name) = \"a\"; }", "no Kea equivalent"),
        ("host h { hardware ethernet 02:00:00:00:00:09; fixed-address 203.0.113.5; }",
         "none of the subnets"),
    ],
)  # fmt: skip
def test_each_left_out_statement_has_its_reason(statement: str, reason: str) -> None:
    made = translate_text(f"subnet 198.51.100.0 netmask 255.255.255.0 {{ }}\n{statement}\n")
    assert [n.line for n in made.not_carried] == [2], made.not_carried
    assert reason in made.not_carried[0].reason


def test_expressions() -> None:
    conf = """
class "a" { match if option agent.circuit-id = "port1" and not exists user-class; }
class "b" { match if substring(hardware, 1, 3) = 00:0c:29; }
class "c" { match if hardware = 1:2:0:0:0:0:5; }
class "d" { match if suffix(option host-name, 3) != "lab"; }
"""
    tests = {c.name: c.test for _line, c in translate_text(conf).classes}
    assert tests == {
        "a": "(relay4[1].hex == 'port1') and (not (option[77].exists))",
        "b": "substring(pkt4.mac, 0, 3) == 0x000c29",
        "c": "pkt4.mac == 0x020000000005",
        "d": "not (substring(option[12].hex, -3, all) == 'lab')",
    }


# --- merging into a server's configuration ------------------------------------------------
def server() -> dict[str, object]:
    return {
        "interfaces-config": {"interfaces": ["br0"]},
        "valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000,
        "subnet4": [{"id": 7, "subnet": "198.51.100.128/26", "pools": []}],
        "option-data": [{"name": "domain-name", "data": "old.example"}],
    }  # fmt: skip


def test_merge_puts_everything_in_and_keeps_the_rest() -> None:
    made = translate_text((DATA / "features.conf").read_text())
    merged = merge(made, server()).config
    assert [s["id"] for s in merged["subnet4"]] == [7, 8, 11]
    inside = [s["subnet"] for n in merged["shared-networks"] for s in n["subnet4"]]
    assert inside == ["198.51.100.32/27", "198.51.100.64/27"]
    assert merged["valid-lifetime"] == 600 and merged["authoritative"] is True
    names = [o["name"] for o in merged["option-data"]]
    assert names.count("domain-name") == 1  # the imported one replaces the server's
    assert merged["interfaces-config"] == {"interfaces": ["br0"]}
    assert server()["subnet4"] == [{"id": 7, "subnet": "198.51.100.128/26", "pools": []}]


def test_merge_refuses_a_subnet_the_server_has() -> None:
    made = translate_text("subnet 198.51.100.128 netmask 255.255.255.192 { }\n")
    with pytest.raises(ConflictError) as caught:
        merge(made, server())
    assert "line 1" in caught.value.message


@pytest.mark.parametrize(
    ("text", "current", "field", "message"),
    [
        ('\nclass "cams" { match if option vendor-class-identifier = "cam"; }\n',
         {"client-classes": [{"name": "cams"}]}, "classes[0].name",
         "line 2: the server has a client class 'cams' already"),
        ("shared-network lab {\n subnet 198.51.100.0 netmask 255.255.255.224 { }\n}\n",
         {"shared-networks": [{"name": "lab", "subnet4": []}]}, "shared_networks[0].name",
         "line 1: the server has a shared network 'lab' already"),
    ],
)  # fmt: skip
def test_merge_refuses_a_class_or_shared_network_the_server_has(
    text: str, current: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ConflictError) as caught:
        merge(translate_text(text), {**server(), **current})
    assert caught.value.message == message
    assert [(p.field, p.message, p.extra) for p in caught.value.problems] == [
        (field, message, {"line": int(message.split()[1].rstrip(":"))})
    ]


def test_merge_names_a_conflict_of_a_check_by_the_line() -> None:
    text = "\n\nsubnet 198.51.100.0 netmask 255.255.255.224 {\n range 198.51.100.10 198.51.100.20;}"
    current = {**server(), "subnet4": [{"id": 7, "subnet": "198.51.100.0/27", "pools": []}]}
    with pytest.raises(ConflictError) as caught:
        merge(translate_text(text), current)
    assert caught.value.message.startswith("line 3 (subnet 198.51.100.0/27): ")
    assert all(p.extra == {"line": 3} and p.field.startswith("scopes[0]")
               for p in caught.value.problems)  # fmt: skip


def test_merge_names_the_line_of_a_bad_object() -> None:
    text = "\n\nsubnet 198.51.100.128 netmask 255.255.255.128 {\n}\n"
    with pytest.raises(ValidationError) as caught:
        merge(translate_text(text), server())  # overlaps the server's 198.51.100.128/26
    problem = caught.value.problems[0]
    assert problem.extra == {"line": 3} and problem.field == "scopes[0].subnet"
    assert "overlaps" in problem.message


# --- lease files ----------------------------------------------------------------------------
def test_active_leases_are_carried_the_rest_listed() -> None:
    found = read_leases((DATA / "sample.leases").read_text(), NOW)
    (lease,) = found.leases
    assert (lease.address, lease.hw_address, lease.hostname) == (
        "198.51.100.17", "02:00:00:00:00:11", "desk")  # fmt: skip
    assert lease.client_id == "01:02:00:00:00:00:11"
    ends = int(dt.datetime(2036, 12, 5, 10, tzinfo=dt.UTC).timestamp())
    starts = int(dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC).timestamp())
    assert lease.ends == ends and lease.valid_lifetime == ends - starts
    reasons = {(s.address, s.reason.split(":")[0]) for s in found.skipped}
    assert ("198.51.100.16", "binding state free") in reasons
    assert ("198.51.100.18", "the lease has ended") in reasons
    assert ("198.51.100.19", "binding state backup") in reasons  # the later entry wins
    assert any(s.address == "198.51.100.19" and "later entry" in s.reason for s in found.skipped)
    assert ("198.51.100.20", "the lease never ends") in reasons


def test_a_bad_time_names_its_line() -> None:
    with pytest.raises(ValidationError) as caught:
        read_leases("lease 198.51.100.5 {\n  binding state active;\n  ends 3 yesterday;\n}\n", NOW)
    assert caught.value.problems[0].extra == {"line": 3}


# --- DHCPv6 ---------------------------------------------------------------------------------
def test_dhcpd6_conf() -> None:
    made = translate_text((DATA / "features6.conf").read_text(), "v6")
    first, whole, campus2, campus3 = (p.scope for p in made.scopes)
    assert str(first.subnet) == "2001:db8:1::/64"
    assert [(str(p.start), str(p.end), p.client_class) for p in first.pools] == [
        ("2001:db8:1::100", "2001:db8:1::1ff", None),
        ("2001:db8:1::300", "2001:db8:1::3ff", "phones6"),
    ]
    assert [(str(p.prefix), p.delegated_len) for p in first.pd_pools] == [
        ("2001:db8:8000::/48", 56)
    ]
    (printer,) = first.reservations
    assert printer.duid == "00:03:00:01:02:00:00:00:00:21"
    assert [str(a) for a in printer.ip_addresses] == ["2001:db8:1::25"]
    assert (str(whole.pools[0].start), str(whole.pools[0].end)) == (
        "2001:db8:4::", "2001:db8:4:0:ffff:ffff:ffff:ffff")  # fmt: skip
    assert campus2.shared_network == campus3.shared_network == "campus"
    assert [(o.name, o.data) for o in made.options] == [
        ("dns-servers", "2001:db8::53, 2001:db8::54"),
        ("domain-search", "example.org, lab.example.org"),
        ("information-refresh-time", "3600"),
        ("site-code", "42"),
    ]
    props = made.properties
    assert (props.valid_lifetime, props.preferred_lifetime, props.max_valid_lifetime) == (
        2400, 1200, 7200)  # fmt: skip
    assert (props.renew_timer, props.rebind_timer) == (600, 960)  # 1/2 and 4/5 of preferred
    assert [c.test for _line, c in made.classes] == ["option[61].hex == 0x0007"]
    left = {n.line: n.reason for n in made.not_carried}
    assert "rapid-commit" in left[8]
    assert "DHCPv4 option" in left[11]
    assert "temporary" in left[19]
    (router6,) = [r for _line, r in made.global_reservations]
    assert router6.duid == "00:03:00:01:02:00:00:00:00:22"
    assert [str(p) for p in router6.prefixes] == ["2001:db8:9000::/56"]


def test_a_dhcpv6_scope_gets_the_server_interface() -> None:
    made = translate_text("subnet6 2001:db8:1::/64 { range6 2001:db8:1::10 2001:db8:1::20; }\n",
                          "v6")  # fmt: skip
    merged = merge(made, {"interfaces-config": {"interfaces": ["br0"]}, "subnet6": []}, "v6")
    assert merged.config["subnet6"][0]["interface"] == "br0"
    assert [(n.line, "br0" in n.reason) for n in merged.notes] == [(1, True)]
    several = merge(made, {"interfaces-config": {"interfaces": ["br0", "eth1"]}}, "v6")
    assert "interface" not in several.config["subnet6"][0]
    assert "set the scope's interface" in several.notes[0].reason


def test_dhcpd6_leases() -> None:
    found = read_leases6((DATA / "sample6.leases").read_text(), NOW)
    address, prefix = found.leases
    # the file is little-endian: the IAID's first byte is its lowest
    assert (address.kind, address.address, address.iaid, address.duid) == (
        "IA_NA", "2001:db8:1::150", 1, "00:03:00:01:02:00:00:00:00:31")  # fmt: skip
    assert (address.valid_lifetime, address.preferred_lifetime) == (2400, 1200)
    assert (prefix.kind, prefix.address, prefix.prefix_len, prefix.iaid) == (
        "IA_PD", "2001:db8:8000:100::", 56, 3)  # fmt: skip
    reasons = {s.address: s.reason for s in found.skipped}
    assert reasons["2001:db8:1::151"].startswith("binding state expired")
    assert "temporary" in reasons["ia-ta"]


# --- Kea takes what the import makes --------------------------------------------------------
@pytest.mark.parametrize("conf", sorted(DATA.glob("*.conf")), ids=lambda p: p.name)
def test_kea_takes_the_merged_configuration(conf: Path, tmp_path: Path) -> None:
    """Each test file merged into a small server configuration passes Kea's own check."""
    family = "v6" if conf.stem.endswith("6") else "v4"
    made = translate_text(conf.read_text(), family)
    top = "Dhcp6" if family == "v6" else "Dhcp4"
    server = {
        "interfaces-config": {"interfaces": ["lo"]},
        "lease-database": {"type": "memfile", "persist": False},
    }
    merged = merge(made, server, family).config
    path = tmp_path / "kea.json"
    path.write_text(json.dumps({top: merged}))
    binary = shutil.which(f"kea-dhcp{family[1]}") or f"/usr/sbin/kea-dhcp{family[1]}"
    checked = subprocess.run([binary, "-t", str(path)], capture_output=True, text=True,
                             check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]


def test_the_debian_examples() -> None:
    made = translate_text((DATA / "debian-example.conf").read_text())
    assert [str(p.scope.subnet) for p in made.scopes] == [
        "10.152.187.0/24", "10.254.239.0/27", "10.254.239.32/27", "10.5.5.0/27",
        "10.17.224.0/24", "10.0.29.0/24",
    ]  # fmt: skip
    tests = {c.name: c.test for _line, c in made.classes}
    assert tests == {"foo": "substring(option[60].hex, 0, 4) == 'SUNW'",
                     "isc-pool-line-103": "not member('foo')"}  # fmt: skip
    names = [n.reason for n in made.not_carried if "is a name" in n.reason]
    assert len(names) >= 6  # routers and name servers given by name
    made6 = translate_text((DATA / "debian-example6.conf").read_text(), "v6")
    props = made6.properties
    assert (props.renew_timer, props.rebind_timer) == (3600, 7200)  # option dhcp-renewal-time
    first = made6.scopes[0].scope
    # prefix6 100:: to 111:: /64 is two prefixes; the first holds the subnet's own addresses
    assert [(str(p.prefix), p.delegated_len) for p in first.pd_pools] == [
        ("3ffe:501:ffff:110::/63", 64)]  # fmt: skip
    overlap = next(n for n in made6.not_carried if n.statement.startswith("prefix6"))
    assert overlap.line == 86 and "overlaps the address range" in overlap.reason
    assert {r.duid or r.hw_address for r in first.reservations} == {
        "00:01:00:01:00:04:93:e0:00:00:00:00:a2:a2", "01:00:80:a2:55:67"}  # fmt: skip


def test_groups_of_hosts_inside_a_subnet() -> None:
    conf = """subnet 198.51.100.0 netmask 255.255.255.0 {
  option routers 198.51.100.1;
  group {
    option domain-name "printers.example";
    host p1 { hardware ethernet 02:00:00:00:00:31; fixed-address 198.51.100.31; }
    group {
      option ntp-servers 198.51.100.5;
      host p2 { hardware ethernet 02:00:00:00:00:32; fixed-address 198.51.100.32; }
    }
  }
}
"""
    (placed,) = translate_text(conf).scopes
    options = {r.hw_address: [(o.name, o.data) for o in r.options]
               for r in placed.scope.reservations}  # fmt: skip
    # the subnet's own options stay on the scope (Kea gives them to its reservations)
    assert options == {
        "02:00:00:00:00:31": [("domain-name", "printers.example")],
        "02:00:00:00:00:32": [("domain-name", "printers.example"), ("ntp-servers", "198.51.100.5")],
    }
    assert placed.reservation_lines == [5, 8]


# --- Central's plan: which scope takes each lease ------------------------------------------
def test_leases_go_to_the_scope_that_holds_them() -> None:
    from central.dhcp.migrate import _leases
    from services.common.dhcp.isc.leases import LeaseFile6

    made = translate_text((DATA / "features.conf").read_text())
    merged = merge(made, server()).config
    found = read_leases((DATA / "sample.leases").read_text(), NOW)
    leases, skipped = _leases(found, merged, "v4")
    assert [(str(lease.address), lease.subnet_id) for lease in leases] == [("198.51.100.17", 8)]
    outside = read_leases(
        "lease 198.51.100.250 {\n starts 3 2026/12/02 10:00:00;\n ends 5 2036/12/05 10:00:00;\n"
        " binding state active;\n hardware ethernet 02:00:00:00:00:09;\n}\n", NOW,
    )  # fmt: skip
    none, why = _leases(outside, merged, "v4")
    assert none == [] and why[0].reason == "the address is in none of the server's scopes"
    made6 = translate_text((DATA / "features6.conf").read_text(), "v6")
    merged6 = merge(made6, {"interfaces-config": {"interfaces": ["br0"]}}, "v6").config
    found6 = read_leases6((DATA / "sample6.leases").read_text(), NOW)
    assert isinstance(found6, LeaseFile6)
    leases6, _skipped6 = _leases(found6, merged6, "v6")
    # the delegated prefix goes to the scope whose prefix pool holds it
    assert [(str(x.address), x.type, x.prefix_len, x.subnet_id, x.iaid) for x in leases6] == [
        ("2001:db8:1::150", "IA_NA", 128, 1, 1),
        ("2001:db8:8000:100::", "IA_PD", 56, 1, 3),
    ]
    assert len(skipped) == len(found.skipped)


def test_a_host_without_address_in_a_file_of_one_subnet() -> None:
    conf = """subnet 198.51.100.0 netmask 255.255.255.0 { range 198.51.100.10 198.51.100.20; }
host laptop { hardware ethernet 02:00:00:00:00:44; option domain-name "laptops.example"; }
"""
    made = translate_text(conf)
    (reservation,) = made.scopes[0].scope.reservations
    assert reservation.ip_addresses == [] and reservation.hw_address == "02:00:00:00:00:44"
    assert [(o.name, o.data) for o in reservation.options] == [("domain-name", "laptops.example")]
    (note,) = made.not_carried
    assert note.line == 2 and "the file's only subnet" in note.reason


def test_hosts_by_circuit_id_and_global_ones() -> None:
    conf = """subnet 198.51.100.0 netmask 255.255.255.128 { range 198.51.100.10 198.51.100.20; }
subnet 198.51.100.128 netmask 255.255.255.128 { range 198.51.100.140 198.51.100.150; }
host port7 { host-identifier option agent.circuit-id "port-7"; fixed-address 198.51.100.7; }
host port8 { host-identifier option agent.circuit-id 00:08; fixed-address 198.51.100.8; }
host both { hardware ethernet 02:00:00:00:00:55; option dhcp-client-identifier "b1";
            fixed-address 198.51.100.9; }
host wanderer { hardware ethernet 02:00:00:00:00:56; option domain-name "w.example"; }
host remote { host-identifier option agent.remote-id "r"; fixed-address 198.51.100.11; }
"""
    made = translate_text(conf)
    first = made.scopes[0].scope
    assert [(r.circuit_id, r.hw_address, str(r.ip_addresses[0])) for r in first.reservations] == [
        ("'port-7'", None, "198.51.100.7"), ("00:08", None, "198.51.100.8"),
        (None, "02:00:00:00:00:55", "198.51.100.9"),
    ]  # fmt: skip
    ((line, wanderer),) = made.global_reservations
    assert line == 7 and wanderer.hw_address == "02:00:00:00:00:56" and not wanderer.ip_addresses
    left = {n.line: n.reason for n in made.not_carried}
    assert "hw_address is used, not client_id" in left[5]
    reasons8 = [n.reason for n in made.not_carried if n.line == 8]
    assert any("does not reserve by agent.remote-id" in r for r in reasons8), reasons8
    # a global reservation the server has already: nothing changes, 409 naming the line
    taken = {**server(), "reservations": [{"hw-address": "02:00:00:00:00:56"}]}
    with pytest.raises(ConflictError) as caught:
        merge(made, taken)
    assert caught.value.problems[0].extra == {"line": 7}
    assert caught.value.problems[0].field == "global_reservations[0].hw_address"
