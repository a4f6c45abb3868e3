"""Why named refused a change, in the user's terms.

named answers a refused dynamic update with one word (REFUSED) and writes why in its log; it
refuses a zone file with lines on named-checkzone's output. Neither names the request's field.
This module reads those lines, finds the record of the request each is about (the plan knows
which field every added record came from: ``Plan.sources``) and says the reason in plain words:

- an MX, SRV or NS record whose target is in the zone without an address (BIND's
  ``check-integrity``; for an update, ``check-mx``/``check-srv-cname``), or is an alias
  (CNAME), or is below a delegation; a delegation without its glue;
- an apex NS record whose in-zone name server has no address ("post update name server sanity
  check failed", which names no record: the plan's records tell which one);
- a name refused by ``check-names``.

A refusal caused by the data is a ``RecordValidationError`` (422) naming the field; a failure of
named itself (a key it does not accept, a zone it does not serve, a journal it cannot write) is a
``DaemonError`` (502) that says so. named's own words are given only after an explanation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import dns.name
import dns.rcode

from services.common.dns.records import Record
from services.common.dns.validate import Plan, Problem, RecordKey, RecordValidationError
from services.common.errors import BurrowError, DaemonError

#: A target and what named found wrong with it (named-checkzone and the update log alike).
_TARGET = re.compile(
    r"(?:(?P<owner>[^\s/]+)/)?(?P<type>MX|SRV|NS) '(?P<target>[^']+)' "
    r"(?P<what>has no address records \(A or AAAA\)|is a CNAME \(illegal\)|is below a zone cut"
    r"|has no REQUIRED GLUE address records \(A or AAAA\))"
)
_MX_ADDRESS = re.compile(r"(?P<owner>[^\s/]+)/MX: '(?P<target>[^']+)': MX is an address")
_BAD_OWNER = re.compile(r"(?P<owner>[^\s:]+): bad owner name \(check-names\)")
_BAD_NAME = re.compile(r"near '(?P<target>[^']+)': bad name \(check-names\)")
_NS_SANITY = "post update name server sanity check failed"
_NAMED_PREFIX = re.compile(r"^.*?(?:updating zone '[^']+': |zone [^:]+: )")
#: Lines that say nothing about a reason.
_NOISE = ("not loaded due to errors", "loaded serial", "loading from master file")

_ROLE = {"MX": "mail server", "SRV": "target", "NS": "name server"}


@dataclass(frozen=True)
class Source:
    """An added record and the field of the request it came from (``changes[3].record``)."""

    field: str
    record: Record


def sources_of(plan: Plan) -> list[Source]:
    """The records ``plan`` adds, each with its field."""
    return [Source(plan.sources[r.key], r) for r in plan.adds if r.key in plan.sources]


def _target(record: Record) -> dns.name.Name | None:
    for attr in ("exchange", "target"):
        value = getattr(record.rdata, attr, None)
        if isinstance(value, dns.name.Name):
            return value
    return None


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text.rstrip(".") + ".")


def _message(rtype: str, target: str, what: str, owner: str) -> str:
    role = _ROLE.get(rtype, "target")
    if what.startswith("has no address"):
        return (
            f"the {role} {target} is in this zone but has no address (A or AAAA) record; named "
            f"refuses an {rtype} record that points at it; add its A or AAAA record in the same "
            "request"
        )
    if what.startswith("is a CNAME"):
        return (
            f"the {role} {target} is an alias (CNAME); an {rtype} record must point at a name "
            "that has an address itself (RFC 2181 §10.3)"
        )
    if what.startswith("is below a zone cut"):
        return (
            f"the {role} {target} is below a delegation in this zone; named refuses an {rtype} "
            "record that points into a delegated zone from its parent"
        )
    if what.startswith("has no REQUIRED GLUE"):
        return (
            f"the name server {target} is inside the delegated zone {owner} and needs its "
            "address (glue: an A or AAAA record) in this zone"
        )
    return f"named refused the {role} {target}: {what}"


def _matching(
    sources: Sequence[Source], rtype: str, target: str, owner: str | None
) -> list[Source]:
    wanted = _name(target)
    found = []
    for source in sources:
        record = source.record
        if record.rtype != rtype or _target(record) != wanted:
            continue
        if owner is not None and record.name != _name(owner):
            continue
        found.append(source)
    return found


def _problem(source: Source, message: str) -> Problem:
    # A record of the request has its data in ``.data``; a zone's ``nameservers[0]`` is the
    # name server's name itself.
    field = source.field if source.field.startswith("nameservers") else f"{source.field}.data"
    return Problem(field, source.record.name.to_text(), source.record.rtype, message)


def explain(
    lines: Iterable[str],
    sources: Sequence[Source],
    *,
    fallback: str,
    zone: dns.name.Name,
    result: Mapping[RecordKey, Record] | None = None,
) -> list[Problem]:
    """Problems for what named said in ``lines``, each naming the field of the record it is
    about (``fallback`` when no record of the request is); lines that give no reason are left
    out. ``result`` (the zone after the change) lets an apex NS refusal name its record.
    named's words that this module cannot explain are given as they are, and only when
    nothing else explains the refusal."""
    problems: list[Problem] = []
    unexplained: list[Problem] = []
    seen: set[tuple[str, str]] = set()

    def add(problem: Problem) -> None:
        if (problem.field, problem.message) not in seen:
            seen.add((problem.field, problem.message))
            problems.append(problem)

    for line in lines:
        said = _NAMED_PREFIX.sub("", line.strip())
        if not said or any(noise in said for noise in _NOISE):
            continue
        match = _TARGET.search(said)
        if match:
            rtype, target, what = match["type"], match["target"], match["what"]
            owner = match["owner"] or (zone.to_text() if rtype == "NS" else None)
            message = _message(rtype, target.rstrip(".") + ".", what, (owner or "").rstrip("."))
            found = _matching(sources, rtype, target, owner)
            for source in found:
                add(_problem(source, message))
            if not found:
                add(Problem(fallback, owner or "", rtype, message))
            continue
        match = _MX_ADDRESS.search(said)
        if match:
            message = "an MX record must name a mail server by its host name, not its address"
            found = _matching(sources, "MX", match["target"], match["owner"])
            for source in found:
                add(_problem(source, message))
            if not found:
                add(Problem(fallback, match["owner"], "MX", message))
            continue
        if _NS_SANITY in said:
            for problem in apex_ns_problems(sources, zone, result or {}) or [
                Problem(
                    fallback, zone.to_text(), "NS",
                    "named refused the change: after it, a name server of the zone would have "
                    "no address (an in-zone NS target needs an A or AAAA record)",
                )
            ]:  # fmt: skip
                add(problem)
            continue
        match = _BAD_OWNER.search(said) or _BAD_NAME.search(said)
        if match:
            name = match.groupdict().get("owner") or match.groupdict().get("target") or ""
            add(Problem(fallback, name, "", f"{name} is not a host name (named's check-names)"))
            continue
        unexplained.append(
            Problem(fallback, zone.to_text(), "", f"named refused it, saying: {said}")
        )
    return problems or unexplained


def apex_ns_problems(
    sources: Sequence[Source], zone: dns.name.Name, result: Mapping[RecordKey, Record]
) -> list[Problem]:
    """Apex NS records of the request whose in-zone name server has no address afterwards."""
    addressed = {r.name for r in result.values() if r.rtype in ("A", "AAAA")}
    out = []
    for source in sources:
        record = source.record
        target = _target(record)
        if record.rtype != "NS" or record.name != zone or target is None:
            continue
        if target.is_subdomain(zone) and target not in addressed:
            message = _message("NS", target.to_text(), "has no address records", zone.to_text())
            out.append(_problem(source, message))
    return out


_RCODE_WORDS = {
    "SERVFAIL": "named failed to apply it (SERVFAIL): it could not write the zone's journal, "
    "or the zone is not loaded",
    "NOTAUTH": "named does not serve the zone or does not accept the appliance's key for it "
    "(NOTAUTH)",
    "NOTZONE": "named answered that a name of the change is outside the zone (NOTZONE), which "
    "the agent checks before sending: named's zone differs from the agent's",
    "FORMERR": "named could not read the update message (FORMERR)",
    "NOTIMP": "named does not take dynamic updates for the zone (NOTIMP)",
}


def update_refused(
    zone: dns.name.Name,
    rcode: int,
    log_lines: Sequence[str],
    plan: Plan,
    *,
    fallback: str = "changes",
) -> BurrowError:
    """The error for a dynamic update of ``plan`` that named answered with ``rcode``.

    ``log_lines`` are named's log lines about the update. A refusal that named explains by the
    data (or, with no log line, that the plan's records explain) is a 422 naming the records;
    anything else is named's failure (502).
    """
    word = dns.rcode.to_text(dns.rcode.Rcode(rcode))
    denied = [line for line in log_lines if " denied" in line or "update-security: error" in line]
    if rcode == dns.rcode.REFUSED and not denied:
        sources = sources_of(plan)
        reasons = [line for line in log_lines if gives_reason(line)]
        problems = explain(reasons, sources, fallback=fallback, zone=zone, result=plan.result)
        if not problems:
            problems = apex_ns_problems(sources, zone, plan.result)
        if not problems:
            problems = [
                Problem(
                    fallback, zone.to_text(), "",
                    "named refused the change (REFUSED) and its log gives no reason; it refuses "
                    "changes that break the zone's integrity, such as an MX, SRV or NS record "
                    "pointing at a name of the zone that has no address",
                )
            ]  # fmt: skip
        return RecordValidationError(problems)
    said = "; ".join(_NAMED_PREFIX.sub("", line.strip()) for line in (denied or log_lines)[-3:])
    if denied:
        message = (
            f"named denied the update of zone {zone.to_text()}: it does not accept the "
            "appliance's key for this zone (its configuration differs from the agent's)"
        )
    else:
        message = _RCODE_WORDS.get(word, f"named answered the update with {word}")
        message = f"The change of zone {zone.to_text()} was not applied: {message}"
    if said:
        message += f". named's log: {said}"
    return DaemonError(message, hint="see named's log; the agent's zone list and named's differ")


def gives_reason(line: str) -> bool:
    """A log line of an update that says why it failed (not an 'adding an RR' line)."""
    return (
        ": error:" in line
        or "update: error" in line
        or _NS_SANITY in line
        or "update failed" in line
        or "rejected" in line
    )
