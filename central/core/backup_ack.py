"""Acknowledged means safe: a change's answer says whether it is already at the backup peer,
and, when asked, comes only once it is.

Every answer to a request that committed a change carries ``X-Burrow-Backup``:

- ``stored``: a snapshot holding the change is stored at the peer;
- ``pending``: it is not there yet (the producer sends it within about a second while the
  peer is reachable; ``GET /api/v1/appliance/backup-status`` counts what is not there yet);
- ``not-paired``: this appliance has no backup peer.

With the setting ``backup_wait_for_peer`` (or ``?wait_for_backup=true``, or the header
``X-Burrow-Wait-For-Backup: true`` on the request, which also turn it off with ``false``)
Central holds the answer until the change is stored at the peer, at most
``backup_wait_timeout_seconds``; a peer that cannot be reached (the producer's last error)
ends the wait at once, and the answer says ``pending``. The change itself is never undone: the
wait only decides when the caller hears of it.

How Central knows: its history hook appends a byte to the change file after each commit and
hands this request the count it reached (``central.history.hooks.CHANGE``); the producer
records the count each snapshot holds and, once the peer stored it, writes ``changes_stored``
in ``backup-status.json``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.history.hooks import CHANGE
from services.common.backup.files import peer_file, status_file
from services.common.paths import StateRoot

HEADER = "X-Burrow-Backup"
ASK_HEADER = b"x-burrow-wait-for-backup"
QUERY = "wait_for_backup"
POLL = 0.05
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def backup_state(root: StateRoot, count: int) -> tuple[str, bool]:
    """``stored``/``pending``/``not-paired`` for change ``count``, and whether waiting longer
    can help (the peer is reachable as far as the producer knows)."""
    if not peer_file(root).exists():
        return "not-paired", False
    try:
        status: dict[str, Any] = json.loads(status_file(root).read_text())
    except (OSError, ValueError):
        return "pending", True
    if int(status.get("changes_stored") or 0) >= count:
        return "stored", False
    return "pending", not status.get("last_error")


def _asked(scope: Scope) -> bool | None:
    """What the request asks: True, False, or None (the setting decides)."""
    for name, value in scope.get("headers", ()):
        if name == ASK_HEADER:
            return value.strip().lower() in (b"1", b"true", b"yes")
    query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
    if QUERY in query:
        return query[QUERY][-1].strip().lower() in ("1", "true", "yes")
    return None


class BackupAck:
    """ASGI middleware: the backup state on every change's answer, and the wait when asked.

    ``settings`` returns (wait_by_default, timeout_seconds); it is read per request.
    """

    def __init__(self, app: ASGIApp, root: StateRoot, settings: Any) -> None:
        self.app = app
        self.root = root
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in WRITES:
            await self.app(scope, receive, send)
            return
        holder: dict[str, int] = {}
        token = CHANGE.set(holder)
        held: list[Message] = []
        try:

            async def hold(message: Message) -> None:
                # The answer is complete once the body's last part is there: the change is
                # committed (or was never made) by then.
                held.append(message)

            await self.app(scope, receive, hold)
        finally:
            CHANGE.reset(token)
        count = holder.get("count")
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        if count is not None and start is not None and 200 <= start["status"] < 300:
            state = await self._settle(scope, count)
            start["headers"] = [
                *start.get("headers", []),
                (HEADER.lower().encode(), state.encode()),
            ]
        for message in held:
            await send(message)

    async def _settle(self, scope: Scope, count: int) -> str:
        state, hopeful = backup_state(self.root, count)
        asked = _asked(scope)
        wait_by_default, timeout = self.settings()
        if not (asked if asked is not None else wait_by_default) or not hopeful:
            return state
        deadline = time.monotonic() + float(timeout)
        while state == "pending" and hopeful and time.monotonic() < deadline:
            await asyncio.sleep(POLL)
            state, hopeful = backup_state(self.root, count)
        return state
