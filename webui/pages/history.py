"""The history of changes, with filters on who, what, which action and the text."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from webui.models import HistoryEntry
from webui.paging import Pager, clamp_offset, query
from webui.web import CurrentSession, console, render

router = APIRouter()

PAGE = 50
FILTERS = ("actor", "object_type", "action")


def history_filter(params: dict[str, str]) -> str:
    """Central's filter terms for the history page's fields (spaces are not allowed in a
    term: a value with one becomes a contains-search on its first word)."""
    terms = []
    for name in FILTERS:
        value = params.get(name, "").strip().split()
        if value:
            terms.append(f"{name}:{value[0]}")
    text = params.get("q", "").strip()
    if text:
        terms.extend(text.split())
    return " ".join(terms)


def summary(change: HistoryEntry) -> str:
    """A short view of what a change did, for the table."""
    shown = change.after if change.after is not None else change.before
    text = json.dumps(shown, sort_keys=True) if shown is not None else ""
    return text if len(text) <= 240 else text[:237] + "…"


@router.get("/history")
def history(request: Request, session: CurrentSession) -> Response:
    params = dict(request.query_params)
    offset = clamp_offset(params.get("offset"), PAGE)
    answer = console(request).central.history(
        session.token, filter=history_filter(params), sort="-id", offset=offset, limit=PAGE
    )
    base = {k: params.get(k, "") for k in (*FILTERS, "q")} | {"offset": offset}
    return render(
        request, "history.html", session,
        changes=[(c, summary(c)) for c in answer.items],
        pager=Pager(offset, PAGE, answer.total),
        values={k: params.get(k, "") for k in (*FILTERS, "q")},
        qs=lambda **changes: query(base, **changes),
    )  # fmt: skip
