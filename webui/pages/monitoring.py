"""Monitoring and time on the settings page: the whole monitoring document, edited as JSON.

The console shows what ``GET /api/v1/monitoring`` answers (every secret as ``********``) and
sends the edited document back with ``PUT``: a secret left as ``********`` keeps its stored
value, so only a new or changed secret is typed. Central's refusal comes back with each
problem named by its path in the document (``communities[0].networks[0]``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from webui.central import ApiError
from webui.forms import FormErrors, Placement, refusal, status_of
from webui.session import Session
from webui.web import CurrentSession, WriteRequest, console, redirect, render

router = APIRouter()
FORM = Placement.same("comment")


def monitoring_page(
    request: Request, session: Session, status: int = 200, **extra: Any
) -> Response:
    current = console(request).central.monitoring(session.token)
    context: dict[str, Any] = {
        "document": json.dumps(current, indent=2),
        "errors": FormErrors(),
        "error": "",
        "values": {},
    }
    context.update(extra)
    return render(request, "monitoring.html", session, status, **context)


@router.get("/settings/monitoring")
def monitoring(request: Request, session: CurrentSession) -> Response:
    return monitoring_page(request, session)


@router.post("/settings/monitoring")
def save_monitoring(request: Request, write: WriteRequest) -> Response:
    text = write.form.get("document", "")
    errors = FormErrors()
    try:
        body = json.loads(text)
        if not isinstance(body, dict):
            raise ValueError("the document must be one JSON object { … }")
    except ValueError as exc:
        errors.at("document", f"not valid JSON: {exc}")
        errors.banner = "The document is not valid JSON: nothing was changed."
        return monitoring_page(request, write.session, 422, errors=errors, error=errors.banner,
                               document=text, values={"comment": write.comment})  # fmt: skip
    body["comment"] = write.comment
    try:
        console(request).central.change_monitoring(write.session.token, body)
    except ApiError as exc:
        errors = refusal(exc, FORM)
        # The document is edited as it is sent: a problem is named by its path in it
        # (communities[0].networks[0]), not in the plain words of the form pages.
        errors.top = [
            f"{item.field}: {item.message}" if item.field else item.message
            for item in exc.problems
            if item.field != "comment"
        ] or errors.top
        return monitoring_page(request, write.session, status_of(exc), errors=errors,
                               error=errors.banner, document=text,
                               values={"comment": write.comment})  # fmt: skip
    return redirect(request, "/settings/monitoring?done=monitoring-saved")
