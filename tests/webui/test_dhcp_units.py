"""The DHCP pages' own parts without a browser: options written one a line, leases in words,
and Central's counted lease listing over several of the agent's pages (a fake agent)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from central.dhcp import routes
from services.common.dhcp.contract import Lease, LeasePage
from webui.forms import Reader
from webui.pages.dhcp import expires, lease_state, options_of, options_text

NOW = 1_800_000_000


def test_options_one_a_line_keep_what_the_form_does_not_show() -> None:
    current = [
        {"name": "routers", "data": "198.51.100.1", "always_send": True, "space": "dhcp4"},
        {"code": 224, "data": "01"},
    ]
    text = options_text(current)
    assert text == "routers = 198.51.100.1\n224 = 01"
    read = Reader({"options": "routers = 198.51.100.2\n\n# a note\n224=02\ndomain-name = a.b"})
    assert options_of(read, "options", current) == [
        {"name": "routers", "data": "198.51.100.2", "always_send": True, "space": "dhcp4"},
        {"code": 224, "data": "02"},
        {"name": "domain-name", "data": "a.b"},
    ]
    assert not read.errors


def test_a_line_that_is_no_option_is_named_by_its_line() -> None:
    read = Reader({"options": "routers = 198.51.100.1\nnonsense\nmy option = 1"})
    options_of(read, "options", [])
    said = read.errors["options"]
    assert "line 2: “nonsense” is not an option" in said
    assert "line 3:" in said
    assert "routers = 198.51.100.1" in said  # the example, in the message's own words


def test_lease_times_and_states_in_words() -> None:
    assert expires(NOW + 7500, now=NOW) == ("in 2 h 5 min", "2027-01-15 10:05 UTC")
    assert expires(NOW - 30, now=NOW)[0] == "30 s ago"
    assert expires(NOW + 3 * 86400 + 3600, now=NOW)[0] == "in 3 days 1 h"
    assert expires(None) == ("", "")

    def lease(state: int, ends: int | None = None) -> Lease:
        return Lease(address="198.51.100.5", subnet_id=1, state=state, expires=ends)

    assert lease_state(lease(0, NOW + 60), now=NOW) == "assigned"
    assert lease_state(lease(0, NOW - 60), now=NOW) == "expired"
    assert lease_state(lease(1, NOW + 60), now=NOW) == "declined"
    assert lease_state(lease(2), now=NOW) == "expired and reclaimed"
    assert lease_state(lease(7), now=NOW) == "state 7"


class PagedAgent:
    """Leases a page at a time as the dhcp-agent answers them (``from``, ``next``)."""

    def __init__(self, count: int) -> None:
        self.all = [Lease(address=f"10.0.{i // 256}.{i % 256}", subnet_id=1) for i in range(count)]
        self.calls = 0

    def leases(self, _family: Any, start: str | None, limit: int) -> LeasePage:
        self.calls += 1
        at = 0 if start is None else [x.address for x in self.all].index(start) + 1
        page = self.all[at : at + limit]
        more = at + limit < len(self.all)
        return LeasePage(leases=page, next=page[-1].address if more else None)

    def call(self, method: str, path: str) -> Any:
        assert method == "GET" and path.startswith("/dhcp/v4/leases?")
        query = dict(urllib.parse.parse_qsl(path.split("?", 1)[1]))
        page = self.leases("v4", query.get("from"), int(query["limit"]))
        return page.model_dump(mode="json")


def test_counted_leases_over_several_agent_pages() -> None:
    agent = PagedAgent(2_345)
    count = routes._counted_leases
    answer = count(agent, "v4", 990, 20, server_id=901)  # type: ignore[arg-type]
    assert answer.total == 2_345 and answer.offset == 990
    assert [x.address for x in answer.items] == [x.address for x in agent.all[990:1010]]
    assert agent.calls == 3 + 1  # the count's three pages, then the page asked
    # A jump within COUNT_KEPT reads its page alone, from the address before it.
    last = count(agent, "v4", 2_340, 50, server_id=901)  # type: ignore[arg-type]
    assert [x.address for x in last.items] == [x.address for x in agent.all[2_340:]]
    assert agent.calls == 5
    beyond = count(agent, "v4", 5_000, 50, server_id=901)  # type: ignore[arg-type]
    assert beyond.items == [] and beyond.total == 2_345
    # A lease added or deleted through Central has the next page count again.
    routes.forget_count(901, "v4")
    count(agent, "v4", 0, 50, server_id=901)  # type: ignore[arg-type]
    assert agent.calls == 5 + 3 + 1
    empty = count(PagedAgent(0), "v4", 0, 50, server_id=902)  # type: ignore[arg-type]
    assert empty.total == 0 and empty.items == []
    routes.forget_count(901, "v4")
    routes.forget_count(902, "v4")
