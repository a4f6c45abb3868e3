"""The dns-agent's operations: zones, records, import and export, server options.

Plan → check → apply, as octoDNS does: a change set is read against the zone as named serves it
(AXFR), checked whole (``services.common.dns.validate``), then applied in one step per zone. A
change that fits one RFC 2136 UPDATE message (64 KiB) goes as one, with the zone's SOA as a
prerequisite, so a change made meanwhile makes it fail whole and it is planned again. A larger
one is applied by rewriting the zone file: ``rndc freeze``, write and check the new file,
``rndc thaw``; the old file is put back if named does not serve the new serial. Either way a
change is applied completely or not at all.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.reversename
from pydantic import ValidationError as PydanticValidationError

from services.common.dns.contract import (
    Change,
    ChangeResult,
    ChangeSet,
    ImportedRecord,
    ImportPreview,
    ImportRefusal,
    RecordData,
    Soa,
    ZoneContent,
    ZoneCreate,
    ZoneExport,
    ZoneImport,
    ZoneImported,
    ZoneKind,
    ZonePublic,
    ZoneRows,
    ZoneUpdate,
)
from services.common.dns.named_conf import options_path, stored_options
from services.common.dns.options import ServerOptions
from services.common.dns.records import Record
from services.common.dns.validate import (
    Plan,
    Problem,
    RecordKey,
    RecordValidationError,
    plan_changes,
)
from services.common.errors import ConflictError, DaemonError, NotFoundError, ValidationError
from services.common.faults import FaultPoints
from services.common.files import write_atomic
from services.common.paths import StateRoot
from services.common.problems import validation_problems
from services.common.proc import run
from services.common.settings import ApplianceSettings
from services.dns import refusal
from services.dns.config import BindConfig, ZoneStore, give_to_named
from services.dns.locks import ZoneLocks
from services.dns.named import Named, ZoneCheckError
from services.dns.quick_import import QuickZone, read_quick
from services.dns.running import running_options
from services.dns.security import (
    await_signatures,
    check_references,
    check_signed_ttls,
    longest_served_ttl,
    unsign_step,
)
from services.dns.served_cache import ServedCache
from services.dns.transport import NamedClient, Served, UpdateTooBigError, load_key, rcode_text
from services.dns.zonefile import (
    ZoneFile,
    make_soa,
    read_zone_file,
    serial_next,
    soa_fields,
    zone_text,
)

log = logging.getLogger(__name__)

#: How often a change set is planned again when the zone changed under it.
ATTEMPTS = 3


def local_addresses() -> set[str]:
    """The addresses of this appliance's interfaces (named can listen only on those)."""
    out = run(["ip", "-j", "address", "show"], timeout=10).stdout
    return {
        str(ipaddress.ip_address(info["local"]))
        for link in json.loads(out)
        for info in link.get("addr_info", [])
    }


def zone_name(text: str) -> str:
    return (text if text.endswith(".") else text + ".").lower()


class _ZoneChangedError(Exception):
    """The zone changed between planning and applying."""


_RECORD_FIELD = re.compile(r"^records\[(\d+)\](.*)$")


def at_lines(problems: list[Problem], zone_file: ZoneFile) -> list[Problem]:
    """Problems of an import's records (``records[17].data``) at the lines of the file they
    came from (field ``line 23``, ``line`` 23)."""
    out = []
    for problem in problems:
        match = _RECORD_FIELD.match(problem.field)
        if match is None or int(match.group(1)) >= len(zone_file.lines):
            out.append(problem)
            continue
        line = zone_file.lines[int(match.group(1))]
        out.append(Problem(f"line {line}", problem.name, problem.type, problem.message, line))
    return out


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line if p.line is not None else float("inf"))


def _checked(
    error: ZoneCheckError, origin: dns.name.Name, plan: Plan, fallback: str
) -> RecordValidationError:
    """named-checkzone's refusal of a zone made from ``plan``, naming the records."""
    problems = refusal.explain(
        error.lines, refusal.sources_of(plan), fallback=fallback, zone=origin, result=plan.result
    )
    return RecordValidationError(problems or [Problem(fallback, origin.to_text(), "", str(error))])


@dataclass
class _ImportCheck:
    """What reading an imported file found: the records kept, the problems, the plan."""

    origin: dns.name.Name
    zone_file: ZoneFile
    refused: list[Problem] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    plan: Plan | None = None
    text: str | None = None
    soa: Soa | None = None
    soa_ttl: int = 3600

    def __post_init__(self) -> None:
        self.refused = list(self.zone_file.problems)

    def refuse(self, problem: Problem) -> None:
        self.refused.append(problem)

    def refuse_records(self, problems: list[Problem], kept: list[int]) -> list[int] | None:
        """Refuse the records ``problems`` name (``records[3]`` is the 4th of ``kept``), at
        their lines; the indexes of the records still kept, None if none was left out."""
        dropped: set[int] = set()
        for problem in problems:
            match = _RECORD_FIELD.match(problem.field)
            if match is None or int(match.group(1)) >= len(kept):
                self.refused.append(problem)
                continue
            index = kept[int(match.group(1))]
            dropped.add(index)
            line = self.zone_file.lines[index]
            self.refused.append(
                Problem(f"line {line}", problem.name, problem.type, problem.message, line)
            )
        if not dropped:
            return None
        return [i for i in kept if i not in dropped]

    def own(self, problems: list[Problem]) -> list[Problem]:
        """``problems`` of the plan without the apex-NS one when the reader said it of the
        file already (it would name a record of the apex that is not at fault)."""
        if not any(p.type == "NS" and p.line is None for p in self.zone_file.problems):
            return problems
        return [p for p in problems if not p.message.startswith("the zone's apex must keep")]

    def blocking(self) -> bool:
        """A problem of the whole file (no line): the file cannot be imported at all."""
        return any(p.line is None for p in self.refused)

    def importable_leaving_out(self) -> bool:
        return not self.blocking() and self.text is not None

    def refusals(self) -> list[ImportRefusal]:
        return [
            ImportRefusal(
                line=p.line, field=p.field, name=p.name, type=p.type, message=p.message,
                can_leave_out=p.line is not None,
            )
            for p in _in_file_order(self.refused)
        ]  # fmt: skip


def _rows(
    zone: str, soa: dns.rdtypes.ANY.SOA.SOA, soa_ttl: int, rows: list[tuple[str, str, int, str]]
) -> ZoneRows:
    """An imported zone's records as rows (made by the agent itself: not validated again)."""
    return ZoneRows.model_construct(
        zone=zone,
        serial=soa.serial,
        soa=RecordData(name=zone, type="SOA", ttl=soa_ttl, data=soa.to_text()),
        rows=rows,
    )


@dataclass
class PtrChanges:
    """The PTR side of a change set, per reverse zone."""

    deletes: dict[str, list[Record]] = field(default_factory=dict)
    adds: dict[str, list[Record]] = field(default_factory=dict)

    def zones(self) -> list[str]:
        return sorted(set(self.deletes) | set(self.adds))


class DnsService:
    """Everything the dns-agent does to named: changes to one zone one at a time, changes to
    different zones side by side (``services.dns.locks``)."""

    def __init__(self, root: StateRoot) -> None:
        self.root = root
        self.named = Named(root)
        self.config = BindConfig(root, self.named)
        self.store = ZoneStore(root)
        self.locks = ZoneLocks()
        self._client: NamedClient | None = None
        self.cache = ServedCache()

    @property
    def client(self) -> NamedClient:
        if self._client is None:
            self._client = NamedClient(load_key(self.root.tsig_key))
        return self._client

    # --- zones ----------------------------------------------------------------
    def zones(self) -> list[ZonePublic]:
        zones = self.store.load()
        return [self._with_serial(z) for z in sorted(zones.values(), key=lambda z: z.name)]

    def zone(self, name: str) -> ZonePublic:
        return self._with_serial(self._get(name))

    def _get(self, name: str) -> ZonePublic:
        zone = self.store.load().get(zone_name(name))
        if zone is None:
            raise NotFoundError(f"No zone {zone_name(name)} on this appliance.", field="zone")
        return zone

    def _with_serial(self, zone: ZonePublic) -> ZonePublic:
        serial = None
        if zone.enabled and zone.kind != ZoneKind.forward:
            with contextlib.suppress(DaemonError):
                soa = self.client.soa(dns.name.from_text(zone.name), timeout=1.0)
                serial = soa.serial if soa is not None else None
        return zone.model_copy(update={"serial": serial})

    def _primary(self, name: str) -> ZonePublic:
        zone = self._get(name)
        if zone.kind != ZoneKind.primary:
            raise ConflictError(
                f"Zone {zone.name} is a {zone.kind.value} zone; only primary zones have records "
                "managed here.",
                field="zone",
            )
        if not zone.enabled:
            raise ConflictError(f"Zone {zone.name} is disabled; enable it first.", field="zone")
        return zone

    def _nameserver_records(
        self, spec: ZoneCreate, origin: dns.name.Name
    ) -> tuple[list[Change], list[Change]]:
        """NS records of the apex, and an address for a default in-zone name server."""
        names = spec.nameservers or ["ns1"]
        ns = [
            Change(action="create", record=RecordData(name="@", type="NS", ttl=spec.ttl, data=n))
            for n in names
        ]
        glue: list[Change] = []
        if not spec.nameservers:
            has_address = any(
                r.type in ("A", "AAAA") and r.name in ("ns1", f"ns1.{spec.name}")
                for r in spec.records
            )
            if not has_address:
                address = ApplianceSettings.load(self.root.appliance_settings).ip
                glue.append(
                    Change(
                        action="create",
                        record=RecordData(name="ns1", type="A", ttl=spec.ttl, data=address),
                    )
                )
        return ns, glue

    def create_zone(self, spec: ZoneCreate) -> ZonePublic:
        with self.locks.zone(spec.name):
            origin = dns.name.from_text(spec.name)
            self.cache.forget(origin)
            if spec.name in self.store.load():
                raise ConflictError(f"Zone {spec.name} exists already.", field="name")
            zone = ZonePublic(**spec.model_dump(exclude={"records"}))
            longest = max((r.ttl or 0 for r in spec.records), default=0)
            check_references(self, zone, self.store.load(), longest_ttl=longest)
            if spec.kind != ZoneKind.primary:
                if spec.records:
                    raise ValidationError(
                        "Only a primary zone can be created with records.", field="records"
                    )
                if spec.kind != ZoneKind.forward:
                    zone.file = str(self.store.zone_file(spec.name, spec.kind))
                with self.locks.config:
                    zones = self.store.load()
                    zones[zone.name] = zone
                    self.config.apply(zones, self.options())
                    self.store.save(zones)
                return self._with_serial(zone)
            ns, glue = self._nameserver_records(spec, origin)
            strict = spec.strict_hostnames
            base = plan_changes(
                origin, [], ns, spec.ttl, prefix="nameservers", record_field="",
                strict_hostnames=strict,
            )  # fmt: skip
            if glue:
                base = plan_changes(
                    origin,
                    base.result.values(),
                    glue,
                    spec.ttl,
                    prefix="nameservers",
                    record_field="",
                    strict_hostnames=strict,
                )
            records = [Change(action="create", record=r) for r in spec.records]
            plan = plan_changes(
                origin, base.result.values(), records, spec.ttl, prefix="records",
                record_field="", strict_hostnames=strict,
            )  # fmt: skip
            plan.sources = {**base.sources, **plan.sources}
            plan.adds = [*base.adds, *plan.adds]
            zone.file = str(self.store.zone_file(spec.name, spec.kind))
            soa = make_soa(origin, spec.soa, int(time.time()))
            text = zone_text(origin, soa, spec.ttl, plan.result.values())
            self._install_zone(zone, text, plan)
            return self._with_serial(zone)

    def _install_zone(
        self,
        zone: ZonePublic,
        text: str,
        plan: Plan,
        fallback: str = "records",
        *,
        checked: bool = False,
    ) -> None:
        """Check the zone file ``text`` of the new ``zone``, put it in place and add the zone
        to named's configuration (the caller holds the zone's lock); ``checked``:
        named-checkzone has read this very text already."""
        assert zone.file is not None
        path = Path(zone.file)
        candidate = path.with_name(path.name + ".new")
        write_atomic(candidate, text)
        try:
            if not checked:
                self.named.check_zone(zone.name, candidate, strict=zone.strict_hostnames)
        except ZoneCheckError as exc:
            candidate.unlink(missing_ok=True)
            raise _checked(exc, dns.name.from_text(zone.name), plan, fallback) from exc
        except ValidationError:
            candidate.unlink(missing_ok=True)
            raise
        give_to_named(candidate)
        Path(f"{path}.jnl").unlink(missing_ok=True)
        os.replace(candidate, path)
        with self.locks.config:
            zones = self.store.load()
            zones[zone.name] = zone
            try:
                self.config.apply(zones, self.options(), must_load=[zone.name])
            except Exception:
                path.unlink(missing_ok=True)
                raise
            self.store.save(zones)

    def update_zone(self, name: str, update: ZoneUpdate) -> ZonePublic:
        """Change SOA fields (by a TSIG-signed UPDATE of the SOA) and zone options (config)."""
        with self.locks.zone(name):
            zone = self._get(name)
            self.cache.forget(dns.name.from_text(zone.name))
            fields = update.model_dump(exclude_unset=True)
            soa = fields.pop("soa", None)
            unsign_step(self, zone, fields)
            try:
                changed = ZonePublic.model_validate({**zone.model_dump(), **fields})
            except PydanticValidationError as exc:
                problems = validation_problems(exc.errors())
                raise ValidationError(
                    f"{problems[0].field}: {problems[0].message}" if problems else str(exc),
                    problems=problems,
                ) from exc
            longest = None
            if changed.dnssec_policy and changed.dnssec_policy != zone.dnssec_policy:
                longest = longest_served_ttl(self, zone) if zone.enabled else None
            check_references(self, changed, self.store.load(), longest_ttl=longest)
            if soa is not None:
                if zone.kind != ZoneKind.primary or not zone.enabled:
                    raise ConflictError(
                        "SOA fields are set on enabled primary zones only.", field="soa"
                    )
                changed.soa = update.soa or changed.soa
                self._update_soa(changed)
            with self.locks.config:
                zones = self.store.load()
                zones[changed.name] = changed
                if changed.model_dump(exclude={"soa"}) != zone.model_dump(exclude={"soa"}):
                    self.config.apply(zones, self.options())
                self.store.save(zones)
            return self._with_serial(changed)

    def _update_soa(self, zone: ZonePublic) -> None:
        origin = dns.name.from_text(zone.name)
        for _attempt in range(ATTEMPTS):
            served = self.client.axfr(origin)
            soa = make_soa(origin, zone.soa, serial_next(served.soa.serial))
            record = Record(origin, "SOA", served.soa_ttl, soa)
            rcode = self.client.update(
                origin, [], [record], expect_soa=(served.soa, served.soa_ttl)
            )
            if rcode == dns.rcode.NOERROR:
                return
            if rcode != dns.rcode.NXRRSET:
                raise DaemonError(
                    f"named did not take the new SOA fields of {zone.name} "
                    f"({rcode_text(rcode)}); nothing was changed.",
                    hint="see named's log",
                )
        raise ConflictError(f"Zone {zone.name} kept changing; try again.")

    def delete_zone(self, name: str) -> None:
        with self.locks.zone(name):
            zone = self._get(name)
            self.cache.forget(dns.name.from_text(zone.name))
            with self.locks.config:
                zones = self.store.load()
                del zones[zone.name]
                self.config.apply(zones, self.options())
                self.store.save(zones)
            if zone.file:
                for suffix in ("", ".jnl", ".good", ".new"):
                    Path(zone.file + suffix).unlink(missing_ok=True)

    def set_enabled(self, name: str, enabled: bool) -> ZonePublic:
        with self.locks.zone(name):
            zone = self._get(name)
            self.cache.forget(dns.name.from_text(zone.name))
            if zone.enabled != enabled:
                with self.locks.config:
                    zones = self.store.load()
                    zone.enabled = enabled
                    zones[zone.name] = zone
                    must = [zone.name] if enabled and zone.kind == ZoneKind.primary else []
                    self.config.apply(zones, self.options(), must_load=must)
                    self.store.save(zones)
            return self._with_serial(zone)

    # --- records ----------------------------------------------------------------
    def records(self, name: str) -> ZoneContent:
        zone = self._get(name)
        if not zone.enabled:
            raise ConflictError(f"Zone {zone.name} is disabled.", field="zone")
        origin = dns.name.from_text(zone.name)
        served = self.client.axfr(origin)
        # Each record's text is made once (it is the costly part for a large zone), and the
        # records are built without validation: they are named's own, as dnspython wrote them.
        # Sorted by owner in DNS order: the owner's labels from the right, lowercased, as a
        # tuple compare as dnspython compares names, without a comparison of names per step.
        texts = sorted(
            ((r.name, r.rtype, r.rdata.to_text(), r.ttl) for r in served.records),
            key=lambda item: (
                tuple(label.lower() for label in reversed(item[0].labels)),
                item[1],
                item[2],
            ),
        )
        return ZoneContent(
            zone=zone.name,
            serial=served.soa.serial,
            soa=RecordData(
                name=zone.name, type="SOA", ttl=served.soa_ttl, data=served.soa.to_text()
            ),
            records=[
                RecordData.model_construct(name=name.to_text(), type=rtype, ttl=ttl, data=data)
                for name, rtype, data, ttl in texts
            ],
        )

    def apply(self, name: str, changeset: ChangeSet) -> ChangeResult:
        with self.locks.zone(name):
            zone = self._primary(name)
            check_signed_ttls(self, zone, changeset)
            origin = dns.name.from_text(zone.name)
            for _attempt in range(ATTEMPTS):
                served = self.cache.served(self.client, origin)
                try:
                    existing = served.index if served.index is not None else served.records
                    plan = plan_changes(
                        origin,
                        existing,
                        changeset.changes,
                        zone.ttl,
                        strict_hostnames=zone.strict_hostnames,
                    )
                    ptr = self._ptr_changes(plan)
                    FaultPoints(self.root, "dns-agent").reach("before-apply")
                    method = self._apply_plan(zone, origin, served, plan)
                except _ZoneChangedError:
                    self.cache.forget(origin)
                    log.info("zone %s changed while a change was applied; planning again", name)
                    continue
                except BaseException:
                    self.cache.forget(origin)
                    raise
                if method == "update" and zone.name not in ptr.zones():
                    self.cache.after_update(self.client, origin, served, plan)
                else:
                    self.cache.forget(origin)
                with self.locks.holding(ptr.zones()):
                    for reverse in ptr.zones():
                        self._update(
                            dns.name.from_text(reverse),
                            ptr.deletes.get(reverse, []),
                            ptr.adds.get(reverse, []),
                            replace_ptr=True,
                        )
                soa = self.client.soa(origin)
                FaultPoints(self.root, "dns-agent").reach("after-apply")
                return ChangeResult(
                    zone=zone.name,
                    applied=len(changeset.changes),
                    serial=soa.serial if soa is not None else 0,
                    method=method,
                    ptr_zones=ptr.zones(),
                )
        raise ConflictError(f"Zone {name} kept changing while the change was applied; try again.")

    def _apply_plan(
        self, zone: ZonePublic, origin: dns.name.Name, served: Served, plan: Plan
    ) -> Literal["update", "reload"]:
        if not plan.deletes and not plan.adds:
            return "update"
        offset = self.named.log_offset()
        try:
            rcode = self.client.update(
                origin, plan.deletes, plan.adds, expect_soa=(served.soa, served.soa_ttl)
            )
        except UpdateTooBigError:
            self._reload(zone, origin, served, plan)
            await_signatures(self, zone, plan.adds)
            return "reload"
        if rcode == dns.rcode.NXRRSET:
            raise _ZoneChangedError()
        if rcode != dns.rcode.NOERROR:
            raise refusal.update_refused(origin, rcode, self._update_log(origin, offset), plan)
        return "update"

    def _update_log(self, origin: dns.name.Name, offset: int) -> list[str]:
        """named's log lines about the refused update of ``origin`` (written since ``offset``)."""
        zone = origin.to_text(omit_final_dot=True)
        marks = (f"updating zone '{zone}/IN'", f"update '{zone}/IN'")

        def ours(lines: list[str]) -> list[str]:
            return [line for line in lines if any(mark in line for mark in marks)]

        def done(lines: list[str]) -> bool:
            return any(refusal.gives_reason(line) for line in ours(lines))

        return ours(self.named.log_since(offset, done, timeout=1.0))

    def _update(
        self,
        origin: dns.name.Name,
        deletes: list[Record],
        adds: list[Record],
        *,
        replace_ptr: bool = False,
    ) -> None:
        replace = [(r.name, "PTR") for r in adds] if replace_ptr else []
        self.cache.forget(origin)
        try:
            rcode = self.client.update(origin, deletes, adds, replace=replace)
        except UpdateTooBigError:
            served = self.client.axfr(origin)
            state: dict[RecordKey, Record] = {r.key: r for r in served.records}
            for name, _ in replace:
                state = {
                    k: r for k, r in state.items() if not (r.name == name and r.rtype == "PTR")
                }
            for record in deletes:
                state.pop(record.key, None)
            for record in adds:
                state[record.key] = record
            zone = self._get(origin.to_text())
            self._reload(zone, origin, served, Plan(deletes, adds, state))
            return
        if rcode != dns.rcode.NOERROR:
            raise DaemonError(
                f"The change was applied, but named refused its PTR records in {origin} "
                f"({rcode_text(rcode)}); the next sync brings the reverse zone up to date.",
                hint="see named's log",
            )

    def _ptr_changes(self, plan: Plan) -> PtrChanges:
        result = PtrChanges()
        if not plan.ptr_adds and not plan.ptr_deletes:
            return result
        zones = [z for z in self.store.load().values() if z.enabled and z.kind == ZoneKind.primary]
        problems: list[Problem] = []

        def reverse_zone(index: int, record: Record) -> tuple[str, dns.name.Name] | None:
            rev = dns.reversename.from_address(record.data)
            holders = [z for z in zones if rev.is_subdomain(dns.name.from_text(z.name))]
            if not holders:
                problems.append(
                    Problem(
                        f"changes[{index}].ptr",
                        record.name.to_text(),
                        record.rtype,
                        f"no managed zone holds {rev}",
                    )
                )
                return None
            return max(holders, key=lambda z: len(z.name)).name, rev

        def ptr(record: Record, rev: dns.name.Name) -> Record:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.PTR, record.name.to_text())
            return Record(rev, "PTR", record.ttl, rdata)

        for index, record in plan.ptr_deletes:
            found = reverse_zone(index, record)
            if found:
                result.deletes.setdefault(found[0], []).append(ptr(record, found[1]))
        for index, record in plan.ptr_adds:
            found = reverse_zone(index, record)
            if found:
                result.adds.setdefault(found[0], []).append(ptr(record, found[1]))
        if problems:
            raise RecordValidationError(problems)
        return result

    def _reload(self, zone: ZonePublic, origin: dns.name.Name, served: Served, plan: Plan) -> None:
        """Apply a change too large for one UPDATE by rewriting the zone file (see above)."""
        assert zone.file is not None
        path = Path(zone.file)
        good = Path(f"{path}.good")
        candidate = Path(f"{path}.new")
        soa = served.soa.replace(serial=serial_next(served.soa.serial))
        assert isinstance(soa, dns.rdtypes.ANY.SOA.SOA)
        write_atomic(candidate, zone_text(origin, soa, served.soa_ttl, plan.result.values()))
        try:
            self.named.check_zone(
                zone.name, candidate, field="changes", strict=zone.strict_hostnames
            )
        except ZoneCheckError as exc:
            candidate.unlink(missing_ok=True)
            raise _checked(exc, origin, plan, "changes") from exc
        except ValidationError:
            candidate.unlink(missing_ok=True)
            raise
        give_to_named(candidate)
        # freeze: named stops taking updates and writes its journal into the zone file.
        try:
            self.named.rndc("freeze", zone.name)
        except DaemonError:
            candidate.unlink(missing_ok=True)
            raise
        replaced = False
        try:
            current = self.client.soa(origin)
            if current is None or current.serial != served.soa.serial:
                candidate.unlink(missing_ok=True)
                raise _ZoneChangedError()
            shutil.copy2(path, good)
            Path(f"{path}.jnl").unlink(missing_ok=True)
            os.replace(candidate, path)
            replaced = True
        finally:
            thawed = self._thaw(zone.name)
        if replaced and not self._serves(origin, soa.serial, thawed):
            log.error("named did not load the new %s; restoring the last good zone file", zone.name)
            shutil.copy2(good, path)
            Path(f"{path}.jnl").unlink(missing_ok=True)
            give_to_named(path)
            if self.named.wait_up():
                with contextlib.suppress(DaemonError):
                    self.named.rndc("reload", zone.name)
            raise DaemonError(f"named did not load the changed zone {zone.name}; nothing changed.")

    def _thaw(self, name: str) -> bool:
        try:
            self.named.rndc("thaw", name)
        except DaemonError as exc:
            log.warning("rndc thaw %s failed: %s", name, exc)
            return False
        return True

    def _serves(self, origin: dns.name.Name, serial: int, thawed: bool) -> bool:
        """named serves ``serial`` (after a crash it loads the file on its own)."""
        deadline = time.monotonic() + (30 if thawed else 60)
        while time.monotonic() < deadline:
            with contextlib.suppress(DaemonError):
                soa = self.client.soa(origin, timeout=1.0)
                # The serial written or a later one (RFC 1982): named signing a signed zone
                # as it loads it moves the serial on by itself.
                if soa is not None and (soa.serial - serial) % 2**32 < 2**31:
                    return True
            time.sleep(0.02)
        return False

    # --- import and export ------------------------------------------------------
    def _read_import(self, request: ZoneImport) -> _ImportCheck:
        """Everything an import of ``request`` would create and refuse (nothing is changed).

        The file is read, its records planned as one change set and the zone written to a
        scratch file that named-checkzone reads; a record refused at any of these steps is
        left out of the next round so that the rest is checked too (the problems of each
        round would otherwise hide those of the next)."""
        origin = dns.name.from_text(request.name)
        zone_file = read_zone_file(origin, request.text)
        check = _ImportCheck(origin, zone_file)
        if zone_file.soa is not None:
            try:
                check.soa = soa_fields(zone_file.soa)
            except PydanticValidationError as exc:
                for problem in validation_problems(exc.errors()):
                    check.refuse(
                        Problem(f"line {zone_file.soa_line}", request.name, "SOA",
                                f"SOA {problem.field}: {problem.message}", zone_file.soa_line)
                    )  # fmt: skip
        soa_ttl = zone_file.soa_ttl if zone_file.soa is not None else 3600
        kept = list(range(len(zone_file.records)))
        for _round in range(4):
            creates = [Change(action="create", record=zone_file.records[i]) for i in kept]
            try:
                plan = plan_changes(
                    origin, [], creates, soa_ttl, prefix="records", record_field="",
                    strict_hostnames=request.strict_hostnames,
                    parsed=[zone_file.parsed[i] for i in kept],
                )  # fmt: skip
            except RecordValidationError as exc:
                left = check.refuse_records(check.own(exc.records), kept)
                if left is None:
                    break
                kept = left
                continue
            check.plan = plan
            if zone_file.soa is None or check.blocking():
                break
            text = zone_text(origin, zone_file.soa, soa_ttl, plan.result.values())
            problems = self._check_text(request.name, text, plan, request.strict_hostnames)
            if not problems:
                check.text = text
                break
            check.plan = None
            left = check.refuse_records(problems, kept)
            if left is None:
                break
            kept = left
        check.kept = kept
        check.soa_ttl = soa_ttl
        return check

    def _check_text(self, name: str, text: str, plan: Plan, strict: bool) -> list[Problem]:
        """named-checkzone's problems with the zone file ``text`` (each naming its record)."""
        directory = self.store.zone_file(name, ZoneKind.primary).parent
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=directory, prefix=".import-", suffix=".db", delete=False
        ) as scratch:
            scratch.write(text)
        path = Path(scratch.name)
        try:
            self.named.check_zone(name, path, field="text", strict=strict)
        except ZoneCheckError as exc:
            return _checked(exc, dns.name.from_text(name), plan, "text").records
        finally:
            path.unlink(missing_ok=True)
        return []

    def _read_quick(self, request: ZoneImport) -> QuickZone | None:
        """The file read the quick way (``services.dns.quick_import``) and accepted by
        named-checkzone; None when the thorough reading must decide (it names every problem
        at its line). A zone asking for strict host names is always read the thorough way."""
        if request.strict_hostnames:
            return None
        started = time.monotonic()
        quick = read_quick(dns.name.from_text(request.name), request.text)
        read = time.monotonic()
        if quick is None:
            log.info("import of %s: read the thorough way (%.2f s)", request.name, read - started)
            return None
        try:
            soa_fields(quick.soa)
        except PydanticValidationError:
            return None
        if self._check_text(request.name, quick.text, Plan(), False):
            return None
        log.info(
            "import of %s: %d records read in %.2f s, named-checkzone %.2f s",
            request.name, len(quick.records), read - started, time.monotonic() - read,
        )  # fmt: skip
        return quick

    def preview_import(self, request: ZoneImport) -> ImportPreview:
        """What ``import_zone`` would create and refuse, each with its line; nothing changes."""
        quick = self._read_quick(request)
        if quick is not None:
            return ImportPreview(
                zone=request.name,
                soa=RecordData(
                    name=request.name, type="SOA", ttl=quick.soa_ttl, data=quick.soa.to_text()
                ),
                records=[
                    ImportedRecord.model_construct(
                        line=line, name=name, type=rtype, ttl=ttl, data=data
                    )
                    for line, (name, rtype, ttl, data) in zip(
                        quick.lines, quick.records, strict=True
                    )
                ],
                refused=[],
                importable=True,
                importable_leaving_out=True,
            )
        check = self._read_import(request)
        zone_file = check.zone_file
        records = [
            ImportedRecord(line=zone_file.lines[i], **zone_file.records[i].model_dump())
            for i in check.kept
        ]
        soa = None
        if zone_file.soa is not None:
            soa = RecordData(
                name=request.name, type="SOA", ttl=zone_file.soa_ttl, data=zone_file.soa.to_text()
            )
        return ImportPreview(
            zone=request.name,
            soa=soa,
            records=records,
            refused=check.refusals(),
            importable=not check.refused,
            importable_leaving_out=check.importable_leaving_out(),
        )

    def import_zone(self, request: ZoneImport, *, with_records: bool = False) -> ZoneImported:
        """A zone file becomes a managed primary zone. Every problem of the file is reported
        at once, each at its line (``line 23``), in the order of the file; with
        ``leave_out_refused`` the refused records are left out and listed instead.
        ``with_records``: the answer holds the zone's records (``ZoneImported.content``)."""
        with self.locks.zone(request.name):
            self.cache.forget(dns.name.from_text(request.name))
            if request.name in self.store.load():
                raise ConflictError(f"Zone {request.name} exists already.", field="name")
            quick = self._read_quick(request)
            if quick is not None:
                return self._import_quick(request, quick, with_records)
            check = self._read_import(request)
            if check.refused and not (request.leave_out_refused and check.importable_leaving_out()):
                raise RecordValidationError(_in_file_order(check.refused))
            plan, soa, fields = check.plan, check.zone_file.soa, check.soa
            assert plan is not None and soa is not None and fields is not None
            assert check.text is not None
            FaultPoints(self.root, "dns-agent").hold("during-import")
            nameservers = sorted(
                r.data for r in plan.result.values() if r.rtype == "NS" and r.name == check.origin
            )
            zone = ZonePublic(
                name=request.name,
                kind=ZoneKind.primary,
                ttl=check.soa_ttl,
                soa=fields,
                nameservers=nameservers,
                enabled=True,
                file=str(self.store.zone_file(request.name, ZoneKind.primary)),
                strict_hostnames=request.strict_hostnames,
            )
            try:
                self._install_zone(zone, check.text, plan, fallback="text", checked=True)
            except RecordValidationError as exc:
                raise RecordValidationError(
                    _in_file_order(at_lines(exc.records, check.zone_file))
                ) from exc
            public = self._with_serial(zone)
            content = None
            if with_records and public.serial == soa.serial:  # see _import_quick
                rows = [(r.name.to_text(), r.rtype, r.ttl, r.data) for r in plan.result.values()]
                content = _rows(zone.name, soa, check.soa_ttl, rows)
            return ZoneImported(**public.model_dump(), left_out=check.refusals(), content=content)

    def _import_quick(
        self, request: ZoneImport, quick: QuickZone, with_records: bool
    ) -> ZoneImported:
        """Install a zone file read the quick way (the caller holds the zone's lock)."""
        FaultPoints(self.root, "dns-agent").hold("during-import")
        zone = ZonePublic(
            name=request.name,
            kind=ZoneKind.primary,
            ttl=quick.soa_ttl,
            soa=soa_fields(quick.soa),
            nameservers=quick.nameservers,
            enabled=True,
            file=str(self.store.zone_file(request.name, ZoneKind.primary)),
            strict_hostnames=False,
        )
        started = time.monotonic()
        self._install_zone(zone, quick.text, Plan(), fallback="text", checked=True)
        public = self._with_serial(zone)
        log.info("import of %s: named loaded it in %.2f s", zone.name, time.monotonic() - started)
        content = None
        # named loads a zone file whole: once it serves the file's serial it serves every
        # record of the file.
        if with_records and public.serial == quick.soa.serial:
            content = _rows(zone.name, quick.soa, quick.soa_ttl, quick.records)
        return ZoneImported(**public.model_dump(), left_out=[], content=content)

    def export(self, name: str) -> ZoneExport:
        zone = self._get(name)
        if not zone.enabled:
            raise ConflictError(f"Zone {zone.name} is disabled.", field="zone")
        origin = dns.name.from_text(zone.name)
        served = self.client.axfr(origin)
        return ZoneExport(
            zone=zone.name,
            serial=served.soa.serial,
            text=zone_text(origin, served.soa, served.soa_ttl, served.records),
        )

    # --- server options -----------------------------------------------------------
    def options(self) -> ServerOptions:
        """The options named runs (read back from named.conf); the server wins.

        When named.conf was changed behind the agent's back (edited by hand and reloaded), the
        agent adopts what it finds, so that its next rendering of named.conf keeps it.
        """
        with self.locks.config:
            stored = stored_options(self.root)
            running = running_options(self.root.named_conf)
            if running is None or running == stored:
                return stored
            log.warning("named.conf holds other server options than the agent set; adopting them")
            running.save(options_path(self.root))
            return running

    def set_options(self, options: ServerOptions) -> ServerOptions:
        present = local_addresses()
        for name, addresses in (
            ("listen_on", options.listen_on),
            ("listen_on_v6", options.listen_on_v6),
        ):
            for index, address in enumerate(addresses or []):
                if str(address) not in present:
                    raise ValidationError(
                        f"{address} is not an address of this appliance; named could not "
                        "listen on it.",
                        field=f"{name}[{index}]",
                    )
        for index, address in enumerate(options.forwarders):
            if str(address) in present:
                raise ValidationError(
                    f"{address} is this appliance's own address: named would ask itself.",
                    field=f"forwarders[{index}]",
                )
        with self.locks.config:
            self.config.apply(self.store.load(), options)
            return stored_options(self.root)
