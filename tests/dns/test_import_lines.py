"""A zone file with many bad entries is refused whole, with every problem at once, each at its
line, in the order of the file: one round trip, not one per mistake."""

from __future__ import annotations

import pytest

from services.sandbox.sandbox import Sandbox
from tests.dns.conftest import Agent, answer_set
from tests.harness.problems import assert_problem

pytestmark = pytest.mark.sandbox

#: A zone file whose entries are good or bad as their comment says; (line, words) below.
ZONE_FILE = """\
$ORIGIN many.test.
$TTL 300
@       IN SOA ns1 hostmaster ( 2024010101 ; serial
                3600 900 1209600 300 )
@       IN NS    ns1
ns1     IN A     198.51.100.53
bad1    IN A     198.51.100.300          ; not an address
bad2    IN AAAA  2001:db8::zz            ; not an address
bad3    IN MX    mail                    ; no preference
bad4    IN BOGUS x                       ; no such type
bad5    CH TXT   "chaos"                 ; another class
bad6    IN TXT   "unterminated           ; quote not closed
bad7 99999999999 IN A 198.51.100.7       ; TTL too large
outside.example. IN A 198.51.100.8       ; outside the zone
$INCLUDE /etc/passwd
nons    IN DS    1 8 1 0123456789abcdef0123456789abcdef01234567 ; a DS without NS
www     IN CNAME ns1                    ; beside other data
www     IN A     198.51.100.10
a..b    IN A     198.51.100.11           ; empty label
tlsa    IN TLSA  3 1 1 abcd              ; digest too short
good    IN A     198.51.100.12
"""

EXPECTED = [
    (7, "IPv4"),
    (8, "IPv6"),
    (9, "number"),
    (10, "not a record type"),
    (11, "class CH"),
    (12, "quote"),
    (13, "TTL"),
    (14, "outside the zone"),
    (15, "$INCLUDE"),
    (16, "no NS records"),
    (17, "CNAME"),
    (19, "empty label"),
    (20, "association data"),
]


def test_every_bad_line_is_answered_with_its_number(agent: Agent, shared_sandbox: Sandbox) -> None:
    response = agent.post("/zones/import", {"name": "many.test", "text": ZONE_FILE})
    problem = assert_problem(response, 422)
    items = problem["problems"]
    assert [(p["line"], p["field"]) for p in items] == [
        (line, f"line {line}") for line, _ in EXPECTED
    ], items
    for item, (line, words) in zip(items, EXPECTED, strict=True):
        assert words in item["message"], (line, item)
    assert problem["detail"].startswith("line 7: ")
    assert f"(and {len(EXPECTED) - 1} more problems)" in problem["detail"]
    # Nothing was made.
    assert_problem(agent.get("/zones/many.test."), 404)
    assert not answer_set(shared_sandbox, "good.many.test.", "A")


def test_the_same_file_mended_is_taken(agent: Agent, shared_sandbox: Sandbox) -> None:
    bad = {line for line, _ in EXPECTED}
    lines = ZONE_FILE.splitlines()
    mended = "\n".join(text for number, text in enumerate(lines, 1) if number not in bad)
    agent.ok(agent.post("/zones/import", {"name": "many.test", "text": mended + "\n"}))
    try:
        assert answer_set(shared_sandbox, "good.many.test.", "A")
    finally:
        agent.http.delete("/zones/many.test.")


def test_a_refusal_of_named_checkzone_names_the_line(agent: Agent) -> None:
    """named-checkzone refuses an apex NS whose in-zone name server has no address; the agent
    names the line of that NS record."""
    text = (
        "$TTL 300\n@ IN SOA ns1.lame.test. h.lame.test. 1 3600 900 1209600 300\n"
        "@ IN NS ns1\nns1 IN A 198.51.100.53\n@ IN NS ns2\n"
    )
    problem = assert_problem(agent.post("/zones/import", {"name": "lame.test", "text": text}), 422)
    assert [p["field"] for p in problem["problems"]] == ["line 5"]
    assert "name server ns2.lame.test." in problem["problems"][0]["message"]
    assert_problem(agent.get("/zones/lame.test."), 404)
