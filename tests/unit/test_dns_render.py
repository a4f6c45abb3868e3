"""named's configuration and zone files as the dns-agent writes them are accepted by BIND's own
checkers; the launcher keeps the server options the agent stored."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

import dns.name
import pytest

from services.common.dns.contract import Change, Soa, TsigKey, ZoneKind, ZonePublic
from services.common.dns.named_conf import named_conf_text, options_path
from services.common.dns.options import ServerOptions
from services.common.dns.validate import RecordValidationError, plan_changes
from services.common.launch import Launcher
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings
from services.dns.config import BindConfig, ZoneStore
from services.dns.named import Named
from services.dns.zonefile import make_soa, parse_zone_text, serial_next, zone_text


@pytest.fixture
def root(tmp_path: Path) -> StateRoot:
    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    ApplianceSettings(address=ipaddress.IPv4Interface("198.51.100.2/24"), interface="lo").save(
        root.appliance_settings
    )
    Launcher(root, python="/usr/bin/python3", pythonpath=None).prepare()
    return root


def _zones(root: StateRoot) -> dict[str, ZonePublic]:
    key = TsigKey(name="xfer", secret="c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0")
    store = ZoneStore(root)
    zones = store.load()  # the launcher's first zone, adopted
    assert list(zones) == ["burrow.example."]
    for zone in (
        ZonePublic(
            name="p.test",
            enabled=True,
            allow_transfer=["203.0.113.0/24"],
            allow_update=["203.0.113.7/32"],
            notify="explicit",
            also_notify=["203.0.113.8"],
            file=str(store.zone_file("p.test.", ZoneKind.primary)),
        ),
        ZonePublic(
            name="s.test",
            kind="secondary",
            enabled=True,
            primaries=["203.0.113.9"],
            tsig_key=key,
            file=str(store.zone_file("s.test.", ZoneKind.secondary)),
        ),
        ZonePublic(
            name="stub.test",
            kind="stub",
            enabled=True,
            primaries=["2001:db8::9"],
            file=str(store.zone_file("stub.test.", ZoneKind.stub)),
        ),
        ZonePublic(
            name="f.test",
            kind="forward",
            enabled=True,
            forwarders=["203.0.113.53"],
            forward_only=False,
        ),
        ZonePublic(name="off.test", enabled=False, file="/nonexistent"),
    ):
        zones[zone.name] = zone
    return zones


def test_every_zone_kind_passes_named_checkconf(root: StateRoot) -> None:
    zones = _zones(root)
    text = BindConfig(root, Named(root)).zones_conf_text(zones)
    assert 'key "xfer"' in text and "off.test" not in text
    assert "forward first;" in text
    conf = root.bind_etc / "zones.conf"
    conf.write_text(text)
    subprocess.run(["named-checkconf", str(root.named_conf)], check=True)


def test_options_render_and_survive_a_restart(root: StateRoot) -> None:
    options = ServerOptions(
        recursion=True,
        allow_recursion=["198.51.100.0/24"],
        forwarders=["203.0.113.53"],
        forward_only=True,
        listen_on=["127.0.0.1"],
        dnssec_validation="auto",
    )
    text = named_conf_text(root, options)
    root.named_conf.write_text(text)
    subprocess.run(["named-checkconf", str(root.named_conf)], check=True)
    options.save(options_path(root))
    Launcher(root, python="/usr/bin/python3", pythonpath=None).prepare()
    again = root.named_conf.read_text()
    assert again == text
    assert "allow-recursion { 198.51.100.0/24; };" in again
    assert "forward only;" in again


def test_unreadable_options_fall_back_to_defaults(root: StateRoot) -> None:
    options_path(root).write_text("{not json")
    Launcher(root, python="/usr/bin/python3", pythonpath=None).prepare()
    assert "recursion no;" in root.named_conf.read_text()


def test_zone_file_written_then_read_gives_the_same_records(tmp_path: Path) -> None:
    origin = dns.name.from_text("z.test.")
    changes = [
        Change.model_validate({"action": "create", "record": r})
        for r in [
            {"name": "@", "type": "NS", "data": "ns1"},
            {"name": "ns1", "type": "A", "data": "198.51.100.2"},
            {"name": "t", "type": "TXT", "data": '"a;b" "c\\"d"', "ttl": 60},
            {"name": "*.w", "type": "AAAA", "data": "2001:db8::1"},
        ]
    ]
    plan = plan_changes(origin, [], changes, 300)
    soa = make_soa(origin, Soa(), 7)
    text = zone_text(origin, soa, 300, plan.result.values())
    path = tmp_path / "db.z.test"
    path.write_text(text)
    subprocess.run(["named-checkzone", "-q", "z.test.", str(path)], check=True)
    read_soa, soa_ttl, records = parse_zone_text(origin, text)
    assert read_soa.serial == 7 and soa_ttl == 300
    again = plan_changes(origin, [], [Change(action="create", record=r) for r in records], 300)
    assert set(again.result) == set(plan.result)


def test_serial_wraps_in_rfc1982_arithmetic() -> None:
    assert serial_next(41) == 42
    assert serial_next(2**32 - 1) == 1


def test_zone_file_import_refuses_include_and_names_the_line() -> None:
    origin = dns.name.from_text("z.test.")
    text = "$ORIGIN z.test.\n$INCLUDE /etc/passwd\n@ 300 IN SOA ns1 h 1 2 3 4 5\n@ NS ns1\n"
    with pytest.raises(RecordValidationError) as info:
        parse_zone_text(origin, text)
    assert info.value.field == "line 2"
    assert info.value.problems[0].extra["line"] == 2
    assert "$INCLUDE" in info.value.problems[0].message
    with pytest.raises(RecordValidationError, match="no SOA"):
        parse_zone_text(origin, "www 300 IN A 192.0.2.1\n")
