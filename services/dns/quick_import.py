"""The quick reading of a zone file to import: most of a large zone without a dnspython object
per record.

A zone file's plain entries (an owner of letters, digits, hyphens and underscores, a TTL in
seconds, IN, and an A, AAAA, CNAME, NS, PTR, MX, TXT or SPF record of plain words or of
printable strings in quotes: most of a large zone) are read as text, and the record each
stands for is written as dnspython writes it (the text named's zone transfer gives back);
every other entry (directives, parentheses, escapes, comments, other types) is read by the
import's reader (``services.dns.zonefile``) as before. The whole zone is then checked on these
texts: duplicates are taken once and an RRset takes the TTL of its first record, as named
loads a zone; a CNAME is the only data of its name and not at the apex; the apex has NS
records; below a delegation there is glue only; records of other types pass the checks of a
change (``build_record``).

This reading only accepts. At any doubt (a problem of an entry, a DS, DNAME or apex-only
type, strict host names, a name or data it does not read itself) it answers None and the
import reads the file the thorough way (``DnsService._read_import``), which refuses what is
wrong naming the line and the reason. What it accepts, the thorough reading accepts too, with
the same records.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

import dns.exception
import dns.ipv6
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rdtypes.ANY.SOA

from services.common.dns.contract import RecordData
from services.common.dns.records import MAX_TTL, Record
from services.common.dns.validate import Problem, build_record
from services.dns.zonefile import _NOT_PLAIN_START, _STRING, _depth, _Reader, _SkipError

#: A name that dnspython writes as it is given (no octet it would escape): labels of letters,
#: digits, hyphens and underscores, a wildcard label first, absolute or relative.
_NAME = re.compile(r"(?:\*\.)?[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?|\*")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: An IPv4 address as dnspython writes it (no leading zeros).
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_IPV6 = re.compile(r"[0-9A-Fa-f:]{2,39}")
#: Types whose data are names (compared without regard to case, as named compares them).
_NAME_TYPES = {"CNAME", "NS", "PTR", "MX"}
_QUICK_TYPES = {"A", "AAAA", "TXT", "SPF", *_NAME_TYPES}
_PLAIN_NAME = r"(?:@|(?:\*\.)?[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?|\*)"
#: A plain entry: owner, TTL in seconds, IN, a quick type and its data (see ``_data``).
_ENTRY = re.compile(
    rf"(?P<owner>{_PLAIN_NAME})[ \t]+(?:(?P<ttl>[0-9]{{1,10}})[ \t]+)?(?:(?i:IN)[ \t]+)?"
    r"(?P<type>(?i:AAAA|A|CNAME|NS|PTR|MX|TXT|SPF))[ \t]+(?P<data>[^ \t].*?)[ \t]*"
)
_MX = re.compile(rf"([0-9]{{1,5}})[ \t]+({_PLAIN_NAME})")
#: TXT data of strings in quotes only, nothing escaped.
_QUOTED_ONLY = re.compile(r'(?:"[^"\\]*"[ \t]*)+')
#: Types the quick reading leaves to the thorough one (checks of cuts, DS, apex-only types).
_DOUBTFUL_TYPES = {"DS", "DNAME", "ZONEMD", "CSYNC"}


class _DoubtError(Exception):
    """Something the quick reading does not decide: the thorough reading does."""


@dataclass
class QuickZone:
    """A zone file read the quick way: its SOA, its records (as named will serve them), the
    line each came from, and the zone file to install."""

    soa: dns.rdtypes.ANY.SOA.SOA
    soa_ttl: int
    #: Owner (absolute), type, TTL and data, as dnspython writes them, in the file's order.
    records: list[tuple[str, str, int, str]]
    lines: list[int]
    text: str = ""
    nameservers: list[str] = field(default_factory=list)


def _absolute(word: str, origin: str) -> str:
    """The absolute text of a plain name ``word`` relative to ``origin``; raises a doubt."""
    if word == "@":
        return origin
    if _NAME.fullmatch(word) is None:
        raise _DoubtError
    text = word if word.endswith(".") else f"{word}.{origin}"
    if len(text) > 254:
        raise _DoubtError
    return text


def _data(rtype: str, origin: str, data: str) -> str:
    """The data of a plain entry as dnspython writes it; raises a doubt for anything else."""
    if rtype == "A":
        if _IPV4.fullmatch(data) is None:
            raise _DoubtError
        return data
    if rtype == "TXT" or rtype == "SPF":
        if _QUOTED_ONLY.fullmatch(data) is None:
            raise _DoubtError
        strings = _STRING.findall(data)
        for string in strings:
            if len(string) > 255 or not (string.isascii() and string.isprintable()):
                raise _DoubtError
        return " ".join(f'"{string}"' for string in strings)
    if rtype == "AAAA":
        if _IPV6.fullmatch(data) is None:
            raise _DoubtError
        try:
            text = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, data))
        except OSError:
            raise _DoubtError from None
        if "." in text:  # an IPv4 address inside: dnspython's own writing decides
            raise _DoubtError
        return text
    if rtype == "MX":
        match = _MX.fullmatch(data)
        if match is None or int(match[1]) > 65535:
            raise _DoubtError
        return f"{int(match[1])} {_absolute(match[2], origin)}"
    return _absolute(data, origin)


def _data_key(rtype: str, data: str) -> str:
    """What tells two records' data apart, as named does (names without regard to case)."""
    return data.lower() if rtype in _NAME_TYPES else data


class _QuickReader(_Reader):
    """The import's reader, with plain entries read as text and every record kept as text."""

    def __init__(self, origin: dns.name.Name) -> None:
        super().__init__(origin)
        self.origin_text = origin.to_text()
        self.origin_key = self.origin_text.lower()
        self.records: list[tuple[str, str, int, str]] = []
        self.lines: list[int] = []
        #: Records of types other than the quick ones, as parsed, for the checks of a change.
        self.others: list[Record] = []
        self._keys: set[tuple[str, str, object]] = set()
        self._ttls: dict[tuple[str, str], int] = {}
        #: The text of the current $ORIGIN when plain names can be made absolute under it.
        self._origin: str | None = self.origin_text
        #: The owner of the last quick entry (the reader's ``last_name`` is made of it only
        #: when an entry it reads needs it).
        self._last_owner: str | None = None

    def quick(self, text: str) -> None:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        count = len(lines)
        index = 0
        while index < count:
            line = lines[index]
            start = index + 1
            index += 1
            if self._origin is not None and line[:1] not in _NOT_PLAIN_START:
                if self._quick_entry(start, line):
                    continue
            elif not line.strip():
                continue
            entry = line
            if any(char in line for char in '()"\\'):
                parts = [line]
                depth = _depth(line, 0)
                while depth > 0 and index < count:
                    parts.append(lines[index])
                    depth = _depth(lines[index], depth)
                    index += 1
                entry = "\n".join(parts)
            elif not line.split(";", 1)[0].strip():
                continue
            self._reader_entry(start, entry)
        if self.out.problems:
            raise _DoubtError

    def _reader_entry(self, line: int, entry: str) -> None:
        if self._last_owner is not None:
            self.last_name = dns.name.from_text(self._last_owner)
            self._last_owner = None
        try:
            self._entry(line, entry)
        except _SkipError:
            raise _DoubtError from None
        except (dns.exception.DNSException, ValueError, UnicodeError):
            raise _DoubtError from None
        origin = self.current_origin.to_text()
        self._origin = origin if origin != "." and _NAME.fullmatch(origin) else None

    def _quick_entry(self, line: int, text: str) -> bool:
        """Read a plain entry (see the module docstring); False if it is not one."""
        match = _ENTRY.fullmatch(text)
        if match is None:
            return False
        owner_word, ttl_word, rtype, data = match.group("owner", "ttl", "type", "data")
        rtype = rtype.upper()
        origin = self._origin
        assert origin is not None
        try:
            data = _data(rtype, origin, data)
        except _DoubtError:
            return False
        if owner_word == "@":
            owner = origin
        elif owner_word[-1] == ".":
            owner = owner_word
        else:
            owner = f"{owner_word}.{origin}"
            if len(owner) > 254:
                return False
        if ttl_word is not None:
            ttl = int(ttl_word)
            if ttl > MAX_TTL:
                return False  # refused by the thorough reading, at its line
            self.last_ttl = ttl
        else:
            found = self._implicit_ttl()
            if found is None:
                return False
            ttl = found
        self._last_owner = owner
        self._keep(line, owner, rtype, ttl, data, data.lower() if rtype in _NAME_TYPES else data)
        return True

    def _keep(self, line: int, owner: str, rtype: str, ttl: int, data: str, key: object) -> None:
        owner_key = owner.lower()
        if owner_key != self.origin_key and not owner_key.endswith("." + self.origin_key):
            raise _DoubtError  # outside the zone: the thorough reading says so at its line
        if ttl > MAX_TTL:
            raise _DoubtError
        ttl = self._ttls.setdefault((owner_key, rtype), ttl)
        record_key = (owner_key, rtype, key)
        if record_key in self._keys:
            return  # named takes a record given twice once
        self._keys.add(record_key)
        self.records.append((owner, rtype, ttl, data))
        self.lines.append(line)

    def add(self, line: int, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> None:
        """A record of an entry the import's reader read."""
        if rdata.rdtype == dns.rdatatype.SOA:
            super().add(line, name, ttl, rdata)
            return
        if not name.is_subdomain(self.origin):
            raise _DoubtError
        rtype = dns.rdatatype.to_text(rdata.rdtype)
        data = str(rdata.to_text())
        key: object
        if rtype in _QUICK_TYPES:
            key = _data_key(rtype, data)
        else:
            key = rdata.to_digestable()
            self.others.append(Record(name, rtype, min(ttl, MAX_TTL), rdata))
        self._keep(line, name.to_text(), rtype, ttl, data, key)


def _check(reader: _QuickReader) -> list[str]:
    """The checks of the whole zone (see the module docstring); the apex's name servers."""
    origin = reader.origin_key
    types: dict[str, set[str]] = {}
    cnames: dict[str, int] = {}
    nameservers: list[str] = []
    for owner, rtype, _ttl, data in reader.records:
        if rtype in _DOUBTFUL_TYPES:
            raise _DoubtError
        key = owner.lower()
        found = types.get(key)
        if found is None:
            types[key] = {rtype}
        else:
            found.add(rtype)
        if rtype == "CNAME":
            cnames[key] = cnames.get(key, 0) + 1
        elif rtype == "NS" and key == origin:
            nameservers.append(data)
    if not nameservers:
        raise _DoubtError
    for owner, count in cnames.items():
        if count > 1 or owner == origin or len(types[owner]) > 1:
            raise _DoubtError
    delegations = {owner for owner, found in types.items() if owner != origin and "NS" in found}
    if delegations:
        for owner in delegations:
            if types[owner] - {"NS", "A", "AAAA"}:
                raise _DoubtError
        depth = origin.count(".")
        for owner, found in types.items():
            if found <= {"A", "AAAA"}:
                continue  # glue may be below a delegation
            labels = owner.split(".")
            # every name strictly between the owner and the apex
            for cut in range(1, len(labels) - depth - 1):
                if ".".join(labels[cut:]) in delegations:
                    raise _DoubtError
    problems: list[Problem] = []
    origin_name = reader.origin
    for record in reader.others:
        spec = RecordData.model_construct(
            name=record.name.to_text(), type=record.rtype, ttl=record.ttl, data=record.data
        )
        build_record(spec, origin_name, record.ttl, "records[0]", problems, False, record)
        if problems:
            raise _DoubtError
    return sorted(nameservers)


def _order(record: tuple[str, str, int, str]) -> tuple[list[str], str, str]:
    """The order of ``zone_text``: the owner's labels from the right, lowercased; type; data."""
    labels = record[0].lower().split(".")
    labels.reverse()
    return labels, record[1], record[3]


def read_quick(origin: dns.name.Name, text: str) -> QuickZone | None:
    """The zone file ``text`` of ``origin`` read the quick way, with the zone file to install;
    None when the thorough reading must decide (see the module docstring)."""
    if origin == dns.name.root:
        return None
    reader = _QuickReader(origin)
    try:
        reader.quick(text)
        soa = reader.out.soa
        if soa is None:
            return None
        nameservers = _check(reader)
    except _DoubtError:
        return None
    quick = QuickZone(soa, reader.out.soa_ttl, reader.records, reader.lines)
    quick.nameservers = nameservers
    origin_text = reader.origin_text
    out = [
        f"; Zone {origin_text}, written by Burrow's dns-agent.",
        f"$ORIGIN {origin_text}",
        f"{origin_text} {quick.soa_ttl} IN SOA {soa.to_text()}",
    ]
    # Sorted by owner from the right, as the agent writes every zone file: named reads a
    # sorted file in a third less time than the same records in the order of the benchmark's
    # file, which more than pays for the sort.
    out += [
        f"{owner} {ttl} IN {rtype} {data}"
        for owner, rtype, ttl, data in sorted(reader.records, key=_order)
    ]
    quick.text = "\n".join(out) + "\n"
    return quick
