"""What the console reads from Central's answers, as typed models.

Where Burrow has a shared model (the DNS record, DHCP scopes, options, classes, leases and
their statistics in ``services.common``), the console reads Central's answer with it, so that
both sides agree on one definition. The rest are the console's own small models, holding only
what its pages show. Every answer model ignores members it does not know: a newer Central
that adds a member does not break an older console.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from services.common.dhcp.contract import ClientClass, Lease, OptionDef, OptionValue, Scope
from services.common.dhcp.contract import ScopeUsage as ScopeUsage
from services.common.dhcp.ha import HaState
from services.common.dns.contract import RecordData

T = TypeVar("T")


class Answer(BaseModel):
    """Base of the console's own answer models."""

    model_config = ConfigDict(extra="ignore")


class Listing(Answer, Generic[T]):
    """A page of a list (Central's listing convention): the items and how many there are."""

    items: list[T]
    total: int = 0
    offset: int = 0


# --- users and sessions ----------------------------------------------------------------------
class User(Answer):
    """A user of Central (never with a password)."""

    id: int
    username: str
    display_name: str = ""
    role: str
    enabled: bool = True


class LoginAnswer(Answer):
    """A session Central opened: its token, when it ends, and whose it is."""

    token: str
    expires_at: str
    user: User


# --- servers, events, history ----------------------------------------------------------------
class Server(Answer):
    """A server in Central's registry."""

    id: int
    kind: str
    name: str
    address: str
    port: int | None = None
    local: bool = False
    state: str = "unknown"
    version: str | None = None
    last_seen: str | None = None
    last_error: str = ""
    fingerprint: str | None = None


class DhcpServer(Answer):
    """A DHCP server Central manages (its scopes are asked for per family)."""

    id: int
    name: str
    address: str = ""
    state: str = "unknown"


class ServiceEvent(Answer):
    """A program's unexpected exit or FATAL state, as supervisord's listener wrote it, or an
    alert of the monitor program (pool threshold, backup overdue, peer, certificate)."""

    time: str
    program: str
    kind: str = ""
    exit: str | int | None = None
    restarts: int | None = None
    subject: str | None = None
    message: str | None = None

    @property
    def is_alert(self) -> bool:
        return self.kind in ("pool-threshold", "backup-overdue", "peer-unreachable",
                             "certificate-expiring")  # fmt: skip


class HistoryEntry(Answer):
    """One change in Central's history: who, what, the state before and after."""

    id: int
    at: str
    actor: str = ""
    object_type: str
    object_id: str
    action: str
    before: Any = None
    after: Any = None
    comment: str = ""


class Total(Answer):
    """Only the size of a list (asked with ``limit=1``)."""

    total: int


# --- DNS -------------------------------------------------------------------------------------
class ImportRefusal(Answer):
    """An entry of a zone file an import refuses (``line`` None: the whole file)."""

    line: int | None = None
    name: str = ""
    type: str = ""
    message: str
    can_leave_out: bool = False


class ImportedRecord(Answer):
    """A record an import would create, with its line."""

    line: int
    name: str
    type: str
    ttl: int
    data: str


class ImportPreview(Answer):
    """What an import of a zone file would create and refuse."""

    records: list[ImportedRecord] = []
    refused: list[ImportRefusal] = []
    importable: bool = False
    importable_leaving_out: bool = False


class Zone(Answer):
    """A DNS zone as Central keeps it."""

    id: int
    name: str
    kind: str = "primary"
    enabled: bool = True
    ttl: int | None = None
    serial: int | None = None
    soa: str = ""
    record_count: int = 0
    server_id: int | None = None
    options: dict[str, Any] = {}
    warnings: list[str] = []
    #: The refused records an import left out (asked for).
    left_out: list[ImportRefusal] = []


class DnssecKey(Answer):
    """One key of a signed zone and its states (named's key state file)."""

    id: int
    role: str
    algorithm: int
    goal: str = ""
    dnskey: str | None = None
    zone_rrsig: str | None = None
    key_rrsig: str | None = None
    ds: str | None = None
    published: str | None = None
    active: str | None = None
    retired: str | None = None


class ZoneDnssec(Answer):
    """A zone's signing state: its policy, keys and DS records."""

    policy: str | None = None
    signed: bool = False
    unsigning: bool = False
    keys: list[DnssecKey] = []
    ds: list[str] = []


class DnssecPolicies(Answer):
    """The policies a server offers: BIND's own and those defined on it (names only)."""

    builtin: list[str] = []
    items: list[dict[str, Any]] = []


class TsigKey(Answer):
    """A TSIG key object (never its secret)."""

    id: int
    server_id: int
    name: str
    algorithm: str
    zones: list[str] = []


class TsigKeyCreated(TsigKey):
    """A new TSIG key with its secret, shown once."""

    secret: str


class Record(RecordData):
    """A record of a zone: the shared record model, and where Central keeps it."""

    model_config = ConfigDict(extra="ignore")
    id: int
    zone_id: int | None = None
    #: "dhcp": written by DHCP's DNS updates (kea-dhcp-ddns), "zone": any other record
    origin: str = "zone"


class FoundRecord(Record):
    """A record found by a search across zones, with its zone's name."""

    zone: str | None = None


class ZoneFile(Answer):
    """A zone's master file as Central exports it."""

    zone: str
    serial: int | None = None
    text: str


class DnsServerOptions(Answer):
    """A DNS server's options (forwarders, recursion, ...) as Central last set or read them."""

    server_id: int
    options: dict[str, Any] = {}
    known: bool = False
    synced_at: str | None = None
    updated_at: str | None = None


# --- DHCP: the shared models, read leniently -------------------------------------------------
class ScopeAnswer(Scope):
    """A scope as Central answers it (the shared model)."""

    model_config = ConfigDict(extra="ignore")


class OptionAnswer(OptionValue):
    """A DHCP option value (the shared model)."""

    model_config = ConfigDict(extra="ignore")


class OptionDefAnswer(OptionDef):
    """A custom DHCP option definition (the shared model)."""

    model_config = ConfigDict(extra="ignore")


class ClassAnswer(ClientClass):
    """A client class, and whether it is defined server-wide (``global``)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    global_: bool = Field(default=False, alias="global")


class HaPartner(HaState):
    """A partner of Central's Kea HA pair and its HA state (the shared model)."""

    model_config = ConfigDict(extra="ignore")
    server_id: int
    server: str
    address: str = ""
    role: str = ""
    reachable: bool = True


class HaPair(Answer):
    """Central's Kea HA pair (``GET /api/v1/dhcp/ha``)."""

    mode: str
    partners: list[HaPartner] = []


class LeaseListing(Answer):
    """Leases found; ``total`` when Central counted them, ``next`` to page on."""

    items: list[Lease]
    total: int | None = None
    next: str | None = None


# --- this appliance: network, peer, backups --------------------------------------------------
class Route(Answer):
    """A static route of this appliance."""

    destination: str
    gateway: str


class Network(Answer):
    """This appliance's network settings, and the addresses it has now."""

    interface: str = ""
    hostname: str = ""
    address: str = ""
    address6: str | None = None
    extra_addresses: list[str] = []
    routes: list[Route] = []
    resolvers: list[str] = []
    addresses: list[str] = []


class AppliancePeer(Answer):
    """The peer Central this appliance sends its backups to (``paired`` false: none)."""

    paired: bool = False
    address: str | None = None
    port: int | None = None
    paired_at: str | None = None
    fingerprint: str | None = None


class SentBackup(Answer):
    """A backup the appliance took and sent."""

    created_at: str = ""
    kind: str = ""
    size: int | None = None


class RestoreProgress(Answer):
    """How the last restore onto this appliance went."""

    state: str = ""
    step: str = ""
    error: str | None = None


class BackupStatus(Answer):
    """This appliance's backups as its appliance-agent reports them."""

    state: str = "unknown"
    appliance_id: str | None = None
    fingerprint: str | None = None
    restore_code: str | None = None
    restore: RestoreProgress | None = None
    peer: AppliancePeer | None = None
    last_full: SentBackup | None = None
    last_incremental: SentBackup | None = None
    outbox: int = 0
    central_database: str | None = None
    last_error: str | None = None
    changes_not_at_peer: int = 0


class StoredBackup(Answer):
    """A backup of this appliance kept at its peer."""

    id: int
    created_at: str = ""
    kind: str = ""
    size: int | None = None
    received_at: str = ""


class ApplianceBackups(Answer):
    """This appliance's backups kept at its peer (none when not paired)."""

    paired: bool = False
    items: list[StoredBackup] = []


class BackupResult(Answer):
    """What "back up now" did; ``error`` when the backup waits in the outbox."""

    kind: str = ""
    size: int | None = None
    error: str | None = None


# --- backups kept here for other appliances --------------------------------------------------
class Snapshot(Answer):
    """A backup of another appliance kept here."""

    id: int
    peer_id: int | None = None
    kind: str = ""
    created_at: str = ""
    size: int | None = None
    chunks: int | None = None
    received_at: str | None = None


class BackupPeer(Answer):
    """An appliance that sends its backups to this Central."""

    id: int
    appliance_id: str = ""
    hostname: str | None = None
    address: str = ""
    agent_fingerprint: str = ""
    paired_at: str | None = None
    last_upload_at: str | None = None
    reachable: bool | None = None
    last_check_error: str = ""
    latest_snapshot: Snapshot | None = None


class Replacement(Answer):
    """A new appliance on the address of one whose backups are kept here."""

    id: int
    address: str
    peer_id: int
    fingerprint: str = ""
    hostname: str | None = None
    state: str
    step: str | None = None
    error: str | None = None
    first_seen: str | None = None
    finished_at: str | None = None


class PairingToken(Answer):
    """A one-time token for an appliance to pair with this Central (shown once)."""

    token: str
    address: str
    expires_at: str
    central_fingerprint: str = ""


# --- the fleet -------------------------------------------------------------------------------
class FleetMemberServer(Answer):
    """One agent of a fleet member, a server of this Central's registry."""

    id: int
    kind: str
    name: str
    state: str = "unknown"
    last_seen: str | None = None


class FleetMember(Answer):
    """An appliance in this Central's fleet, with its servers' health."""

    id: int
    name: str
    address: str
    joined_at: str
    servers: list[FleetMemberServer] = []


class FleetJoinCode(Answer):
    """A one-time join code for a new appliance (shown once), and what goes with it."""

    id: int
    code: str
    expires_at: str
    central_address: str = ""
    central_port: int = 1231
    ca_fingerprint: str


class SeedJoin(Answer):
    """The join asked for by the first-boot seed (never its code)."""

    state: str
    address: str = ""
    port: int | str = 1231
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: str | None = None


class FleetMembership(Answer):
    """Whether this appliance is in a fleet, and whose."""

    joined: bool = False
    address: str | None = None
    port: int | None = None
    ca_fingerprint: str | None = None
    member_id: int | None = None
    joined_at: str | None = None
    seed_join: SeedJoin | None = None
