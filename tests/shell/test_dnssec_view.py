"""The diag-shell's ``dnssec`` view of a signed zone: key states and DS records, read-only."""

from __future__ import annotations

import pytest

from tests.dns.conftest import Agent
from tests.harness.wait import wait_for
from tests.shell.client import Diag

pytestmark = pytest.mark.sandbox


def test_dnssec_view(diag: Diag) -> None:
    agent = Agent(diag.box)
    zone = "shellsigned.test."
    agent.create_zone(zone, dnssec_policy="default")
    try:
        ds = wait_for(
            lambda: agent.ok(agent.get(f"/zones/{zone}/dnssec"))["ds"],
            timeout=30, what="the zone signed",
        )  # fmt: skip
        result = diag.run("dnssec shellsigned.test")
        assert result.rc == 0, result.out + result.err
        assert "dnssec-policy: default" in result.out and "CSK" in result.out
        assert f"{zone} IN DS {ds[0]}" in result.out
        unsigned = diag.run("dnssec burrow.example")
        assert unsigned.rc != 0 and "not signed" in unsigned.out, unsigned
        refused = diag.run("dnssec shellsigned.test -rollover")
        assert refused.rc != 0 and "usage: dnssec ZONE" in refused.out + refused.err
    finally:
        agent.http.delete(f"/zones/{zone}")
        agent.close()
