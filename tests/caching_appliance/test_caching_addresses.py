"""A caching appliance's Unbound follows its addresses through the real dns-agent and
supervisord: an extra address added to the appliance's interface is answered on, from itself,
within seconds, and once removed it leaves unbound.conf again (the lab test in
tests/caching/test_unbound.py covers several addresses and the cache kept)."""

from __future__ import annotations

import json
from typing import Any

import dns.message
import dns.query
import dns.rcode
import pytest

from services.common.caching.conf import conf_addresses
from services.common.proc import run
from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def test_an_extra_address_is_answered_on_from_itself(caching_sandbox: Sandbox) -> None:
    box = caching_sandbox
    links: list[dict[str, Any]] = json.loads(run(["ip", "-n", box.ns, "-j", "address"]).stdout)
    device = next(
        link["ifname"]
        for link in links
        for info in link.get("addr_info", [])
        if info.get("local") == box.address
    )
    extra = str(box.network[-2])  # the network's last host: no sandbox or client takes it
    cidr = f"{extra}/{box.network.prefixlen}"
    query = dns.message.make_query("localhost.", "A")
    pid = box.supervisor().pid("unbound")

    def listened() -> list[str]:
        return conf_addresses(box.root.unbound_conf.read_text()) or []

    def answers_at(address: str) -> bool:
        # dnspython takes only a reply from the address it asked (UnexpectedSource otherwise).
        return dns.query.udp(query, address, timeout=1).rcode() == dns.rcode.NOERROR

    def restarted_from(old: int) -> bool:
        info = box.supervisor().process("unbound")
        return info["statename"] == "RUNNING" and info["pid"] != old and answers_at(box.address)

    run(["ip", "-n", box.ns, "address", "add", cidr, "dev", device])
    running = pid
    try:
        wait_for(lambda: answers_at(extra), timeout=30, interval=0.2, what="an answer at " + extra)
        assert extra in listened() and box.address in listened()
        running = box.supervisor().pid("unbound")
        assert running != pid  # restarted to listen anew
        assert answers_at(box.address)
    finally:
        run(["ip", "-n", box.ns, "address", "del", cidr, "dev", device], check=False)
        wait_for(lambda: extra not in listened(), timeout=30, interval=0.2, what="unbound.conf")
        # Restarted once more, and answering, before the next test asks it anything.
        wait_for(lambda: restarted_from(running), timeout=30, interval=0.2, what="a restart")
