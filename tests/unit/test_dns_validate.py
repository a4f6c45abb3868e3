"""Checks of whole change sets against a zone: every problem at once, naming change and field."""

from __future__ import annotations

from typing import Any

import dns.name
import pytest

from services.common.dns.contract import Change
from services.common.dns.records import Record
from services.common.dns.validate import RecordValidationError, plan_changes

ORIGIN = dns.name.from_text("example.test.")


def change(action: str, name: str, rtype: str, data: str, **extra: Any) -> Change:
    return Change.model_validate(
        {"action": action, "record": {"name": name, "type": rtype, "data": data}, **extra}
    )


def base() -> list[Record]:
    plan = plan_changes(
        ORIGIN,
        [],
        [
            change("create", "@", "NS", "ns1"),
            change("create", "ns1", "A", "192.0.2.53"),
            change("create", "www", "A", "192.0.2.80"),
        ],
        300,
    )
    return list(plan.result.values())


def problems(changes: list[Change], existing: list[Record] | None = None) -> list[tuple[str, str]]:
    with pytest.raises(RecordValidationError) as info:
        plan_changes(ORIGIN, base() if existing is None else existing, changes, 300)
    return [(p.field, p.message) for p in info.value.problems]


def test_a_clean_plan() -> None:
    plan = plan_changes(
        ORIGIN,
        base(),
        [change("create", "mail", "A", "192.0.2.25"), change("delete", "www", "A", "192.0.2.80")],
        300,
    )
    assert [r.line() for r in plan.adds] == ["mail.example.test. 300 IN A 192.0.2.25"]
    assert [r.line() for r in plan.deletes] == ["www.example.test. 300 IN A 192.0.2.80"]
    assert len(plan.result) == 3


def test_every_problem_is_reported_with_its_field() -> None:
    found = problems(
        [
            change("create", "ok", "A", "192.0.2.1"),
            change("create", "bad", "A", "999.0.0.1"),
            change("create", "x.elsewhere.", "A", "192.0.2.1"),
            change("create", "www", "A", "192.0.2.80"),
            change("delete", "gone", "A", "192.0.2.1"),
            change("create", "t", "RRSIG", "a b"),
        ]
    )
    fields = [f for f, _ in found]
    assert fields == [
        "changes[1].record.data",
        "changes[2].record.name",
        "changes[3].record",
        "changes[4].record",
        "changes[5].record.type",
    ]
    assert "outside the zone" in found[1][1]
    assert "already exists" in found[2][1]


def test_the_error_names_the_first_problem() -> None:
    with pytest.raises(RecordValidationError) as info:
        plan_changes(
            ORIGIN,
            base(),
            [change("create", "b", "AAAA", "x"), change("create", "c", "AAAA", "y")],
            300,
        )
    assert info.value.field == "changes[0].record.data"
    assert "and 1 more" in info.value.message
    assert info.value.status == 422


def test_duplicates_within_one_request() -> None:
    found = problems(
        [change("create", "d", "A", "192.0.2.1"), change("create", "d", "A", "192.0.2.1")]
    )
    assert found == [("changes[1].record", found[0][1])]
    assert "already exists" in found[0][1]


def test_cname_exclusivity() -> None:
    assert "only data" in problems([change("create", "www", "CNAME", "elsewhere.net.")])[0][1]
    found = problems(
        [change("create", "c", "CNAME", "a.net."), change("create", "c", "CNAME", "b.net.")]
    )
    assert "more than one CNAME" in found[0][1]
    assert "apex" in problems([change("create", "@", "CNAME", "a.net.")])[0][1]
    # Replacing the A record by a CNAME in one change set is fine.
    plan_changes(
        ORIGIN,
        base(),
        [change("delete", "www", "A", "192.0.2.80"), change("create", "www", "CNAME", "a.net.")],
        300,
    )


def test_apex_keeps_a_name_server_and_one_dname() -> None:
    assert "at least one NS" in problems([change("delete", "@", "NS", "ns1")])[0][1]
    found = problems(
        [change("create", "d", "DNAME", "a.net."), change("create", "d", "DNAME", "b.net.")]
    )
    assert "more than one DNAME" in found[0][1]


def test_update_moves_a_record_and_ttl_is_per_rrset() -> None:
    update = Change.model_validate(
        {
            "action": "update",
            "record": {"name": "www", "type": "A", "data": "192.0.2.80"},
            "new": {"name": "www", "type": "A", "data": "192.0.2.81", "ttl": 60},
        }
    )
    plan = plan_changes(ORIGIN, base(), [update, change("create", "www", "A", "192.0.2.82")], 300)
    www = sorted(r.line() for r in plan.result.values() if r.name.labels[0] == b"www")
    assert www == ["www.example.test. 300 IN A 192.0.2.81", "www.example.test. 300 IN A 192.0.2.82"]
    assert (
        "no such record"
        in problems(
            [
                Change.model_validate(
                    {
                        "action": "update",
                        "record": {"name": "nope", "type": "A", "data": "192.0.2.1"},
                        "new": {"name": "nope", "type": "A", "data": "192.0.2.2"},
                    }
                )
            ]
        )[0][1]
    )


def test_ptr_only_for_addresses() -> None:
    found = problems([change("create", "t", "TXT", "x", ptr=True)])
    assert found[0][0] == "changes[0].ptr"
    plan = plan_changes(ORIGIN, base(), [change("create", "h", "A", "192.0.2.9", ptr=True)], 300)
    assert [(i, r.data) for i, r in plan.ptr_adds] == [(0, "192.0.2.9")]


DS = "1 8 2 " + "0123456789abcdef" * 4
SUB_NS = change("create", "sub", "NS", "ns.other.test.")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ([change("create", "sub", "DS", DS)], "changes[0].record", "no NS records"),
        ([change("create", "@", "DS", DS)], "changes[0].record", "parent zone"),
        (
            [SUB_NS, change("create", "x.sub", "TXT", "t")],
            "changes[1].record",
            "below the delegation at sub.example.test.",
        ),
        (
            [SUB_NS, change("create", "sub", "MX", "1 m")],
            "changes[1].record",
            "is a delegation",
        ),
        (
            [change("create", "o", "DNAME", "n.test."), change("create", "a.o", "A", "192.0.2.1")],
            "changes[1].record",
            "below the DNAME",
        ),
        (
            [change("create", "d.w", "NS", "ns.o.test."), change("create", "a.d.w", "CNAME", "x")],
            "changes[1].record",
            "below the delegation",
        ),
        ([change("create", "www", "CNAME", "other")], "changes[0].record", "CNAME"),
        ([change("create", "x", "ZONEMD", "1 1 1 " + "00" * 48)], "changes[0].record.name", "apex"),
    ],
)  # fmt: skip
def test_what_named_would_refuse_or_ignore_is_refused(
    changes: list[Change], field: str, words: str
) -> None:
    found = problems(changes)
    assert found[0][0] == field, found
    assert words in found[0][1], found


def test_a_delegation_over_existing_data_names_the_ns_record() -> None:
    existing = plan_changes(ORIGIN, base(), [change("create", "t.sub", "TXT", "x")], 300)
    found = problems(
        [change("create", "sub", "NS", "ns.other.test.")], list(existing.result.values())
    )
    assert found[0][0] == "changes[0].record" and "delete it first" in found[0][1], found


def test_delegations_with_ds_and_glue_and_rfc2181_owners_are_taken() -> None:
    plan = plan_changes(
        ORIGIN,
        base(),
        [
            change("create", "sub", "NS", "ns.sub"),
            change("create", "ns.sub", "A", "192.0.2.7"),
            change("create", "ns.sub", "AAAA", "2001:db8::7"),
            change("create", "sub", "DS", DS),
            change("create", "gc._msdcs", "A", "192.0.2.8"),
            change("create", "_spf", "TXT", "v=spf1 mx -all"),
            change("create", r"dot\.in", "TXT", '"a" "b"'),
            change("create", "x", "TYPE65280", r"\# 4 0A000001"),
        ],
        300,
    )
    assert len(plan.adds) == 8
    texts = {r.line() for r in plan.adds}
    assert '_spf.example.test. 300 IN TXT "v=spf1 mx -all"' in texts
    assert r'dot\.in.example.test. 300 IN TXT "a" "b"' in texts


def test_strict_host_names_are_asked_for_per_zone() -> None:
    loose = [change("create", "gc._msdcs", "A", "192.0.2.8"), change("create", "@", "MX", "1 a_b")]
    assert len(plan_changes(ORIGIN, base(), loose, 300).adds) == 2
    with pytest.raises(RecordValidationError) as info:
        plan_changes(ORIGIN, base(), loose, 300, strict_hostnames=True)
    fields = [p.field for p in info.value.problems]
    assert fields == ["changes[0].record.name", "changes[1].record.data"]
