"""Checks of a whole change against a zone before anything is applied.

Every record of a change set is parsed and checked by its type (``records``), then the
resulting zone is checked as a whole: records outside the zone, duplicates, updates and deletes
of records that do not exist, CNAME exclusivity (RFC 1034 §3.6.2, RFC 2181 §10.1), one DNAME
per owner (RFC 6672 §2.4), no CNAME at the apex, at least one NS at the apex, a DS only at a
delegation (a name with NS records, not the apex: RFC 4035 §2.4), no data below a delegation
but its glue (A and AAAA records), no data below a DNAME (RFC 6672 §2.3). named would refuse or
ignore each of these; they are refused before anything is sent, naming the record. All reasons are
collected into one ``RecordValidationError`` whose problems name the change, the record and the
field; the message and ``field`` give the first of them. The plan remembers which field of the
request each added record came from (``Plan.sources``), so that a refusal of named about a
record can name it too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import dns.exception
import dns.name

from services.common.dns.contract import Change, RecordData
from services.common.dns.names import absolute, hostname_problems, owner_problems
from services.common.dns.records import APEX_ONLY, Record, parse_checked, record_type, type_problem
from services.common.errors import FieldProblem, ValidationError

#: Types that may share an owner with a CNAME (RFC 4035 §2.5: DNSSEC records).
_CNAME_COMPANIONS = {"CNAME", "RRSIG", "NSEC", "NSEC3", "KEY"}

RecordKey = tuple[dns.name.Name, str, Any]


@dataclass
class Problem:
    """One reason a change is refused: where (``field``), which record, and why (``message``).

    ``line`` is the line of an imported zone file the record came from, when it did.
    """

    field: str
    name: str
    type: str
    message: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def as_problem(self) -> FieldProblem:
        """This reason in the one problem format: the record's name and type beside it."""
        extra: dict[str, Any] = {key: value for key, value in
                                 (("name", self.name), ("type", self.type)) if value}  # fmt: skip
        if self.line is not None:
            extra["line"] = self.line
        return FieldProblem(self.field, self.message, extra)


class RecordValidationError(ValidationError):
    """A change set or zone with one or more bad records; ``problems`` lists them all."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        record = " ".join(part for part in (first.name, first.type) if part)
        super().__init__(
            f"{first.field}: {record + ': ' if record else ''}{first.message}{more}",
            problems=[p.as_problem() for p in problems],
        )
        self.records = list(problems)


#: Types whose rdata, written by dnspython and parsed again, is the same rdata and passes the
#: same checks: a record of these types parsed already (an imported file's) is not parsed
#: again. Every other type is parsed again from its text, as a record sent in a request is.
_PARSED_AS_IS = {"A", "AAAA", "CNAME", "DNAME", "NS", "PTR", "MX", "TXT", "SPF", "SRV"}


def build_record(
    spec: RecordData,
    origin: dns.name.Name,
    default_ttl: int,
    where: str,
    problems: list[Problem],
    strict_hostnames: bool = False,
    parsed: Record | None = None,
) -> Record | None:
    """The record ``spec`` describes, or None after adding its problems to ``problems``.

    ``strict_hostnames``: the zone asks for host names (letters, digits, hyphens) as the
    owners of A and AAAA records and the targets of MX, NS, SRV and reverse PTR records.
    ``parsed``: the record ``spec`` was written from (its owner's text and data are those of
    ``parsed``, as a zone file's reader makes them): its owner is a name already, and its data
    is not parsed again when its type is one of ``_PARSED_AS_IS``."""

    def bad(attr: str, reason: str) -> None:
        problems.append(Problem(f"{where}.{attr}", spec.name, spec.type, reason))

    rtype = record_type(spec.type)
    if rtype is None:
        bad("type", type_problem(spec.type) or f"type {spec.type!r} is not managed")
        return None
    if parsed is not None:
        # The text of a name that dnspython wrote (every octet that could not be in a master
        # file escaped) has none of the problems ``owner_problems`` finds.
        owner = parsed.name
    else:
        reasons = owner_problems(spec.name)
        if reasons:
            for reason in reasons:
                bad("name", reason)
            return None
        try:
            owner = absolute(spec.name, origin)
        except dns.exception.DNSException as exc:
            bad("name", f"not a domain name: {exc}")
            return None
    if not owner.is_subdomain(origin):
        bad("name", f"{owner.to_text()} is outside the zone {origin.to_text()}")
        return None
    if rtype.host_owner and strict_hostnames:
        for reason in hostname_problems(owner, wildcard=True):
            bad("name", reason)
    if rtype.rtype in APEX_ONLY and owner != origin:
        bad("name", f"a {rtype.rtype} record belongs at the zone's apex ({APEX_ONLY[rtype.rtype]})")
    if parsed is not None and rtype.rtype in _PARSED_AS_IS:
        rdata: dns.rdata.Rdata | None = parsed.rdata
        reasons = rtype.check(parsed.rdata, owner)
    else:
        rdata, reasons = parse_checked(rtype, spec.data, owner, origin)
    if rdata is not None and strict_hostnames:
        reasons += rtype.hostname_checks(rdata, owner)
    for reason in reasons:
        bad("data", reason)
    if rdata is None or reasons or any(p.field == f"{where}.name" for p in problems):
        return None
    ttl = default_ttl if spec.ttl is None else spec.ttl
    if parsed is not None and rdata is parsed.rdata and ttl == parsed.ttl:
        return parsed  # its key is hashed already
    return Record(owner, rtype.rtype, ttl, rdata)


@dataclass
class Plan:
    """What a change set does: records to delete and to add, and the zone afterwards."""

    deletes: list[Record] = field(default_factory=list)
    adds: list[Record] = field(default_factory=list)
    result: dict[RecordKey, Record] = field(default_factory=dict)
    #: (change index, record) of A/AAAA changes that asked for their PTR.
    ptr_adds: list[tuple[int, Record]] = field(default_factory=list)
    ptr_deletes: list[tuple[int, Record]] = field(default_factory=list)
    #: The field of the request each added record came from (``changes[3].record``,
    #: ``changes[4].new``, ``records[17]``), by the record's key.
    sources: dict[RecordKey, str] = field(default_factory=dict)


def plan_changes(
    origin: dns.name.Name,
    existing: Iterable[Record] | Mapping[RecordKey, Record],
    changes: Sequence[Change],
    default_ttl: int,
    prefix: str = "changes",
    record_field: str = ".record",
    strict_hostnames: bool = False,
    parsed: Sequence[Record] | None = None,
) -> Plan:
    """Check ``changes`` against the zone's ``existing`` records; raise with every problem.

    ``existing`` may be the ``result`` of an earlier plan: it is copied, not rebuilt (a copy
    of a dict keeps the hashes, which for a large zone is most of the cost of a plan).
    ``parsed``: for each change, the record its ``record`` was written from (see
    ``build_record``), as an imported file's reader parsed it.
    """
    if isinstance(existing, Mapping):
        plan = Plan(result=dict(existing))
    else:
        plan = Plan(result={r.key: r for r in existing})
    state = plan.result
    problems: list[Problem] = []
    touched: dict[dns.name.Name, tuple[int, RecordData, str]] = {}
    #: The change that added a CNAME, by owner: a CNAME beside other data is its problem.
    cnames: dict[dns.name.Name, tuple[int, RecordData, str]] = {}

    for index, change in enumerate(changes):
        where = f"{prefix}[{index}]"
        record = build_record(
            change.record, origin, default_ttl, where + record_field, problems, strict_hostnames,
            None if parsed is None else parsed[index],
        )  # fmt: skip
        new = None
        if change.new is not None:
            new = build_record(
                change.new, origin, default_ttl, f"{where}.new", problems, strict_hostnames
            )
            if new is None:
                continue
        if record is None:
            continue
        spec = change.record

        def bad(attr: str, reason: str, spec: RecordData = spec, where: str = where) -> None:
            path = where + record_field if attr == "record" else f"{where}.{attr}"
            problems.append(Problem(path, spec.name, spec.type, reason))

        if change.ptr and record.rtype not in ("A", "AAAA"):
            bad("ptr", "a PTR record can only be made for an A or AAAA record")
        if change.action in ("update", "delete") and record.key not in state:
            bad("record", f"no such record: {record.line()}")
            continue
        if change.action == "create":
            if record.key in state:
                bad("record", f"the record already exists: {record.line()}")
                continue
            state[record.key] = record
            plan.adds.append(record)
            plan.sources[record.key] = where + record_field
            touched[record.name] = (index, spec, where + record_field)
            if record.rtype == "CNAME":
                cnames[record.name] = touched[record.name]
            if change.ptr:
                plan.ptr_adds.append((index, record))
            continue
        old = state.pop(record.key)
        plan.deletes.append(old)
        if change.ptr:
            plan.ptr_deletes.append((index, old))
        if change.action == "update" and new is not None and change.new is not None:
            if new.key in state:
                problems.append(
                    Problem(
                        f"{where}.new",
                        change.new.name,
                        change.new.type,
                        f"the record already exists: {new.line()}",
                    )
                )
                continue
            state[new.key] = new
            plan.adds.append(new)
            plan.sources[new.key] = f"{where}.new"
            touched[new.name] = (index, change.new, f"{where}.new")
            if new.rtype == "CNAME":
                cnames[new.name] = touched[new.name]
            if change.ptr:
                plan.ptr_adds.append((index, new))
        else:
            touched[record.name] = (index, spec, where + record_field)

    problems += _zone_problems(origin, state, touched, plan, cnames)
    problems += _cut_problems(origin, state, touched, plan)
    if problems:
        raise RecordValidationError(problems)
    return plan


def _zone_problems(
    origin: dns.name.Name,
    state: dict[RecordKey, Record],
    touched: dict[dns.name.Name, tuple[int, RecordData, str]],
    plan: Plan,
    cnames: dict[dns.name.Name, tuple[int, RecordData, str]],
) -> list[Problem]:
    by_owner: dict[dns.name.Name, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    # For a few touched owners, a first look at the first label only: hashing every name of
    # a large zone costs more than the rest of the plan (with many owners it saves nothing).
    first_labels = (
        {name.labels[0].lower() for name in (*touched, origin) if name.labels}
        if len(touched) <= 64
        else None
    )
    for record in state.values():
        labels = record.name.labels
        if first_labels is not None and labels and labels[0].lower() not in first_labels:
            continue
        if record.name in touched or record.name == origin:
            by_owner[record.name][record.rtype].append(record)
    problems: list[Problem] = []
    for owner, (index, last, last_where) in touched.items():
        types = by_owner.get(owner, {})
        _index, spec, where = cnames.get(owner, (index, last, last_where))
        if "CNAME" in types:
            others = sorted(set(types) - _CNAME_COMPANIONS)
            if owner == origin:
                problems.append(
                    Problem(
                        where,
                        spec.name,
                        spec.type,
                        "a CNAME cannot be at the zone's apex (RFC 1912 §2.4)",
                    )
                )
            elif others:
                problems.append(
                    Problem(
                        where,
                        spec.name,
                        spec.type,
                        f"{owner.to_text()} has a CNAME and {', '.join(others)}: "
                        "a CNAME must be the only data of its name",
                    )
                )
            elif len(types["CNAME"]) > 1:
                problems.append(
                    Problem(
                        where, spec.name, spec.type, f"{owner.to_text()} has more than one CNAME"
                    )
                )
        if len(types.get("DNAME", [])) > 1:
            problems.append(
                Problem(
                    last_where,
                    last.name,
                    last.type,
                    f"{owner.to_text()} has more than one DNAME (RFC 6672)",
                )
            )
        if owner == origin and not types.get("NS"):
            problems.append(
                Problem(
                    last_where,
                    last.name,
                    last.type,
                    "the zone's apex must keep at least one NS record",
                )
            )
    # One TTL per RRset (RFC 2181 §5.2): a record added with a new TTL sets it for its RRset,
    # as named does with a dynamic update.
    # Every added record's owner is a touched owner, so its RRset is in ``by_owner``.
    ttls = {(added.name, added.rtype): added.ttl for added in plan.adds}
    for (name, rtype), ttl in ttls.items():
        for record in by_owner.get(name, {}).get(rtype, []):
            if ttl != record.ttl:
                state[record.key] = Record(record.name, record.rtype, ttl, record.rdata)
    return problems


class _Cuts:
    """The delegations and DNAMEs of a zone, found for a name by its labels (a tuple look-up
    per depth of cut, not a walk of parent names: a large zone has many names to look up)."""

    def __init__(self, cuts: set[dns.name.Name]) -> None:
        self.by_depth: dict[int, dict[tuple[bytes, ...], dns.name.Name]] = defaultdict(dict)
        for cut in cuts:
            self.by_depth[len(cut.labels)][tuple(label.lower() for label in cut.labels)] = cut
        self.depths = sorted(self.by_depth, reverse=True)

    def above(self, name: dns.name.Name) -> dns.name.Name | None:
        """The nearest cut strictly above ``name``, if any."""
        labels = name.labels
        count = len(labels)
        for depth in self.depths:
            if depth < count:
                key = tuple(label.lower() for label in labels[count - depth :])
                found = self.by_depth[depth].get(key)
                if found is not None:
                    return found
        return None


def _cut_problems(
    origin: dns.name.Name,
    state: dict[RecordKey, Record],
    touched: dict[dns.name.Name, tuple[int, RecordData, str]],
    plan: Plan,
) -> list[Problem]:
    """DS records away from a delegation, data below a delegation (but glue) or a DNAME."""
    problems: list[Problem] = []
    delegations: set[dns.name.Name] = set()
    dnames: set[dns.name.Name] = set()
    ds_owners: set[dns.name.Name] = set()
    for record in state.values():
        if record.rtype == "NS" and record.name != origin:
            delegations.add(record.name)
        elif record.rtype == "DNAME" and record.name != origin:
            dnames.add(record.name)
        elif record.rtype == "DS":
            ds_owners.add(record.name)

    def field_of(record: Record) -> tuple[str, str, str]:
        source = plan.sources.get(record.key)
        if source is not None:
            return source, record.name.to_text(), record.rtype
        _index, spec, where = touched[record.name]
        return where, spec.name, spec.type

    def add(record: Record, message: str) -> None:
        where, name, rtype = field_of(record)
        problems.append(Problem(where, name, rtype, message))

    # A DS at the apex or at a name without NS: named ignores it (RFC 4035 §2.4).
    for owner in [name for name in ds_owners if name in touched]:
        ds = next(r for r in state.values() if r.name == owner and r.rtype == "DS")
        if owner == origin:
            add(ds, "a DS record belongs in the parent zone, not at this zone's apex (RFC 4035)")
        elif owner not in delegations:
            reason = (
                f"{owner.to_text()} has a DS record but no NS records: a DS record belongs at a "
                "delegation (RFC 4035 §2.4); add the NS records of the child zone"
            )
            add(ds, reason)
    if not delegations and not dnames:
        return problems
    # Data at a delegation besides NS, DS and glue: named answers a referral instead of it.
    for record in plan.adds:
        if record.rtype not in ("NS", "DS", "A", "AAAA") and record.name in delegations:
            add(record, f"{record.name.to_text()} is a delegation (it has NS records): only NS, "
                "DS and glue records belong at it; the rest belongs in the child zone")  # fmt: skip
    cuts = delegations | dnames
    finder = _Cuts(cuts)
    new_cuts = {r.name for r in plan.adds if r.rtype in ("NS", "DNAME") and r.name in cuts}
    # Records below a cut: every added one, and (when a cut is new) every one of the zone.
    candidates = list(state.values()) if new_cuts else plan.adds
    reported: set[RecordKey] = set()
    for record in candidates:
        cut = finder.above(record.name)
        if cut is None or record.key in reported:
            continue
        if cut in dnames:
            message = (f"{record.name.to_text()} is below the DNAME at {cut.to_text()}: named "
                       "answers every name below a DNAME by the DNAME (RFC 6672 §2.3)")  # fmt: skip
        elif record.rtype in ("A", "AAAA"):
            continue  # glue
        else:
            message = (f"{record.name.to_text()} is below the delegation at {cut.to_text()}: "
                       "only glue (A and AAAA records) may be below a delegation; the rest "
                       "belongs in the child zone")  # fmt: skip
        if record.key in plan.sources or record.name in touched:
            reported.add(record.key)
            add(record, message)
        elif cut in new_cuts:
            cut_record = next(r for r in plan.adds if r.name == cut and r.rtype in ("NS", "DNAME"))
            reported.add(record.key)
            add(cut_record, f"{message}; it is already in the zone, delete it first")
    return problems
