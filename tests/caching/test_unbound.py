"""The caching appliance's dns-agent against a real Unbound and a real stock named, in
network namespaces of the test's own (``tests.harness.caching_lab``): forwarders answer
through Unbound, a local zone is answered by Unbound itself, access control refuses a client
outside the allowed networks, a settings change keeps the cache, a flush makes the next
answer come from the forwarder again, a refused change changes nothing, the counters count,
and Unbound follows the addresses of its interfaces, answering from each."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import dns.message
import dns.rcode
import dns.rdatatype
import pytest
from fastapi import FastAPI

from services.caching.__main__ import unbound_status
from services.caching.addresses import AddressWatch, open_netlink
from services.caching.api import install
from services.caching.service import CachingService
from services.common.agent import agent_app
from services.common.caching.client import CachingAgentClient
from services.common.caching.conf import ensure_trust_anchor, interface_addresses, write_config
from services.common.caching.contract import CacheFlush, CachingSettings
from services.common.proc import run
from tests.conftest import PREFIX, _need_root
from tests.harness.caching_lab import ALLOWED, NAMED, NETWORK, UNBOUND, CachingLab
from tests.harness.netns import call_in
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for
from tests.unit.test_dhcp_agent import AppClient
from tests.unit.test_dhcp_client import AppTransport

pytestmark = pytest.mark.sandbox

#: The lab's settings: every query forwarded to the stock named, which serves fwd.example (not
#: delegated from the root: insecure for DNSSEC validation, which stays on); a local zone;
#: the allowed client's network and the appliance itself may ask.
BASE = {
    "forwarders": [{"address": str(NAMED)}],
    "forward_zones": [{"name": "lab.test", "servers": [{"address": str(NAMED)}]}],
    "insecure_domains": ["fwd.example", "lab.test"],
    "local_zones": [
        {
            "name": "corp.test",
            "records": [
                "host.corp.test 600 A 198.51.100.77",
                'note.corp.test TXT "say \\"hi\\"" "it\'s; #not a comment"',
            ],
        }
    ],
    "access": [{"network": f"{ALLOWED}/28".replace(".10/", ".0/")}, {"network": "127.0.0.0/8"}],
}
SETTINGS = CachingSettings.model_validate(BASE)
_names = itertools.count()


@pytest.fixture(scope="module")
def lab() -> Iterator[CachingLab]:
    _need_root()
    with CachingLab(PREFIX) as made:
        made.start_named()
        ensure_trust_anchor(made.root)
        # As burrow-launch does at a start, but without the drop to the unbound user (the
        # test's own files are root's only); listening on the addresses of Unbound's namespace.
        write_config(
            made.root, SETTINGS, user="", threads=1, addresses=interface_addresses(made.server)
        )
        SETTINGS.save(made.root.caching_settings)
        made.start_unbound()
        yield made


@pytest.fixture(scope="module")
def app(lab: CachingLab) -> FastAPI:
    """The dns-agent's application as ``services.caching.__main__.build`` makes it (less its
    TLS listener), with the lab's Unbound options."""
    made = agent_app("dns-agent", lab.root, unbound_status, marks_changes=True)
    install(made, CachingService(lab.root, user="", threads=1))
    return made


@pytest.fixture(scope="module")
def agent(app: FastAPI) -> Iterator[CachingAgentClient]:
    with CachingAgentClient(AppTransport(app)) as client:
        yield client


def answers(message: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in message.answer for rd in rrset)


def test_forwarders_answer_through_unbound(lab: CachingLab, agent: CachingAgentClient) -> None:
    reply = lab.query("www.fwd.example.", "A")
    assert reply.rcode() == dns.rcode.NOERROR
    assert answers(reply) == ["198.51.100.80"]
    assert reply.flags & dns.flags.RA and not reply.flags & dns.flags.AA
    # A forward zone under test., which Unbound would otherwise answer itself (NXDOMAIN).
    assert answers(lab.query("www.lab.test.", "A")) == ["198.51.100.80"]
    health = agent.health()
    assert health.daemon is not None and health.daemon["status"] == "running"
    assert health.daemon["version"] == "1.17.1" or health.daemon["version"].startswith("1.")
    where = agent.lookup("www.fwd.example")
    assert any("forward" in line for line in where.lines), where
    assert agent.get_settings() == SETTINGS


def test_a_local_zone_is_answered_by_unbound(lab: CachingLab) -> None:
    reply = lab.query("host.corp.test.", "A")
    assert answers(reply) == ["198.51.100.77"] and reply.answer[0].ttl <= 600
    assert reply.flags & dns.flags.AA  # Unbound's own data, not the forwarder's
    txt = lab.query("note.corp.test.", "TXT")
    strings = [s for rrset in txt.answer for rd in rrset for s in rd.strings]
    assert strings == [b'say "hi"', b"it's; #not a comment"]
    missing = lab.query("nothing.corp.test.", "A")  # a static zone: nothing else exists
    assert missing.rcode() == dns.rcode.NXDOMAIN


def test_access_control_refuses_an_outsider(lab: CachingLab) -> None:
    refused = lab.query("www.fwd.example.", "A", ns=lab.outsider)
    assert refused.rcode() == dns.rcode.REFUSED and not refused.answer
    allowed = lab.query("www.fwd.example.", "A")
    assert allowed.rcode() == dns.rcode.NOERROR and answers(allowed) == ["198.51.100.80"]


def test_a_settings_change_keeps_the_cache_and_a_flush_asks_the_forwarder(
    lab: CachingLab, agent: CachingAgentClient
) -> None:
    try:
        assert answers(lab.query("txt.fwd.example.", "TXT")) == ['"first"']
        lab.change_at_named("txt.fwd.example.", "TXT", '"second"')
        assert answers(lab.ask_named("txt.fwd.example.", "TXT")) == ['"second"']
        assert answers(lab.query("txt.fwd.example.", "TXT")) == ['"first"']  # from the cache

        changed = SETTINGS.model_copy(deep=True)
        changed.local_zones[0].records.append("new.corp.test. 3600 IN A 198.51.100.78")
        assert agent.put_settings(changed) == changed
        assert answers(lab.query("new.corp.test.", "A")) == ["198.51.100.78"]
        # reload_keep_cache: the cached answer survived the reload.
        assert answers(lab.query("txt.fwd.example.", "TXT")) == ['"first"']

        flushed = agent.flush(CacheFlush(name="txt.fwd.example"))
        assert flushed.name == "txt.fwd.example." and not flushed.zone
        assert answers(lab.query("txt.fwd.example.", "TXT")) == ['"second"']

        # A zone flush: every name at and below fwd.example asks the forwarder again.
        assert answers(lab.query("www.fwd.example.", "A")) == ["198.51.100.80"]
        lab.change_at_named("www.fwd.example.", "A", "198.51.100.81")
        assert answers(lab.query("www.fwd.example.", "A")) == ["198.51.100.80"]
        zone = agent.flush(CacheFlush(name="fwd.example", zone=True))
        assert zone.zone and zone.detail.startswith("ok removed")
        assert answers(lab.query("www.fwd.example.", "A")) == ["198.51.100.81"]
        assert answers(lab.query("txt.fwd.example.", "TXT")) == ['"second"']
    finally:
        lab.change_at_named("txt.fwd.example.", "TXT", '"first"')
        lab.change_at_named("www.fwd.example.", "A", "198.51.100.80")
        agent.put_settings(SETTINGS)
        agent.flush(CacheFlush(name="fwd.example", zone=True))


def test_a_refused_change_changes_nothing(lab: CachingLab, app: FastAPI) -> None:
    http = AppClient(app)
    stored = lab.root.caching_settings.read_bytes()
    conf = lab.root.unbound_conf.read_bytes()

    outside = {
        **BASE,
        "local_zones": [{"name": "corp.test", "records": ["a.other.test A 198.51.100.5"]}],
    }
    problem = assert_problem(
        http.put("/caching/settings", json=outside), 422, "local_zones[0].records[0]"
    )
    assert "not in the zone corp.test." in problem["problems"][0]["message"]

    # Valid for the contract, refused by unbound-checkconf (Unbound 1.17 knows no WALLET).
    wallet = {
        **BASE,
        "local_zones": [
            {
                "name": "corp.test",
                "records": ["host.corp.test A 198.51.100.9", 'w.corp.test WALLET "x" "y"'],
            }
        ],
    }
    problem = assert_problem(
        http.put("/caching/settings", json=wallet), 422, "local_zones[0].records[1]"
    )
    assert "Unbound refuses" in problem["detail"]

    assert_problem(
        http.put("/caching/settings", json={**BASE, "msg_cache_mb": 0}), 422, "msg_cache_mb"
    )
    assert_problem(http.post("/caching/flush", json={"name": "bad..name"}), 422, "name")
    assert_problem(http.get("/caching/lookup?name=bad..name"), 422, "name")

    assert lab.root.caching_settings.read_bytes() == stored
    assert lab.root.unbound_conf.read_bytes() == conf
    assert answers(lab.query("host.corp.test.", "A")) == ["198.51.100.77"]
    assert lab.query("new.corp.test.", "A").rcode() == dns.rcode.NXDOMAIN


def test_stats_count_queries_and_cache_hits(lab: CachingLab, agent: CachingAgentClient) -> None:
    name = f"stats-{next(_names)}.fwd.example."
    before = agent.stats()
    first = lab.query(name, "A")
    second = lab.query(name, "A")
    assert first.rcode() == second.rcode() == dns.rcode.NXDOMAIN
    assert lab.query(name, "A", ns=lab.outsider).rcode() == dns.rcode.REFUSED
    after = agent.stats()
    assert after.queries - before.queries == 2  # the refused query is not counted
    assert after.cache_misses - before.cache_misses == 1  # asked the forwarder
    assert after.cache_hits - before.cache_hits == 1  # the negative answer, from the cache
    assert after.rcodes["NXDOMAIN"] - before.rcodes["NXDOMAIN"] == 2
    assert after.raw["total.num.queries"] == after.queries
    assert after.uptime_seconds >= before.uptime_seconds > 0


def test_unbound_follows_the_addresses_of_its_interface(lab: CachingLab) -> None:
    """Addresses added to Unbound's interface after it started are answered on, each from
    itself (dnspython takes only a reply from the address it asked), the cache kept; an
    address removed is no longer listened on."""
    service = CachingService(
        lab.root,
        user="",
        threads=1,
        addresses=lambda: interface_addresses(lab.server),
        restart=lab.restart_unbound,
    )
    watch = AddressWatch(
        service.follow_addresses, subscribe=lambda: call_in(lab.server, open_netlink)
    )
    second, third = str(NETWORK[2]), str(NETWORK[3])

    def settled(on: set[str], off: set[str] | None = None) -> bool:
        """No restart under way (the lock is taken until the cache is loaded back) and
        Unbound listens on ``on``, not on ``off``."""
        if service.lock.locked():
            return False
        now = lab.listening()
        return on <= now and not (off or set()) & now

    def address(verb: str, ip: str) -> None:
        run(["ip", "-n", lab.server, "addr", verb, f"{ip}/{NETWORK.prefixlen}", "dev", "br0"])

    def answers_at(ip: str) -> bool:
        return answers(lab.query("host.corp.test.", "A", at=ip)) == ["198.51.100.77"]

    added: list[str] = []
    watch.start()
    try:
        wait_for(lambda: service.listening() == interface_addresses(lab.server), timeout=30,
                 what="unbound.conf to name the namespace's addresses")  # fmt: skip
        assert answers(lab.query("txt.fwd.example.", "TXT")) == ['"first"']
        lab.change_at_named("txt.fwd.example.", "TXT", '"second"')
        for ip in (second, third):  # two more addresses on the one interface
            address("add", ip)
            added.append(ip)
        wait_for(lambda: settled({second, third}), timeout=30, interval=0.2,
                 what="Unbound to listen on the added addresses")  # fmt: skip
        for ip in (str(UNBOUND), second, third):
            assert answers_at(ip), ip
        # Restarted to listen anew, with the cache dumped and loaded back: still the old TXT.
        assert answers(lab.query("txt.fwd.example.", "TXT", at=third)) == ['"first"']

        address("del", second)
        added.remove(second)
        wait_for(lambda: settled({str(UNBOUND), third}, {second}), timeout=30, interval=0.2,
                 what="Unbound to stop listening on the removed address")  # fmt: skip
        assert second not in (service.listening() or [])
        assert answers_at(str(UNBOUND)) and answers_at(third)
    finally:
        for ip in added:
            address("del", ip)
        wait_for(lambda: service.listening() == interface_addresses(lab.server), timeout=30,
                 what="Unbound back on the namespace's addresses")  # fmt: skip
        watch.stop()
        lab.change_at_named("txt.fwd.example.", "TXT", '"first"')
        service.flush(CacheFlush(name="fwd.example", zone=True))
