"""Zone files in BIND's master format: written from records, read into records (import).

Burrow writes zone files with absolute names only (``$ORIGIN`` is stated for people reading
them), the SOA first, then the records sorted by owner and type, one per line.

An imported file is read entry by entry (a line, or lines joined by parentheses: RFC 1035
§5.1), each with the line it starts on, so that every bad entry is reported at once with its
line number rather than the first one only. ``$ORIGIN``, ``$TTL`` and ``$GENERATE`` are read as
BIND reads them; ``$INCLUDE`` is refused (it would read files of the appliance). A record
outside the zone, or under an ``$ORIGIN`` outside it, is refused at its line, never dropped.
Identical records are taken once and the records of one RRset take the TTL of the first, as
named does when it loads a zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.SPF
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.tokenizer
import dns.ttl
import dns.zone
import dns.zonefile

from services.common.dns.contract import RecordData, Soa
from services.common.dns.records import MAX_TTL, Record, RecordKey, rdata_message
from services.common.dns.validate import Problem, RecordValidationError


def serial_next(serial: int) -> int:
    """The next serial in RFC 1982 arithmetic (0 is skipped: some secondaries mistake it)."""
    following = (serial + 1) % 2**32
    return following or 1


def make_soa(origin: dns.name.Name, soa: Soa, serial: int) -> dns.rdtypes.ANY.SOA.SOA:
    mname = soa.mname or f"ns1.{origin.to_text()}"
    rname = soa.rname or f"hostmaster.{origin.to_text()}"
    text = f"{mname} {rname} {serial} {soa.refresh} {soa.retry} {soa.expire} {soa.minimum}"
    rdata = dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.SOA, text, origin=origin, relativize=False
    )
    assert isinstance(rdata, dns.rdtypes.ANY.SOA.SOA)
    return rdata


def soa_fields(rdata: dns.rdtypes.ANY.SOA.SOA) -> Soa:
    return Soa(
        mname=rdata.mname.to_text(),
        rname=rdata.rname.to_text(),
        refresh=rdata.refresh,
        retry=rdata.retry,
        expire=rdata.expire,
        minimum=rdata.minimum,
    )


def _order(record: Record) -> tuple[tuple[bytes, ...], str, str]:
    return (tuple(reversed(record.name.canonicalize().labels)), record.rtype, record.data)


def zone_text(
    origin: dns.name.Name, soa: dns.rdtypes.ANY.SOA.SOA, soa_ttl: int, records: Iterable[Record]
) -> str:
    """The zone file of ``origin`` with ``soa`` and ``records``."""
    lines = [
        f"; Zone {origin.to_text()}, written by Burrow's dns-agent.",
        f"$ORIGIN {origin.to_text()}",
        f"{origin.to_text()} {soa_ttl} IN SOA {soa.to_text()}",
    ]
    lines += [record.line() for record in sorted(records, key=_order)]
    return "\n".join(lines) + "\n"


@dataclass
class ZoneFile:
    """What an imported zone file holds: its SOA, every other record with the line it is on,
    and every problem found reading it (in the order of the file)."""

    soa: dns.rdtypes.ANY.SOA.SOA | None = None
    soa_ttl: int = 0
    soa_line: int | None = None
    records: list[RecordData] = field(default_factory=list)
    #: The line each of ``records`` starts on.
    lines: list[int] = field(default_factory=list)
    #: Each of ``records`` as the reader parsed it (absolute names), for the plan to check
    #: without parsing its text again.
    parsed: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def entries(text: str) -> Iterator[tuple[int, str]]:
    """The entries of a master file with the line each starts on: a line, or the lines that
    parentheses join (RFC 1035 §5.1). Blank and comment-only lines are left out."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        start = index + 1
        index += 1
        if not any(char in line for char in '()"\\'):
            if line.split(";", 1)[0].strip():
                yield start, line
            continue
        parts = [line]
        depth = _depth(line, 0)
        while depth > 0 and index < len(lines):
            parts.append(lines[index])
            depth = _depth(lines[index], depth)
            index += 1
        yield start, "\n".join(parts)


def _depth(line: str, depth: int) -> int:
    """The parenthesis depth after ``line`` (quotes, escapes and comments respected)."""
    quoted = escaped = False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char == ";":
            break
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
    return depth


_WHERE = re.compile(r"^<string>:\d+: ")
#: An entry starting so is not a plain record (a directive, an inherited owner).
_NOT_PLAIN_START = ("$", " ", "\t", "")
#: An entry with any of these is not a plain record: a comment, an escape, white space that
#: the tokenizer does not split at (or a line break of an entry in parentheses).
_NOT_PLAIN = re.compile(r"[;\\]|[^\S \t]")


def _uint16(word: str) -> int:
    if not (word.isdigit() and word.isascii()):
        raise ValueError(word)
    return int(word)


#: The plain types ``_Reader._plain_entry`` reads, by the words of their data: the rdata
#: made of them as each type's ``from_text`` makes it of the same words (dnspython's classes).
_PLAIN_TYPES: dict[str, tuple[int, Any]] = {
    "A": (1, dns.rdtypes.IN.A.A),
    "AAAA": (1, dns.rdtypes.IN.AAAA.AAAA),
    "CNAME": (1, dns.rdtypes.ANY.CNAME.CNAME),
    "NS": (1, dns.rdtypes.ANY.NS.NS),
    "PTR": (1, dns.rdtypes.ANY.PTR.PTR),
    "MX": (2, dns.rdtypes.ANY.MX.MX),
}
#: TXT-like types, read by ``_plain_entry`` when their data is strings in quotes only.
_TEXT_TYPES: dict[str, Any] = {"TXT": dns.rdtypes.ANY.TXT.TXT, "SPF": dns.rdtypes.ANY.SPF.SPF}
_PLAIN_NAMES = set(_PLAIN_TYPES) | set(_TEXT_TYPES)


def _plain_rdata(
    rtype: str, origin: dns.name.Name, words: list[str], strings: list[str] | None
) -> dns.rdata.Rdata | None:
    """The rdata of a plain entry's type and data, None if it is not one ``_plain_entry``
    reads; raises as the type's constructor does."""
    rdclass, rdtype = dns.rdataclass.IN, dns.rdatatype.from_text(rtype)
    if strings is not None:
        found = _TEXT_TYPES.get(rtype)
        return None if found is None or words else found(rdclass, rdtype, strings)
    count, cls = _PLAIN_TYPES.get(rtype, (0, None))
    if cls is None or len(words) != count:
        return None
    if rtype in ("A", "AAAA"):
        rdata = cls(rdclass, rdtype, words[0])
    elif rtype == "MX":
        rdata = cls(rdclass, rdtype, _uint16(words[0]), dns.name.from_text(words[1], origin))
    else:
        rdata = cls(rdclass, rdtype, dns.name.from_text(words[0], origin))
    assert isinstance(rdata, dns.rdata.Rdata)
    return rdata


#: The data of a TXT-like record: one or more strings in quotes (no backslash in the entry).
_QUOTED = re.compile(r'(?:"[^"]*"[ \t]*)+$')
_STRING = re.compile(r'"([^"]*)"')
_CLASSES = ("IN", "CH", "CHAOS", "HS", "HESIOD", "NONE", "ANY")


class _SkipError(Exception):
    """An entry that cannot be read: its problem is recorded, the next entry is read."""


class _Reader:
    """Reads the entries of one zone file, keeping BIND's state between them."""

    def __init__(self, origin: dns.name.Name) -> None:
        self.origin = origin
        self.current_origin = origin
        self.last_name = origin
        self.default_ttl: int | None = None
        self.last_ttl: int | None = None
        self.soa_minimum: int | None = None
        #: The current $ORIGIN is outside the zone (said once, at its line).
        self.foreign = False
        self.out = ZoneFile()
        self._seen: dict[RecordKey, int] = {}
        self._rrset_ttl: dict[tuple[dns.name.Name, str], int] = {}

    def problem(self, line: int, message: str, name: str = "", rtype: str = "") -> None:
        self.out.problems.append(Problem(f"line {line}", name, rtype, message, line=line))

    def read(self, text: str) -> ZoneFile:
        for line, entry in entries(text):
            try:
                if self._plain_entry(line, entry):
                    continue
                self._entry(line, entry)
            except _SkipError:
                continue
            except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
                self.problem(line, _plain(exc))
        if self.out.soa is None:
            self.out.problems.append(
                Problem("text", self.origin.to_text(), "SOA",
                        f"the file has no SOA record for {self.origin.to_text()}")
            )  # fmt: skip
        elif not any(
            r.type == "NS" and dns.name.from_text(r.name) == self.origin for r in self.out.records
        ):
            self.out.problems.append(
                Problem("text", self.origin.to_text(), "NS",
                        f"the file has no NS record for {self.origin.to_text()} (its apex)")
            )  # fmt: skip
        return self.out

    def _entry(self, line: int, text: str) -> None:
        tok = dns.tokenizer.Tokenizer(text)
        first = tok.get(want_leading=True)
        if first.is_eol_or_eof() or first.is_comment():
            return
        if first.is_identifier() and first.value.startswith("$"):
            self._directive(line, first.value.upper(), tok)
            return
        if first.is_whitespace():
            token = tok.get()
            if token.is_eol_or_eof():
                return
            tok.unget(token)
            name = self.last_name
        else:
            name = tok.as_name(first, self.current_origin)
            self.last_name = name
        ttl, rdtype = self._ttl_class_type(line, name, tok, inherited=first.is_whitespace())
        self._record(line, name, ttl, rdtype, tok)

    def _plain_entry(self, line: int, text: str) -> bool:
        """Read a plain entry without dnspython's tokenizer, if it is one: an owner, a TTL in
        seconds, IN and an A, AAAA, CNAME, NS, PTR or MX record whose data are words, or a TXT
        or SPF record whose data are strings in quotes, with nothing to unescape, no comment
        and no parenthesis (most of a large zone). True if it was read; False, and
        nothing done, for any other entry or any doubt, which the tokenizer then reads (and
        reports on) as before. Both read such an entry alike: the tokenizer splits it at the
        same white space, and the same constructors check its fields."""
        if text[:1] in _NOT_PLAIN_START or _NOT_PLAIN.search(text):
            return False
        quote = text.find('"')
        strings: list[str] | None = None
        if quote >= 0:
            if not _QUOTED.match(text, quote):
                return False
            strings = _STRING.findall(text, quote)
            text = text[:quote]
        if "(" in text or ")" in text:
            return False
        words = text.split()
        if len(words) < 3 - (strings is not None):
            return False
        index = 1
        ttl: int | None = None
        if words[index].isdigit() and words[index].isascii():
            ttl = int(words[index])
            if ttl > dns.ttl.MAX_TTL:
                return False  # the tokenizer's path says it is not a TTL
            index += 1
        if index < len(words) and words[index].upper() == "IN":
            index += 1
        if index >= len(words):
            return False
        if words[index].upper() not in _PLAIN_NAMES:
            return False
        try:
            rdata = _plain_rdata(
                words[index].upper(), self.current_origin, words[index + 1 :], strings
            )
            if rdata is None:
                return False
            name = dns.name.from_text(words[0], self.current_origin)
        except (dns.exception.DNSException, ValueError, UnicodeError):
            return False
        self.last_name = name
        if ttl is not None:
            self.last_ttl = ttl
        else:
            ttl = self._implicit_ttl()
            if ttl is None:
                return False
        self.add(line, name, ttl, rdata)
        return True

    def _ttl_class_type(
        self, line: int, name: dns.name.Name, tok: dns.tokenizer.Tokenizer, *, inherited: bool
    ) -> tuple[int | None, dns.rdatatype.RdataType]:
        ttl: int | None = None
        for _ in range(3):
            token = tok.get()
            if not token.is_identifier():
                self.problem(line, "the record has no type", name.to_text())
                raise _SkipError
            value = token.value
            if ttl is None and value[:1].isdigit():
                try:
                    ttl = dns.ttl.from_text(value)
                except dns.ttl.BadTTL:
                    self.problem(line, f"{value!r} is not a TTL", name.to_text())
                    raise _SkipError from None
                continue
            if value.upper() in _CLASSES or value.upper().startswith("CLASS"):
                if value.upper() != "IN":
                    self.problem(line, f"class {value} is not the zone's class IN", name.to_text())
                    raise _SkipError
                continue
            try:
                return ttl, dns.rdatatype.from_text(value)
            except dns.rdatatype.UnknownRdatatype:
                message = f"{value!r} is not a record type"
                if inherited:
                    message += (
                        " (the line starts with white space, so its owner is the one before: "
                        f"{name.to_text()})"
                    )
                self.problem(line, message, name.to_text())
                raise _SkipError from None
        self.problem(line, "the record has no type", name.to_text())
        raise _SkipError

    def _record(
        self,
        line: int,
        name: dns.name.Name,
        ttl: int | None,
        rdtype: dns.rdatatype.RdataType,
        tok: dns.tokenizer.Tokenizer,
    ) -> None:
        type_text = dns.rdatatype.to_text(rdtype)
        try:
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN, rdtype, tok, self.current_origin, relativize=False
            )
        except (dns.exception.DNSException, ValueError) as exc:
            self.problem(line, rdata_message(type_text, exc), name.to_text(), type_text)
            return
        if ttl is not None:
            self.last_ttl = ttl
        elif rdtype == dns.rdatatype.SOA and self.default_ttl is None and self.last_ttl is None:
            ttl = rdata.minimum  # type: ignore[attr-defined]  # BIND: the SOA's own minimum
        else:
            ttl = self._implicit_ttl()
        if ttl is None:
            self.problem(line, "the record has no TTL and no $TTL is set before it",
                         name.to_text(), type_text)  # fmt: skip
            return
        self.add(line, name, ttl, rdata)

    def _implicit_ttl(self) -> int | None:
        # As dnspython and BIND: $TTL, else the last TTL given, else the SOA's minimum.
        if self.default_ttl is not None:
            return self.default_ttl
        if self.last_ttl is not None:
            return self.last_ttl
        return self.soa_minimum

    def add(self, line: int, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> None:
        type_text = dns.rdatatype.to_text(rdata.rdtype)
        owner = name.to_text()
        if not name.is_subdomain(self.origin):
            hint = (
                f" (the $ORIGIN is {self.current_origin.to_text()}: is the file imported under "
                "the right name?)"
                if self.foreign
                else ""
            )
            message = (
                f"{owner} is outside the zone {self.origin.to_text()}; a zone file holds the "
                f"records of its zone only{hint}"
            )
            self.problem(line, message, owner, type_text)
            return
        if ttl > MAX_TTL:
            self.problem(line, f"the TTL {ttl} is over {MAX_TTL} (RFC 2181 §8)", owner, type_text)
            return
        if rdata.rdtype == dns.rdatatype.SOA:
            if name != self.origin:
                self.problem(line, f"an SOA record belongs to the zone's apex "
                             f"{self.origin.to_text()} only", owner, "SOA")  # fmt: skip
            elif self.out.soa is not None:
                self.problem(line, "a zone has one SOA record; this is a second", owner, "SOA")
            else:
                assert isinstance(rdata, dns.rdtypes.ANY.SOA.SOA)
                self.out.soa, self.out.soa_ttl, self.out.soa_line = rdata, ttl, line
                self.soa_minimum = rdata.minimum
            return
        # The records of one RRset take the TTL of its first (a record given twice is of an
        # RRset seen already: its TTL is not changed by it).
        ttl = self._rrset_ttl.setdefault((name, type_text), ttl)
        record = Record(name, type_text, ttl, rdata)
        if record.key in self._seen:
            return  # named takes a record given twice once
        self._seen[record.key] = line
        self.out.records.append(RecordData(name=owner, type=type_text, ttl=ttl, data=record.data))
        self.out.lines.append(line)
        self.out.parsed.append(record)

    def _directive(self, line: int, word: str, tok: dns.tokenizer.Tokenizer) -> None:
        if word == "$TTL":
            token = tok.get()
            try:
                ttl = dns.ttl.from_text(token.value)
            except dns.ttl.BadTTL:
                self.problem(line, f"$TTL {token.value!r} is not a TTL")
                return
            if ttl > MAX_TTL:
                self.problem(line, f"$TTL {ttl} is over {MAX_TTL} (RFC 2181 §8)")
                return
            self.default_ttl = ttl
            tok.get_eol()
        elif word == "$ORIGIN":
            origin = tok.get_name(self.current_origin)
            tok.get_eol()
            self.current_origin = origin
            self.last_name = origin
            self.foreign = not origin.is_subdomain(self.origin)
        elif word == "$INCLUDE":
            self.problem(line, "$INCLUDE is not taken: an imported file cannot read files of "
                         "the appliance; put the included records in the file")  # fmt: skip
        elif word == "$GENERATE":
            self._generate(line, tok)
        else:
            self.problem(line, f"{word} is not a directive of a zone file "
                         "($ORIGIN, $TTL, $GENERATE)")  # fmt: skip

    def _generate(self, line: int, tok: dns.tokenizer.Tokenizer) -> None:
        """``$GENERATE range lhs [ttl] [class] type rhs`` as BIND reads it (ARM, "The
        $GENERATE Directive"): ``$`` is the iterator, ``${offset,width,base}`` formats it,
        ``\\$`` and ``$$`` are a dollar sign; a quoted ``rhs`` is data once unquoted."""
        match = _RANGE.match(tok.get().value or "")
        if match is None:
            self.problem(line, "$GENERATE needs a range start-stop[/step] first")
            return
        start, stop = int(match["start"]), int(match["stop"])
        step = int(match["step"] or 1)
        if stop < start or step < 1:
            self.problem(line, f"$GENERATE range {match[0]} is empty or its step is 0")
            return
        if (stop - start) // step + 1 > GENERATE_LIMIT:
            self.problem(line, f"$GENERATE makes more than {GENERATE_LIMIT} records")
            return
        lhs = tok.get()
        if not lhs.is_identifier():
            self.problem(line, "$GENERATE needs the owner (lhs) after its range")
            return
        name = dns.name.from_text("@" if lhs.value == "@" else "x", self.current_origin)
        ttl, rdtype = self._ttl_class_type(line, name, tok, inherited=False)
        rhs = tok.get()
        if not (rhs.is_identifier() or rhs.is_quoted_string()):
            self.problem(line, "$GENERATE needs the data (rhs) after its type")
            return
        tok.get_eol()
        if ttl is None:
            ttl = self._implicit_ttl()
        if ttl is None:
            self.problem(line, "$GENERATE has no TTL and no $TTL is set before it")
            return
        for value in range(start, stop + 1, step):
            owner_text = _substitute(lhs.value, value)
            owner = (
                self.current_origin
                if owner_text == "@"
                else dns.name.from_text(owner_text, self.current_origin)
            )
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN, rdtype, _substitute(rhs.value, value), self.current_origin,
                relativize=False,
            )  # fmt: skip
            self.add(line, owner, ttl, rdata)


_RANGE = re.compile(r"^(?P<start>\d+)-(?P<stop>\d+)(?:/(?P<step>\d+))?$")
_ITERATOR = re.compile(r"\\\$|\$\$|\$(?:\{(-?\d+)(?:,(\d+)(?:,([doxXnN]))?)?\})?")
#: The most records one ``$GENERATE`` makes.
GENERATE_LIMIT = 1_000_000


def _substitute(text: str, value: int) -> str:
    """``text`` of a ``$GENERATE`` with its iterators replaced by ``value``."""

    def one(match: re.Match[str]) -> str:
        if match[0] in ("\\$", "$$"):
            return "$"
        number = value + int(match[1] or 0)
        width = int(match[2] or 0)
        base = match[3] or "d"
        if base in "nN":
            digits = format(number, "x" if base == "n" else "X")
            digits = digits.zfill((width + 1) // 2)
            nibbles = ".".join(reversed(digits))
            return nibbles[:width] if width else nibbles
        return format(number, base).zfill(width)

    return _ITERATOR.sub(one, text)


def _plain(exc: BaseException) -> str:
    """dnspython's words for a syntax error, without its position (the line is given)."""
    text = _WHERE.sub("", str(exc)) or type(exc).__name__
    if isinstance(exc, dns.exception.UnexpectedEnd):
        return "the entry ends too early (a quote or a parenthesis is not closed)"
    if "unbalanced parentheses" in text:
        return "a parenthesis is not closed or not opened"
    if "newline in quoted string" in text:
        return "a quoted string runs past the end of the line"
    if isinstance(exc, dns.name.EmptyLabel):
        return "a name has an empty label (two dots in a row)"
    if isinstance(exc, dns.name.LabelTooLong):
        return "a label of a name is longer than 63 octets"
    if isinstance(exc, dns.name.NameTooLong):
        return "a name is longer than 255 octets"
    return text


def read_zone_file(origin: dns.name.Name, text: str) -> ZoneFile:
    """Read a master-format zone file of ``origin``: every record with its line, and every
    problem (see the module docstring). Problems of the records' content (a host name, a
    CNAME beside other data) are the plan's to find (``services.common.dns.validate``)."""
    return _Reader(origin).read(text)


def parse_zone_text(
    origin: dns.name.Name, text: str
) -> tuple[dns.rdtypes.ANY.SOA.SOA, int, list[RecordData]]:
    """Read a zone file: its SOA, the SOA's TTL and every other record; raise with every
    problem of the file (each naming its line) if it has any."""
    zone_file = read_zone_file(origin, text)
    if zone_file.problems or zone_file.soa is None:
        raise RecordValidationError(zone_file.problems)
    return zone_file.soa, zone_file.soa_ttl, zone_file.records
