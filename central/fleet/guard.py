"""While this appliance is in a fleet its Central refuses DNS, DHCP and caching writes (409,
naming the managing Central): the managing Central makes them. Reads, users, settings and the
rest stay (docs/fleet.md)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from services.common import problems
from services.common.errors import FieldProblem
from services.common.paths import StateRoot

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
MANAGED = ("/api/v1/dns/", "/api/v1/dhcp/", "/api/v1/caching/")


class FleetGuard:
    """ASGI middleware: a DNS or DHCP write on a joined appliance answers 409."""

    def __init__(self, app: ASGIApp, root: StateRoot) -> None:
        self.app = app
        self.root = root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in WRITES
            and str(scope["path"]).startswith(MANAGED)
        ):
            from central.fleet.service import membership_file

            try:
                data = json.loads(membership_file(self.root).read_text())
            except (FileNotFoundError, ValueError):
                data = None
            if data is not None:
                where = f"{data.get('address')}:{data.get('port')}"
                detail = (
                    f"This appliance is managed by the Central at {where} (its fleet): "
                    "make DNS, DHCP and caching changes there."
                )
                answer = problems.response(
                    409,
                    detail,
                    hint=f"the managing Central: https://{where}/ (or leave the fleet)",
                    problems=[FieldProblem("fleet", f"managed by the Central at {where}")],
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
