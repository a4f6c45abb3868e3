"""``/api/v1/dhcp/servers/{id}/{family}/leases``: adding and changing leases through Central.

The dhcp-agent adds and changes the lease in Kea (``lease4-add`` / ``lease4-update``,
``lease6-add`` / ``lease6-update``); Central records it in the history (``dhcp-lease``
``SERVER:FAMILY:ADDRESS``, create or update, before and after, save comment). Searching,
paging and deleting leases, and utilisation, are in ``central.dhcp.routes``. Administrators
and DHCP administrators change leases.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from central.core.deps import DbSession
from central.dhcp import service
from central.dhcp.routes import BASE, Config, DhcpAdmin, DhcpServer, forget_count
from central.dhcp.routes import router as dhcp_routes
from central.dhcp.schemas import LeaseBody
from central.dhcp.service import Family
from central.history.service import record
from services.common.agent_client import OutcomeUnknownError
from services.common.dhcp.client import DhcpAgentClient
from services.common.dhcp.contract import Lease, LeaseSearch
from services.common.dhcp.lease_input import LeaseInput
from services.common.errors import UnavailableError

router = APIRouter(prefix="/api/v1/dhcp", tags=["dhcp"], responses=dhcp_routes.responses)
Address = Annotated[str, Path(max_length=64)]


def _wire(body: LeaseBody) -> LeaseInput:
    """The agent's model: the fields the caller set, without the save comment."""
    given = body.model_dump(exclude_unset=True, exclude={"comment"})
    return LeaseInput.model_validate(given)


def _read(agent: DhcpAgentClient, family: Family, address: str) -> Lease | None:
    found = agent.search_leases(family, LeaseSearch(address=address))
    return found[0] if found else None


@router.post(BASE + "/leases", status_code=201, response_model_exclude_none=True)
def add_lease(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: LeaseBody,
) -> Lease:  # fmt: skip
    """Add a lease: DHCPv4 ``address`` and ``hw_address``; DHCPv6 ``address``, ``duid``,
    ``iaid`` (a delegated prefix: ``type`` ``IA_PD`` and ``prefix_len``). 409 when the
    address has a lease."""
    agent = service.agent_for(config, server)
    wire = _wire(body)
    try:
        lease = agent.add_lease(family, wire)
    except OutcomeUnknownError as lost:
        # The agent stopped answering: the lease is there or not, as Kea says once it is back.
        found = service.read_back(lambda: _read(agent, family, str(wire.address)),
                                  what="adding the lease")  # fmt: skip
        if found is None:
            raise UnavailableError(
                f"The dhcp-agent stopped before the lease of {wire.address} was added; "
                "nothing was changed.", hint="repeat the change",
            ) from lost  # fmt: skip
        lease = found
    forget_count(server.id, family)
    record(
        db, user, "dhcp-lease", service.history_id(server, family, lease.address), "create",
        before=None, after=lease.model_dump(mode="json", exclude_none=True),
        comment=body.comment,
    )  # fmt: skip
    db.commit()
    return lease


@router.patch(BASE + "/leases/{address}", response_model_exclude_none=True)
def update_lease(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    address: Address, body: LeaseBody,
) -> Lease:  # fmt: skip
    """Change a lease: the fields given change, the others keep their values."""
    agent = service.agent_for(config, server)
    before = _read(agent, family, address)
    try:
        lease = agent.update_lease(family, address, _wire(body))
    except OutcomeUnknownError as lost:
        after = service.read_back(lambda: _read(agent, family, address),
                                  what="changing the lease")  # fmt: skip
        if after is None or after == before:
            raise UnavailableError(
                f"The dhcp-agent stopped before the lease of {address} was changed; nothing "
                "was changed.", hint="repeat the change",
            ) from lost  # fmt: skip
        lease = after
    record(
        db, user, "dhcp-lease", service.history_id(server, family, address), "update",
        before=before.model_dump(mode="json", exclude_none=True) if before else None,
        after=lease.model_dump(mode="json", exclude_none=True), comment=body.comment,
    )  # fmt: skip
    db.commit()
    return lease
