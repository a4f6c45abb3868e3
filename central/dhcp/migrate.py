"""Migration from ISC DHCP: a ``dhcpd.conf`` and its ``dhcpd.leases`` imported into a Kea server.

``POST …/v4/import/isc-dhcp/preview`` reads both files and answers what would be created
(scopes with pools, options and reservations, shared networks, client classes, option
definitions, server-wide options and lease times), the leases that would be added, and
everything that is not carried over, each with its line and the reason. It runs every check
the import runs, against the server's configuration now, and changes nothing.

``POST …/v4/import/isc-dhcp`` does it: the translation is put into Kea's configuration as
read at that moment (``services.common.dhcp.isc.merge``, Burrow's checks on every object,
409 for a subnet, class or shared network the server has already) and applied as ONE change
through the dhcp-agent (config-test, config-set, config-write; ``expected_hash`` and
``known_hash`` so that a change made meanwhile is never overwritten): everything or nothing.
Central then records one history entry ``dhcp-migration`` with what was created and what was
not carried over. The active leases are added afterwards through the agent (``lease4-add``),
recorded as one ``dhcp-lease`` ``import`` entry with what Kea refused.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import DbSession, Principal, Role, require
from central.dhcp import service
from central.dhcp.routes import Config, DhcpServer
from central.dhcp.routes import router as dhcp_routes
from central.dhcp.schemas import Comment
from central.dhcp.service import Family
from central.history.service import record
from central.registry.models import Server
from services.common.agent_client import OutcomeUnknownError
from services.common.dhcp.client import DhcpAgentClient
from services.common.dhcp.contract import (
    ChangeResult,
    ClientClass,
    OptionDef,
    OptionValue,
    Reservation,
    Scope,
    ServerProperties,
    SharedNetwork,
)
from services.common.dhcp.isc.conf import MAX_BYTES, parse
from services.common.dhcp.isc.leases import LeaseFile, LeaseFile6, read_leases, read_leases6
from services.common.dhcp.isc.merge import Merged, merge
from services.common.dhcp.isc.translate import Translation, translate
from services.common.dhcp.kea import iter_subnets, top_key
from services.common.errors import BurrowError
from services.common.model import Input
from services.dhcp.migrate import (
    LeaseImport,
    LeaseImport6,
    LeaseIn,
    LeaseIn6,
    LeaseRefused,
    LeasesImported,
)

Json = dict[str, Any]
router = APIRouter(prefix="/api/v1/dhcp", tags=["dhcp"], responses=dict(dhcp_routes.responses))
DhcpAdmin = Annotated[Principal, Depends(require(Role.DHCP_ADMIN))]
PATH = "/servers/{dhcp_server_id}/{family}/import/isc-dhcp"
#: Leases per request to the agent: one lease4-add each, about a millisecond apiece.
LEASE_BATCH = 500


class IscImportBody(Input):
    """The old server's files as text."""

    conf: str = Field(
        default="", max_length=MAX_BYTES,
        description="the dhcpd.conf (empty: the leases only, into the scopes the server has)",
    )  # fmt: skip
    leases: str | None = Field(
        default=None, max_length=MAX_BYTES, description="the dhcpd.leases (optional)"
    )
    comment: Comment = ""


class Created(BaseModel):
    """One object the import makes, with the dhcpd.conf line it comes from."""

    line: int
    kind: str
    name: str


class LeftOut(BaseModel):
    """A statement, or a lease, that is not carried over, and why."""

    line: int
    statement: str
    reason: str


class IscPreview(BaseModel):
    """What the import creates and what it leaves out (each with its line)."""

    family: Family
    created: list[Created]
    scopes: list[Scope]
    shared_networks: list[SharedNetwork]
    classes: list[ClientClass]
    option_definitions: list[OptionDef]
    options: list[OptionValue]
    global_reservations: list[Reservation]
    properties: ServerProperties
    server_settings: dict[str, Any] = Field(
        description="Kea server keys set outside Burrow's model (authoritative, boot fields)"
    )
    not_carried: list[LeftOut]
    leases: list[LeaseIn] | list[LeaseIn6] = Field(
        description="the active leases that would be added"
    )
    leases_skipped: list[LeftOut]


class IscImported(IscPreview):
    """The import done: the configuration change, and the leases Kea took or refused."""

    change: ChangeResult | None = Field(
        description="the configuration change (none when only leases were imported)"
    )
    leases_added: list[str]
    leases_refused: list[LeaseRefused]


# --- reading and planning --------------------------------------------------------------------
def _read(body: IscImportBody, family: Family) -> tuple[Translation, LeaseFile | LeaseFile6]:
    translation = translate(parse(body.conf), family)
    now = int(time.time())
    leases = read_leases6 if family == "v6" else read_leases
    return translation, leases(body.leases or "", now)


def _current(agent: DhcpAgentClient, family: Family) -> tuple[Json, str]:
    state = agent.config(family)
    config = state.config or {}
    return dict(config.get(top_key(family), config)), state.hash


def _created(translation: Translation) -> list[Created]:
    created: list[Created] = []
    for line, definition in translation.option_definitions:
        space = definition.space or "base"
        name = f"{space}.{definition.name} (code {definition.code})"
        created.append(Created(line=line, kind="option-definition", name=name))
    for line, cls in translation.classes:
        created.append(Created(line=line, kind="class", name=cls.name))
    for line, network in translation.shared_networks:
        created.append(Created(line=line, kind="shared-network", name=network.name))
    for placed in translation.scopes:
        created.append(Created(line=placed.line, kind="scope", name=str(placed.scope.subnet)))
        pairs = zip(placed.reservation_lines, placed.scope.reservations, strict=True)
        for line, reservation in pairs:
            addresses = ", ".join(str(a) for a in reservation.ip_addresses)
            name = f"{reservation.identifier[1]} -> {addresses}"
            created.append(Created(line=line, kind="reservation", name=name))
    for line, reservation in translation.global_reservations:
        name = reservation.identifier[1]
        created.append(Created(line=line, kind="global-reservation", name=name))
    created.sort(key=lambda c: c.line)
    return created


def _scope_of(
    merged: Json, family: Family, address: str, prefix_len: int = 128, delegated: bool = False
) -> int | None:
    """The id of the scope that takes a lease of ``address`` (or of a delegated prefix)."""
    for entry, _network, _list in iter_subnets(merged, family):
        if delegated:
            for pool in entry.get("pd-pools", []):
                prefix = ipaddress.ip_network(f"{pool['prefix']}/{pool['prefix-len']}")
                if ipaddress.ip_network(f"{address}/{prefix_len}").subnet_of(prefix):  # type: ignore[arg-type]
                    return int(entry["id"])
        elif ipaddress.ip_address(address) in ipaddress.ip_network(entry["subnet"]):
            return int(entry["id"])
    return None


def _leases(
    lease_file: LeaseFile | LeaseFile6, merged: Json, family: Family
) -> tuple[list[LeaseIn] | list[LeaseIn6], list[LeftOut]]:
    skipped = [LeftOut(line=s.line, statement=f"lease {s.address}", reason=s.reason)
               for s in lease_file.skipped]  # fmt: skip
    outside = "the address is in none of the server's scopes"
    if isinstance(lease_file, LeaseFile6):
        leases6: list[LeaseIn6] = []
        for lease6 in lease_file.leases:
            pd = lease6.kind == "IA_PD"
            scope_id = _scope_of(merged, family, lease6.address, lease6.prefix_len, pd)
            if scope_id is None:
                why = "no prefix pool of the server holds the prefix" if pd else outside
                skipped.append(LeftOut(line=lease6.line, statement=f"lease {lease6.address}",
                                       reason=why))  # fmt: skip
                continue
            leases6.append(LeaseIn6(
                address=ipaddress.IPv6Address(lease6.address), prefix_len=lease6.prefix_len,
                type="IA_PD" if pd else "IA_NA", duid=lease6.duid, iaid=lease6.iaid,
                valid_lifetime=lease6.valid_lifetime,
                preferred_lifetime=lease6.preferred_lifetime, expires=lease6.ends,
                subnet_id=scope_id,
            ))  # fmt: skip
        skipped.sort(key=lambda s: s.line)
        return leases6, skipped
    leases: list[LeaseIn] = []
    for lease in lease_file.leases:
        scope_id = _scope_of(merged, family, lease.address)
        if scope_id is None:
            skipped.append(LeftOut(line=lease.line, statement=f"lease {lease.address}",
                                   reason=outside))  # fmt: skip
            continue
        leases.append(LeaseIn(
            address=ipaddress.IPv4Address(lease.address), hw_address=lease.hw_address,
            client_id=lease.client_id, hostname=lease.hostname,
            valid_lifetime=lease.valid_lifetime, expires=lease.ends, subnet_id=scope_id,
        ))  # fmt: skip
    skipped.sort(key=lambda s: s.line)
    return leases, skipped


def _plan(
    translation: Translation, lease_file: LeaseFile | LeaseFile6, merged: Merged, family: Family
) -> IscPreview:
    leases, skipped = _leases(lease_file, merged.config, family)
    not_carried = [LeftOut(line=n.line, statement=n.statement, reason=n.reason)
                   for n in [*translation.not_carried, *merged.notes]]  # fmt: skip
    return IscPreview(
        family=family,
        created=_created(translation),
        scopes=[p.scope for p in translation.scopes],
        shared_networks=[n for _l, n in translation.shared_networks],
        classes=[c for _l, c in translation.classes],
        option_definitions=[d for _l, d in translation.option_definitions],
        options=translation.options,
        global_reservations=[r for _l, r in translation.global_reservations],
        properties=translation.properties,
        server_settings=translation.extra,
        not_carried=sorted(not_carried, key=lambda n: n.line),
        leases=leases,
        leases_skipped=skipped,
    )


def preview(
    config: CentralConfig, server: Server, family: Family, body: IscImportBody
) -> IscPreview:
    translation, lease_file = _read(body, family)
    current, _hash = _current(service.agent_for(config, server), family)
    return _plan(translation, lease_file, merge(translation, current, family), family)


def apply(
    db: Session, config: CentralConfig, user: Principal, server: Server, family: Family,
    body: IscImportBody,
) -> IscImported:  # fmt: skip
    translation, lease_file = _read(body, family)
    planned: list[IscPreview] = []
    sent: list[bool] = []
    subnets = {str(p.scope.subnet) for p in translation.scopes}

    def send(agent: DhcpAgentClient, known: str) -> ChangeResult:
        current, digest = _current(agent, family)
        merged = merge(translation, current, family)  # the checks; raise before any change
        planned[:] = [_plan(translation, lease_file, merged, family)]
        answer = agent.replace_config(
            family, {top_key(family): merged.config}, expected_hash=digest, known_hash=known
        )
        sent.append(True)
        return answer

    def pick(objects: Mapping[str, Any]) -> Json | None:
        """Before the import: nothing; after it: what it made and what it left out."""
        scopes = [s for s in objects["scopes"] if s.get("subnet") in subnets]
        # its scopes cannot be there before (the merge refuses a subnet the server has);
        # ``sent`` covers an import without scopes
        if not planned or not (sent or scopes):
            return None
        plan = planned[0]
        return {
            "created": [c.model_dump() for c in plan.created],
            "scopes": scopes,
            "not_carried": [n.model_dump() for n in plan.not_carried],
            "leases_to_add": len(plan.leases),
            "leases_skipped": [s.model_dump() for s in plan.leases_skipped],
        }

    result: ChangeResult | None = None
    if body.conf.strip():
        result, _after = service.change(
            db, config, user, server, family, send,
            object_type="dhcp-migration", object_id="isc-dhcp", action="import", pick=pick,
            comment=body.comment or "imported from ISC DHCP",
        )  # fmt: skip
    else:  # the leases only, into the scopes the server has
        current, _hash = _current(service.agent_for(config, server), family)
        planned[:] = [_plan(translation, lease_file, merge(translation, current, family), family)]
    plan = planned[0]
    imported = LeasesImported(added=[], refused=[])
    if plan.leases:
        imported = _add_leases(service.agent_for(config, server), family, plan.leases)
        record(
            db, user, "dhcp-lease", service.history_id(server, family, "isc-dhcp"), "import",
            after={"added": imported.added,
                   "refused": [r.model_dump() for r in imported.refused]},
            comment=body.comment or "leases imported from ISC DHCP",
        )  # fmt: skip
        db.commit()
    return IscImported(
        **plan.model_dump(), change=result, leases_added=imported.added,
        leases_refused=imported.refused,
    )  # fmt: skip


def _add_leases(
    agent: DhcpAgentClient, family: Family, leases: list[LeaseIn] | list[LeaseIn6]
) -> LeasesImported:
    """Add leases through the agent a batch at a time (each batch well within its timeout)."""
    added: list[str] = []
    refused: list[LeaseRefused] = []
    for start in range(0, len(leases), LEASE_BATCH):
        chunk = leases[start : start + LEASE_BATCH]
        batch = LeaseImport6(leases=chunk) if family == "v6" else LeaseImport(leases=chunk)  # type: ignore[arg-type]
        path = f"/dhcp/{family}/leases/import"
        try:
            answer = LeasesImported.model_validate(agent.call("POST", path, batch))
        except BurrowError as exc:
            # The configuration is in already: the leases not added are answered and
            # recorded as refused, with the reason, rather than lost in an error.
            why = f"not added: {exc.message}"
            if isinstance(exc, OutcomeUnknownError):
                why = ("perhaps added: the dhcp-agent stopped answering; search the leases to "
                       "see which Kea holds")  # fmt: skip
            refused += [LeaseRefused(address=x.name, reason=why)
                        for x in leases[start:]]  # fmt: skip
            break
        added += answer.added
        refused += answer.refused
    return LeasesImported(added=added, refused=refused)


# --- routes ----------------------------------------------------------------------------------
@router.post(PATH + "/preview", response_model_exclude_none=True)
def preview_route(
    config: Config, _user: DhcpAdmin, server: DhcpServer, family: Family, body: IscImportBody
) -> IscPreview:
    """What importing this dhcpd.conf (v4) or dhcpd6.conf (v6), and its lease file, would
    create and leave out, with line numbers; checked against the server's configuration now;
    nothing changes."""
    return preview(config, server, family, body)


@router.post(PATH, response_model_exclude_none=True)
def import_route(
    db: DbSession, config: Config, user: DhcpAdmin, server: DhcpServer, family: Family,
    body: IscImportBody,
) -> IscImported:  # fmt: skip
    """Import a dhcpd.conf (v4) or dhcpd6.conf (v6) as one configuration change (all or
    nothing), then its active leases; recorded in the history with what was not carried over."""
    return apply(db, config, user, server, family, body)
