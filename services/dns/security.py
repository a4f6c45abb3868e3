"""The dns-agent's TSIG keys, DNSSEC policies and the DNSSEC state of zones.

A key or a policy is rendered into ``zones.conf`` and loaded the way every configuration is
(``services.dns.config``: named-checkconf, ``rndc reconfig``, the last good one put back if
named refuses it); only then is it stored. A key named by a zone, or a policy a zone is signed
with, is not deleted: the refusal names the zones.

Unsigning a zone (``dnssec_policy`` set to null) goes in two steps, as BIND 9.18 wants it
(ARM, "Revert to Unsigned"): first the zone is given BIND's ``insecure`` policy, so named keeps
the signatures until the DS records have aged out of caches and then removes the keys; once
named serves no DNSKEY any more, the next such request takes the policy away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dns.name
import dns.rdatatype

from services.common.dns.contract import ChangeSet, ZoneKind, ZonePublic
from services.common.dns.dnssec import BUILTIN_POLICIES, DnssecPolicy, DsChange, ZoneDnssec
from services.common.dns.keystate import ds_records, served_dnskeys, signed_rrset, zone_keys
from services.common.dns.records import Record
from services.common.dns.tsig import TsigKeyInstall, TsigKeyPublic
from services.common.errors import (
    ConflictError,
    DaemonError,
    FieldProblem,
    NotFoundError,
    ValidationError,
)
from services.dns.keys import KeyStore, PolicyStore

if TYPE_CHECKING:
    from services.dns.service import DnsService

log = logging.getLogger(__name__)


def config_lock(service: DnsService) -> Any:
    """The lock that guards named's configuration in the agent: its configuration lock where
    zones have locks of their own, else its one lock."""
    locks = getattr(service, "locks", None)
    return locks.config if locks is not None else getattr(service, "lock")  # noqa: B009


def key_names(zone: ZonePublic) -> set[str]:
    """The TSIG key objects ``zone`` names (updates, grants, transfers)."""
    return {*zone.update_keys, *zone.transfer_keys, *(g.key for g in zone.update_grants)}


def is_unsigning(policy: str | None) -> bool:
    return policy == "insecure"


def known_policies(root_policies: dict[str, DnssecPolicy]) -> set[str]:
    return set(BUILTIN_POLICIES) | set(root_policies)


def check_references(
    service: DnsService,
    zone: ZonePublic,
    others: dict[str, ZonePublic],
    *,
    longest_ttl: int | None = None,
) -> None:
    """The keys and the policy ``zone`` names exist; its secondary key clashes with none;
    no TTL of the zone (``longest_ttl``, else the zone's default) is above the policy's
    ``max-zone-ttl`` (named would not load the zone: BIND ARM, "max-zone-ttl")."""
    keys = KeyStore(service.root).load()
    policies = PolicyStore(service.root).load()
    problems: list[FieldProblem] = []
    policy = policies.get(zone.dnssec_policy or "")
    longest = max(zone.ttl, longest_ttl or 0)
    if policy is not None and longest > policy.max_zone_ttl:
        problems.append(
            FieldProblem(
                "dnssec_policy",
                f"dnssec-policy {policy.name} allows TTLs up to {policy.max_zone_ttl} s "
                f"(max_zone_ttl) and the zone has a TTL of {longest} s: lower the TTLs first",
            )
        )
    for field in ("update_keys", "transfer_keys"):
        for index, name in enumerate(getattr(zone, field)):
            if name not in keys:
                problems.append(FieldProblem(f"{field}[{index}]", f"there is no TSIG key {name}"))
    origin = dns.name.from_text(zone.name)
    for index, grant in enumerate(zone.update_grants):
        if grant.key not in keys:
            problems.append(
                FieldProblem(f"update_grants[{index}].key", f"there is no TSIG key {grant.key}")
            )
        if grant.name and not dns.name.from_text(grant.name, origin=origin).is_subdomain(origin):
            problems.append(
                FieldProblem(f"update_grants[{index}].name", f"{grant.name} is not in {zone.name}")
            )
    if zone.dnssec_policy and zone.dnssec_policy not in known_policies(policies):
        problems.append(
            FieldProblem("dnssec_policy", f"there is no dnssec-policy {zone.dnssec_policy}")
        )
    if zone.tsig_key is not None:
        if zone.tsig_key.name in keys:
            problems.append(
                FieldProblem("tsig_key.name", f"{zone.tsig_key.name} is a TSIG key object here")
            )
        for other in others.values():
            key = other.tsig_key
            if other.name != zone.name and key is not None and key.name == zone.tsig_key.name:
                if key != zone.tsig_key:
                    problems.append(
                        FieldProblem(
                            "tsig_key.name",
                            f"zone {other.name} has another key named {key.name}",
                        )
                    )
    if zone.forwarders:
        from services.dns.service import local_addresses

        present = local_addresses()
        for index, address in enumerate(zone.forwarders):
            if str(address) in present:
                problems.append(
                    FieldProblem(
                        f"forwarders[{index}]",
                        f"{address} is this appliance's own address: named would ask itself",
                    )
                )
    if problems:
        raise ValidationError(f"{problems[0].field}: {problems[0].message}", problems=problems)


#: BIND's ``default`` policy's ``max-zone-ttl`` (ARM, "dnssec-policy": P1D).
DEFAULT_MAX_ZONE_TTL = 86400


def check_signed_ttls(service: DnsService, zone: ZonePublic, changeset: ChangeSet) -> None:
    """No record of ``changeset`` has a TTL above the ``max-zone-ttl`` of the policy that
    signs ``zone``: named would take it (lowering it) and then not load the zone again."""
    if not zone.dnssec_policy or zone.dnssec_policy == "insecure":
        return
    policy = PolicyStore(service.root).load().get(zone.dnssec_policy)
    limit = policy.max_zone_ttl if policy is not None else DEFAULT_MAX_ZONE_TTL
    problems: list[FieldProblem] = []
    for index, change in enumerate(changeset.changes):
        for part, record in (("record", change.record), ("new", change.new)):
            if part == "record" and change.action == "update":
                continue  # the record as it is: its TTL is already in the zone
            if change.action == "delete" or record is None or record.ttl is None:
                continue
            if record.ttl > limit:
                problems.append(
                    FieldProblem(
                        f"changes[{index}].{part}.ttl",
                        f"the zone is signed with dnssec-policy {zone.dnssec_policy}, which "
                        f"allows TTLs up to {limit} s (max_zone_ttl)",
                        {"name": record.name, "type": record.type},
                    )
                )
    if problems:
        raise ValidationError(f"{problems[0].field}: {problems[0].message}", problems=problems)


def await_signatures(
    service: DnsService,
    zone: ZonePublic,
    added: Sequence[Record],
    timeout: float = 120.0,
) -> None:
    """After a signed zone's file was rewritten (a change too large for one UPDATE), wait
    until named has signed what it loaded: the apex's SOA and DNSKEY and the RRsets added
    (up to 20 of them, spread over the change) carry signatures. named signs the loaded zone
    in the background, within a second or two; until then validators would find those RRsets
    unsigned."""
    if not zone.dnssec_policy:
        return
    origin = dns.name.from_text(zone.name)
    key = service.client.key
    step = max(1, len(added) // 20)
    wanted = {(origin, dns.rdatatype.SOA), (origin, dns.rdatatype.DNSKEY)}
    wanted |= {(r.name, r.rdata.rdtype) for r in [*added[::step], *added[-1:]]}
    deadline = time.monotonic() + timeout
    while wanted and time.monotonic() < deadline:
        wanted = {(name, rdtype) for name, rdtype in wanted if not signed_rrset(name, rdtype, key)}
        if wanted:
            time.sleep(0.1)
    if wanted:
        log.warning("named had not signed %s again %g s after the rewrite", zone.name, timeout)


def longest_served_ttl(service: DnsService, zone: ZonePublic) -> int:
    """The longest TTL of the records named serves in ``zone`` (its SOA too)."""
    served = service.client.axfr(dns.name.from_text(zone.name))
    return max([served.soa_ttl, *(r.ttl for r in served.records)])


def unsign_step(service: DnsService, zone: ZonePublic, fields: dict[str, Any]) -> None:
    """Turn ``dnssec_policy: null`` in ``fields`` into the step of unsigning that is due."""
    if "dnssec_policy" not in fields or fields["dnssec_policy"] is not None:
        return
    current = zone.dnssec_policy
    if current is None:
        return
    if not is_unsigning(current):
        fields["dnssec_policy"] = "insecure"
        return
    if served_dnskeys(dns.name.from_text(zone.name), service.client.key):
        fields["dnssec_policy"] = current  # still unsigning: named serves keys


class Security:
    """Keys, policies and DNSSEC state, under the agent's lock."""

    def __init__(self, service: DnsService) -> None:
        self.service = service
        self.keys = KeyStore(service.root)
        self.policies = PolicyStore(service.root)

    # --- TSIG keys ---------------------------------------------------------------------
    def _users(self, name: str) -> list[str]:
        return sorted(z.name for z in self.service.store.load().values() if name in key_names(z))

    def list_keys(self) -> list[TsigKeyPublic]:
        zones = self.service.store.load().values()
        return [
            TsigKeyPublic(
                name=k.name,
                algorithm=k.algorithm,
                zones=sorted(z.name for z in zones if k.name in key_names(z)),
            )
            for k in self.keys.load().values()
        ]

    def add_key(self, key: TsigKeyInstall) -> TsigKeyPublic:
        with config_lock(self.service):
            keys = self.keys.load()
            if key.name in keys:
                raise ConflictError(f"There is a TSIG key {key.name} already.", field="name")
            zones = self.service.store.load()
            for zone in zones.values():
                if zone.tsig_key is not None and zone.tsig_key.name == key.name:
                    raise ConflictError(
                        f"Secondary zone {zone.name} uses a key named {key.name}.", field="name"
                    )
            keys[key.name] = key
            self.service.config.apply(zones, self.service.options(), keys=keys)
            self.keys.save(keys)
            return TsigKeyPublic(name=key.name, algorithm=key.algorithm)

    def delete_key(self, name: str) -> None:
        with config_lock(self.service):
            keys = self.keys.load()
            if name not in keys:
                raise NotFoundError(f"There is no TSIG key {name}.", field="name")
            users = self._users(name)
            if users:
                raise ConflictError(
                    f"TSIG key {name} is in use by zone {', '.join(users)}; take it out of "
                    "the zone first.",
                    field="name",
                )
            del keys[name]
            self.service.config.apply(self.service.store.load(), self.service.options(), keys=keys)
            self.keys.save(keys)

    # --- DNSSEC policies -----------------------------------------------------------------
    def list_policies(self) -> list[DnssecPolicy]:
        return list(self.policies.load().values())

    def put_policy(self, policy: DnssecPolicy) -> DnssecPolicy:
        """Define or change a policy; named re-plans the keys of the zones it signs."""
        with config_lock(self.service):
            policies = self.policies.load()
            policies[policy.name] = policy
            self.service.config.apply(
                self.service.store.load(), self.service.options(), policies=policies
            )
            self.policies.save(policies)
            return policy

    def delete_policy(self, name: str) -> None:
        with config_lock(self.service):
            policies = self.policies.load()
            if name not in policies:
                raise NotFoundError(f"There is no dnssec-policy {name}.", field="name")
            users = sorted(
                z.name for z in self.service.store.load().values() if z.dnssec_policy == name
            )
            if users:
                raise ConflictError(
                    f"dnssec-policy {name} signs zone {', '.join(users)}; unsign them or give "
                    "them another policy first.",
                    field="name",
                )
            del policies[name]
            self.service.config.apply(
                self.service.store.load(), self.service.options(), policies=policies
            )
            self.policies.save(policies)

    # --- the DNSSEC state of a zone --------------------------------------------------------
    def zone_dnssec(self, name: str) -> ZoneDnssec:
        zone = self.service._get(name)
        if zone.kind != ZoneKind.primary:
            raise ConflictError(f"Zone {zone.name} is a {zone.kind.value} zone.", field="zone")
        origin = dns.name.from_text(zone.name)
        dnskeys = served_dnskeys(origin, self.service.client.key) if zone.enabled else []
        status = ""
        if zone.dnssec_policy and zone.enabled:
            try:
                status = self.service.named.rndc("dnssec", "-status", zone.name, timeout=10)
            except DaemonError as exc:
                status = exc.message
        return ZoneDnssec(
            zone=zone.name,
            policy=zone.dnssec_policy,
            signed=bool(dnskeys),
            unsigning=is_unsigning(zone.dnssec_policy),
            keys=zone_keys(self.service.root.bind_keys, zone.name) if zone.dnssec_policy else [],
            dnskey=sorted(k.to_text() for k in dnskeys),
            ds=ds_records(origin, dnskeys),
            status=status.strip(),
        )

    def rollover(self, name: str, key_id: int) -> ZoneDnssec:
        """Roll key ``key_id`` of zone ``name`` now (``rndc dnssec -rollover``)."""
        zone = self.service._get(name)
        if not zone.dnssec_policy or is_unsigning(zone.dnssec_policy):
            raise ConflictError(f"Zone {zone.name} is not signed.", field="zone")
        ids = {k.id for k in zone_keys(self.service.root.bind_keys, zone.name)}
        if key_id not in ids:
            raise ValidationError(f"Zone {zone.name} has no key {key_id}.", field="key_id")
        self.service.named.rndc("dnssec", "-rollover", "-key", str(key_id), zone.name)
        return self.zone_dnssec(name)

    def checkds(self, name: str, change: DsChange) -> ZoneDnssec:
        """Tell named the parent's DS records are published or withdrawn."""
        zone = self.service._get(name)
        if not zone.dnssec_policy:
            raise ConflictError(f"Zone {zone.name} is not signed.", field="zone")
        args = ["dnssec", "-checkds"]
        if change.key_id is not None:
            ids = {k.id for k in zone_keys(self.service.root.bind_keys, zone.name)}
            if change.key_id not in ids:
                raise ValidationError(
                    f"Zone {zone.name} has no key {change.key_id}.", field="key_id"
                )
            args += ["-key", str(change.key_id)]
        self.service.named.rndc(*args, change.state, zone.name)
        return self.zone_dnssec(name)
