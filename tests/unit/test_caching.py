"""The caching appliance's settings (the contract), unbound.conf rendered from them, the
counters read from unbound-control, and the dns-agent's refusals and put-back over an
Unbound that fails (unbound-checkconf is real; the running Unbound is a stand-in here, the
real one is in tests/caching)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from services.caching.__main__ import build
from services.caching.control import UnboundControl, cache_stats, parse_stats
from services.caching.service import CachingService
from services.common.caching.conf import (
    conf_addresses,
    interface_addresses,
    local_data,
    unbound_conf_text,
    write_config,
)
from services.common.caching.contract import CacheFlush, CachingSettings
from services.common.errors import DaemonError, ValidationError
from services.common.paths import StateRoot
from tests.harness.problems import assert_problem
from tests.unit.test_dhcp_agent import AppClient


def fields(body: dict[str, Any]) -> list[str]:
    """The fields pydantic names for ``body`` as the agent's problems would."""
    with pytest.raises(PydanticValidationError) as info:
        CachingSettings.model_validate(body)
    return [
        "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
        for e in info.value.errors()
    ]


def zone(*records: str, name: str = "corp.test") -> dict[str, Any]:
    return {"name": name, "records": list(records)}


# --- the contract ----------------------------------------------------------------------------
def test_defaults_allow_the_appliance_and_private_networks_only() -> None:
    settings = CachingSettings()
    assert [str(r.network) for r in settings.access][:3] == ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]
    assert all(r.action == "allow" for r in settings.access)
    assert settings.dnssec_validation and settings.prefetch and not settings.forwarders
    assert (settings.msg_cache_mb, settings.rrset_cache_mb) == (32, 64)


def test_bad_fields_are_named() -> None:
    assert fields({"forwarders": [{"address": "198.51.100.1"}, {"address": "nope"}]}) == [
        "forwarders[1].address"
    ]
    assert fields({"forwarders": [{"address": "0.0.0.0"}]}) == ["forwarders[0].address"]
    assert fields({"forwarders": [{"address": "::1", "port": 0}]}) == ["forwarders[0].port"]
    assert fields({"access": [{"network": "198.51.100.1/24"}]}) == ["access[0].network"]
    assert fields({"access": [{"network": "198.51.100.0/24", "action": "maybe"}]}) == [
        "access[0].action"
    ]
    assert fields({"msg_cache_mb": 0}) == ["msg_cache_mb"]
    assert fields({"msg_cache_mb": "32"}) == ["msg_cache_mb"]  # no coercion
    assert fields({"colour": "blue"}) == ["colour"]
    assert fields({"local_zones": [zone("a.corp.test A 198.51.100.1", "b.corp.test A x")]}) == [
        "local_zones[0].records[1]"
    ]
    assert fields({"local_zones": [zone("a.corp.test ANY x")]}) == ["local_zones[0].records[0]"]
    assert fields({"stub_zones": [{"name": "bad..name", "servers": [{"address": "::1"}]}]}) == [
        "stub_zones[0].name"
    ]
    assert fields({"forward_first": True}) == ["forward_first"]
    assert fields({"cache_min_ttl": 3600, "cache_max_ttl": 600}) == ["cache_min_ttl"]


def test_duplicates_are_refused() -> None:
    servers = [{"address": "198.51.100.53"}]
    assert fields(
        {
            "forward_zones": [{"name": "a.test", "servers": servers}],
            "stub_zones": [{"name": "A.test.", "servers": servers}],
        }
    ) == ["stub_zones[0].name"]
    assert fields({"forward_zones": [{"name": ".", "servers": servers}]}) == [
        "forward_zones[0].name"
    ]
    assert fields({"local_zones": [zone(), zone(name="CORP.test.")]}) == ["local_zones[1].name"]
    assert fields({"access": [{"network": "198.51.100.0/24"}, {"network": "198.51.100.0/24"}]}) == [
        "access[1].network"
    ]
    assert fields({"forwarders": servers * 2}) == ["forwarders[1]"]
    assert fields({"insecure_domains": ["a.test", "A.TEST."]}) == ["insecure_domains[1]"]
    # The same data twice, whatever the TTLs.
    twice = zone("a.corp.test 60 A 198.51.100.1", "A.corp.test. IN A 198.51.100.1")
    assert fields({"local_zones": [twice]}) == ["local_zones[0].records[1]"]


def test_records_outside_their_zone_are_refused() -> None:
    outside = zone("a.corp.test A 198.51.100.1", "corp.test.evil A 198.51.100.2", "test AAAA ::1")
    assert fields({"local_zones": [outside]}) == [
        "local_zones[0].records[1]",
        "local_zones[0].records[2]",
    ]


def test_normal_form() -> None:
    settings = CachingSettings.model_validate(
        {
            "insecure_domains": ["Corp.TEST"],
            "local_zones": [
                zone(
                    "WWW.Corp.Test 60 in a 198.51.100.1",
                    "mx.corp.test MX 10 mail",
                    'txt.corp.test TXT "two  spaces" "say \\"hi\\"" caf\u00e9',
                    "corp.test IN 120 AAAA 2001:DB8::1",
                )
            ],
        }
    )
    assert settings.insecure_domains == ["corp.test."]
    assert settings.local_zones[0].name == "corp.test."
    assert settings.local_zones[0].records == [
        "www.corp.test. 60 IN A 198.51.100.1",
        "mx.corp.test. 3600 IN MX 10 mail.",  # names in the data are absolute
        'txt.corp.test. 3600 IN TXT "two  spaces" "say \\"hi\\"" "caf\\195\\169"',
        "corp.test. 120 IN AAAA 2001:db8::1",
    ]
    again = CachingSettings.model_validate(settings.model_dump(mode="json"))
    assert again == settings


def test_a_flush_names_its_field() -> None:
    assert CacheFlush.model_validate({"name": "WWW.corp.test"}).name == "www.corp.test."
    assert CacheFlush.model_validate({"name": "a.test", "type": "txt"}).type == "TXT"
    for body, field in (
        ({"name": "a..test"}, "name"),
        ({"name": "a.test", "type": "NOPE"}, "type"),
        ({"name": "a.test", "type": "TXT", "zone": True}, "type"),
    ):
        with pytest.raises(PydanticValidationError) as info:
            CacheFlush.model_validate(body)
        assert info.value.errors()[0]["loc"] == (field,)


# --- unbound.conf ----------------------------------------------------------------------------
def test_rendering(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    settings = CachingSettings.model_validate(
        {
            "forwarders": [{"address": "198.51.100.53"}, {"address": "2001:db8::53", "port": 5353}],
            "forward_zones": [{"name": "lab.test", "servers": [{"address": "198.51.100.54"}]}],
            "stub_zones": [{"name": "10.in-addr.arpa", "servers": [{"address": "198.51.100.55"}]}],
            "local_zones": [
                zone('it.corp.test TXT "it\'s"', "a.corp.test A 198.51.100.1"),
                {"name": "ads.example", "type": "always_nxdomain"},
            ],
            "access": [
                {"network": "198.51.100.0/24"},
                {"network": "0.0.0.0/0", "action": "refuse"},
            ],
            "dnssec_validation": False,
        }
    )
    text = unbound_conf_text(root, settings, threads=2, port=5300, user="")
    lines = [line.strip() for line in text.splitlines()]
    for line in (
        "port: 5300",
        "num-threads: 2",
        'module-config: "iterator"',
        "access-control: 198.51.100.0/24 allow",
        "access-control: 0.0.0.0/0 refuse",
        'local-zone: "lab.test." transparent',
        'local-zone: "10.in-addr.arpa." transparent',
        'local-zone: "corp.test." static',
        'local-zone: "ads.example." always_nxdomain',
        "local-data: 'it.corp.test. 3600 IN TXT \"it\\039s\"'",
        "forward-addr: 198.51.100.53",
        "forward-addr: 2001:db8::53@5353",
        "stub-addr: 198.51.100.55",
        "forward-first: no",
    ):
        assert line in lines, line
    assert "auto-trust-anchor-file" not in text
    # Unbound takes it (write_config makes the folders unbound-checkconf looks for).
    assert write_config(root, settings, threads=2, port=5300, user="") == text
    assert 'auto-trust-anchor-file: "' in unbound_conf_text(root, CachingSettings())


def test_unbound_listens_on_the_addresses_given_in_a_steady_order(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    given = ["2001:db8::7", "198.51.100.9", "fe80::1%eth0", "::1", "127.0.0.1", "198.51.100.10"]
    text = unbound_conf_text(root, CachingSettings(), user="", addresses=given)
    listen = [
        "interface-automatic: no",
        "ip-freebind: yes",
        "interface: 127.0.0.1",
        "interface: 198.51.100.9",
        "interface: 198.51.100.10",
        "interface: ::1",
        "interface: 2001:db8::7",
        "interface: fe80::1%eth0",
    ]
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index(listen[0])
    assert lines[start : start + len(listen)] == listen
    assert conf_addresses(text) == [line.split(": ")[1] for line in listen[2:]]
    # The same set in another order, repeated: the same text.
    again = unbound_conf_text(root, CachingSettings(), user="", addresses=given[::-1] + given)
    assert again == text
    assert write_config(root, CachingSettings(), user="", addresses=given) == text  # Unbound's
    # No address: every address, through interface-automatic.
    every = unbound_conf_text(root, CachingSettings(), user="", addresses=[])
    assert "interface-automatic: yes" in every and "    interface:" not in every
    assert conf_addresses(every) is None
    with pytest.raises(ValidationError):
        write_config(root, CachingSettings(), user="", addresses=["eth0"])
    with pytest.raises(ValidationError):
        write_config(root, CachingSettings(), user="", addresses=['fe80::1%"eth0'])
    with pytest.raises(ValidationError):
        write_config(root, CachingSettings(), user="", addresses=["fe80::1%"])


def test_the_addresses_are_read_from_the_kernel(tmp_path: Path) -> None:
    """This machine's interfaces that are up: loopback's two at least, link-local ones with
    their interface; the defaults render them."""
    found = interface_addresses()
    assert found is not None and {"127.0.0.1", "::1"} <= set(found)
    assert all("%" in a for a in found if a.startswith("fe80:"))
    text = unbound_conf_text(StateRoot.at(tmp_path), CachingSettings(), user="")
    assert conf_addresses(text) == found
    assert interface_addresses("no-such-namespace-here") is None


def test_what_cannot_be_written_is_refused() -> None:
    with pytest.raises(ValueError):
        local_data('a.test. 3600 IN TXT "caf\u00e9"')
    with pytest.raises(ValueError):
        local_data('a.test. 3600 IN TXT "a\nb"')
    assert local_data('a.test. 3600 IN TXT "don\'t"') == "'a.test. 3600 IN TXT \"don\\039t\"'"


def test_unbound_checkconf_refusal_names_the_record(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    settings = CachingSettings.model_validate(
        {"local_zones": [zone("a.corp.test A 198.51.100.1", 'w.corp.test WALLET "x" "y"')]}
    )
    with pytest.raises(ValidationError) as info:
        write_config(root, settings, user="")
    assert info.value.field == "local_zones[0].records[1]"
    assert "Unbound refuses" in info.value.message and "WALLET" in info.value.message
    assert not root.unbound_conf.exists()
    write_config(root, CachingSettings(), user="")
    assert root.unbound_conf.exists()


# --- counters --------------------------------------------------------------------------------
STATS = """thread0.num.queries=9
total.num.queries=12
total.num.cachehits=7
total.num.cachemiss=5
total.num.prefetch=1
total.num.recursivereplies=5
total.requestlist.avg=0.25
total.recursion.time.avg=0.012500
time.up=42.5
num.answer.rcode.NOERROR=10
num.answer.rcode.NXDOMAIN=2
num.answer.secure=3
msg.cache.count=6
rrset.cache.count=11
not a counter
histogram.000000.000000.to.000000.000001=0
"""


def test_stats_are_read_from_unbound_control() -> None:
    stats = cache_stats(parse_stats(STATS))
    assert (stats.queries, stats.cache_hits, stats.cache_misses) == (12, 7, 5)
    assert (stats.prefetches, stats.recursive_replies) == (1, 5)
    assert stats.rcodes == {"NOERROR": 10, "NXDOMAIN": 2}
    assert (stats.requestlist_avg, stats.recursion_time_avg, stats.uptime_seconds) == (
        0.25,
        0.0125,
        42.5,
    )
    assert (stats.msg_cache_count, stats.rrset_cache_count) == (6, 11)
    assert (stats.answers_secure, stats.answers_bogus) == (3, 0)
    assert stats.raw["thread0.num.queries"] == 9 and "not a counter" not in stats.raw


# --- the agent over an Unbound that fails ----------------------------------------------------
class FailingUnbound(UnboundControl):
    """Answers like Unbound, except that ``reload_keep_cache`` fails ``fail_reloads`` times."""

    def __init__(self, root: StateRoot, fail_reloads: int) -> None:
        super().__init__(root)
        self.fail_reloads = fail_reloads
        self.commands: list[tuple[str, ...]] = []

    def command(self, *args: str) -> str:
        self.commands.append(args)
        if args[0] == "reload_keep_cache" and self.fail_reloads:
            self.fail_reloads -= 1
            raise DaemonError("Unbound refused reload_keep_cache: error: it broke")
        if args[0].startswith("flush"):
            return "ok removed 1 rrsets, 1 messages and 0 key entries"
        return "version: 1.17.1\nuptime: 5 seconds"


@pytest.mark.parametrize("fail_reloads", [1, 2])
def test_a_failed_reload_puts_the_previous_settings_back(tmp_path: Path, fail_reloads: int) -> None:
    root = StateRoot.at(tmp_path)
    before = CachingSettings.model_validate({"forwarders": [{"address": "198.51.100.53"}]})
    write_config(root, before, user="")
    before.save(root.caching_settings)
    conf, stored = root.unbound_conf.read_bytes(), root.caching_settings.read_bytes()
    control = FailingUnbound(root, fail_reloads)
    service = CachingService(root, user="", control=control)

    after = CachingSettings.model_validate({"forwarders": [{"address": "198.51.100.54"}]})
    with pytest.raises(DaemonError) as info:
        service.put_settings(after)
    assert "did not take the new settings" in info.value.message
    if fail_reloads == 1:
        assert info.value.message.endswith("The previous settings are back in use.")
    else:
        assert "takes them when it starts again" in info.value.message
    assert root.unbound_conf.read_bytes() == conf
    assert root.caching_settings.read_bytes() == stored
    assert [c[0] for c in control.commands].count("reload_keep_cache") == 2
    assert service.settings() == before


def test_new_addresses_restart_unbound_and_a_failed_restart_puts_the_conf_back(
    tmp_path: Path,
) -> None:
    root = StateRoot.at(tmp_path)
    addresses = ["127.0.0.1", "198.51.100.5"]
    write_config(root, CachingSettings(), user="", addresses=addresses)
    restarts: list[list[str] | None] = []

    def restart() -> None:
        restarts.append(conf_addresses(root.unbound_conf.read_text()))
        if len(restarts) == 1:
            raise OSError("it broke")

    service = CachingService(
        root,
        user="",
        control=FailingUnbound(root, 0),
        addresses=lambda: list(addresses),
        restart=restart,
    )
    assert not service.follow_addresses() and not restarts  # the same set: nothing to do
    addresses.append("198.51.100.6")
    # A settings change reloads: Unbound would not listen anew, the addresses stay.
    service.put_settings(CachingSettings(prefetch=False))
    assert service.listening() == ["127.0.0.1", "198.51.100.5"]
    with pytest.raises(OSError):
        service.follow_addresses()
    assert restarts == [addresses, ["127.0.0.1", "198.51.100.5"]]
    assert service.listening() == ["127.0.0.1", "198.51.100.5"]
    assert service.follow_addresses() and restarts[-1] == addresses
    assert service.listening() == addresses
    assert "prefetch: no" in root.unbound_conf.read_text()  # the stored settings, rendered


def test_a_flush_of_a_name_covers_the_common_types(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    control = FailingUnbound(root, 0)
    service = CachingService(root, control=control)
    service.flush(CacheFlush(name="www.corp.test"))
    assert control.commands[0] == ("flush", "www.corp.test.")
    assert ("flush_type", "www.corp.test.", "TXT") in control.commands
    control.commands.clear()
    done = service.flush(CacheFlush(name="corp.test", zone=True, negative=True))
    assert control.commands == [("flush_zone", "corp.test."), ("flush_negative",)]
    assert done.zone and done.detail.count("ok removed") == 2


def test_the_agent_app(tmp_path: Path) -> None:
    """``build`` as the agent runs it, with no Unbound at all: settings are read, bad ones
    refused with their fields, and health says Unbound does not answer."""
    http = AppClient(build(StateRoot.at(tmp_path)))
    assert http.get("/caching/settings").json() == CachingSettings().model_dump(mode="json")
    daemon = http.get("/health").json()["daemon"]
    assert daemon["status"] == "unreachable"
    bad = {
        "forwarders": [{"address": "x"}],
        "access": [{"network": str(ipaddress.ip_network("198.51.100.0/24")), "action": "no"}],
    }
    problem = assert_problem(http.put("/caching/settings", json=bad), 422, "forwarders[0].address")
    assert "access[0].action" in [p["field"] for p in problem["problems"]]
    assert_problem(http.post("/caching/flush", json={"name": "a.test", "extra": 1}), 422, "extra")
    assert http.get("/caching/stats").status_code == 503
    itself = {"forwarders": [{"address": "198.51.100.53"}, {"address": "127.0.0.1"}]}
    problem = assert_problem(
        http.put("/caching/settings", json=itself), 422, "forwarders[1].address"
    )
    assert "ask itself" in problem["detail"] and len(problem["problems"]) == 1
    elsewhere = {"forwarders": [{"address": "127.0.0.1", "port": 5353}]}
    assert http.put("/caching/settings", json=elsewhere).status_code == 503  # no Unbound here
