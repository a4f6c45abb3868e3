"""The history: who changed what, when and why, as a readable before/after difference.

Changes and logins are apart (tabs: Central's ``kind=changes`` and ``kind=logins``); a change
is found by the name of its object (a zone's, a record's, a user's, a scope's subnet: the
states before and after are searched) and filtered by object type, action and who.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from webui.models import HistoryEntry
from webui.paging import Pager, clamp_offset, query
from webui.web import CurrentSession, console, render

router = APIRouter()

PAGE = 50
FILTERS = ("actor", "object_type", "action")
KINDS = ("changes", "logins", "all")
#: The kinds of object, for the filter's choices (any other can be typed in the URL).
OBJECT_TYPES = (
    ("dns-zone", "DNS zone and its records"),
    ("dns-tsig-key", "TSIG key"),
    ("dns-options", "DNS server options"),
    ("caching-settings", "Caching server settings"),
    ("caching-cache", "Caching server cache (flushes)"),
    ("dhcp-scope", "DHCP scope"),
    ("dhcp-reservation", "DHCP reservation"),
    ("dhcp-class", "DHCP client class"),
    ("dhcp-options", "DHCP options"),
    ("user", "User"),
    ("settings", "Central's settings"),
    ("monitoring", "Monitoring"),
    ("network", "Network"),
    ("appliance", "Appliance"),
    ("backup", "Backup"),
    ("backup-peer", "Backup peer"),
    ("server", "Server"),
    ("certificate", "Certificate"),
)
ACTIONS = (
    ("create", "Created"),
    ("update", "Changed"),
    ("change", "Records changed"),
    ("delete", "Deleted"),
    ("import", "Imported"),
    ("enable", "Enabled"),
    ("disable", "Disabled"),
    ("external-change", "Changed outside Central"),
    ("restore", "Restored"),
    ("flush", "Flushed from the cache"),
)
#: Keys naming an object, most telling first.
NAME_KEYS = ("name", "zone", "username", "subnet", "prefix", "address", "hostname", "hw-address")
#: How many lines of a list are shown before "and N more".
SHOWN = 12


def history_filter(params: dict[str, str]) -> str:
    """Central's filter terms for the history page's fields (spaces are not allowed in a
    term: a value with one becomes a contains-search on its first word)."""
    terms = []
    for name in FILTERS:
        value = params.get(name, "").strip().split()
        if value:
            terms.append(f"{name}:{value[0]}")
    named = params.get("name", "").strip().split()
    if named:
        terms.append(f"content~{named[0]}")
    text = params.get("q", "").strip()
    if text:
        terms.extend(text.split())
    return " ".join(terms)


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value or "(empty)"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}``; lists are kept whole."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix or "value": value}


@dataclass
class Line:
    """One field of the difference: changed (before → after), or lines added or removed."""

    field: str
    before: str = ""
    after: str = ""
    added: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Difference:
    lines: list[Line]
    #: fields that stayed the same (shown folded)
    same: list[tuple[str, str]]

    @property
    def empty(self) -> bool:
        return not self.lines


def _is_lines(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)


def difference(before: Any, after: Any) -> Difference:
    """What a change did, field by field: a list (records, pools' lines) as the lines it
    removed and added, any other field as before → after; unchanged fields apart."""
    old = _flatten(before) if before is not None else {}
    new = _flatten(after) if after is not None else {}
    lines: list[Line] = []
    same: list[tuple[str, str]] = []
    for key in sorted(set(old) | set(new), key=lambda k: (k not in NAME_KEYS, k)):
        a, b = old.get(key), new.get(key)
        if a == b and key in old and key in new:
            same.append((key, _text(a)))
            continue
        if (a is None or _is_lines(a)) and (b is None or _is_lines(b)) and (a or b):
            was = [_text(v) for v in (a or [])]
            now = [_text(v) for v in (b or [])]
            lines.append(
                Line(key, removed=[v for v in was if v not in now],
                     added=[v for v in now if v not in was])
            )  # fmt: skip
            continue
        lines.append(
            Line(key, before=_text(a) if key in old else "", after=_text(b) if key in new else "")
        )
    return Difference(lines, same)


def object_name(change: HistoryEntry) -> str:
    """The object's name from its state (a zone's, a user's, a scope's subnet), else its id."""
    for state in (change.after, change.before):
        if isinstance(state, dict):
            for key in NAME_KEYS:
                value = state.get(key)
                if isinstance(value, str) and value:
                    return value
    return change.object_id


@dataclass(frozen=True)
class Row:
    change: HistoryEntry
    name: str
    diff: Difference


def summary(change: HistoryEntry) -> str:
    """One line of what a change did (for a screen reader's row summary and plain views)."""
    diff = difference(change.before, change.after)
    parts = []
    for line in diff.lines:
        if line.added or line.removed:
            parts.append(f"{line.field}: +{len(line.added)} -{len(line.removed)}")
        else:
            parts.append(f"{line.field}: {line.before or '—'} → {line.after or '—'}")
    text = "; ".join(parts)
    return text if len(text) <= 240 else text[:237] + "…"


@router.get("/history")
def history(request: Request, session: CurrentSession) -> Response:
    params = dict(request.query_params)
    offset = clamp_offset(params.get("offset"), PAGE)
    kind = params.get("kind", "changes")
    if kind not in KINDS:
        kind = "changes"
    answer = console(request).central.history(
        session.token,
        filter=history_filter(params),
        sort="-id",
        offset=offset,
        limit=PAGE,
        kind=kind,
    )
    keys = (*FILTERS, "name", "q")
    base = {k: params.get(k, "") for k in keys} | {"offset": offset, "kind": kind}
    rows = [Row(c, object_name(c), difference(c.before, c.after)) for c in answer.items]
    return render(
        request, "history.html", session,
        rows=rows,
        kind=kind,
        shown=SHOWN,
        object_types=OBJECT_TYPES,
        actions=ACTIONS,
        pager=Pager(offset, PAGE, answer.total),
        values={k: params.get(k, "") for k in keys},
        qs=lambda **changes: query(base, **changes),
    )  # fmt: skip
