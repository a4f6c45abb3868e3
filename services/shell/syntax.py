"""Turning a command line into words, and the typed checks every argument goes through.

This is not a Unix shell: there is no quoting, no pipes, redirections, substitutions,
variables or globbing. A line is plain printable ASCII split on blanks; anything else is
refused with one sentence (:class:`Refused`) before any command sees it.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

MAX_LINE = 1024
MAX_WORD = 255
#: Characters that a Unix shell would give a meaning to; here they are simply refused.
METACHARACTERS = set("|&;<>()$`\\\"'*?[]{}~!#")
DOMAIN_RE = re.compile(r"^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                       r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$")  # fmt: skip
MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
RR_TYPES = {
    "A", "AAAA", "ANY", "CAA", "CDNSKEY", "CDS", "CNAME", "DNAME", "DNSKEY", "DS",
    "HINFO", "HTTPS", "LOC", "MX", "NAPTR", "NS", "NSEC", "NSEC3", "NSEC3PARAM", "PTR",
    "RRSIG", "SOA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI",
}  # fmt: skip
RR_CLASSES = {"IN", "CH", "HS"}
#: Zone transfers: the shell never reads a zone whole (named would refuse it a keyless transfer
#: anyway, but a zone may allow transfers to an address that includes the appliance's own).
TRANSFER_TYPES = {"AXFR", "IXFR"}
_TRANSFER_NUMBERS = re.compile(r"^TYPE0*25[12]$")  # RFC 3597 spelling of IXFR (251), AXFR (252)


class Refused(Exception):  # noqa: N818 - reads as what it is: "refused: ..."
    """A line or an argument that is not allowed; ``str()`` is the one-line reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"refused: {self.reason}"


def describe_char(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def split_line(line: str) -> list[str]:
    """The words of ``line``; raises :class:`Refused` for anything a shell would interpret."""
    if len(line) > MAX_LINE:
        raise Refused(f"the line is longer than {MAX_LINE} characters")
    for ch in line:
        if ord(ch) > 0x7E:
            raise Refused(f"non-ASCII character {describe_char(ch)}; commands are plain ASCII")
        if (ch != "\t" and ord(ch) < 0x20) or ord(ch) == 0x7F:
            raise Refused(f"control character 0x{ord(ch):02X} in the line")
        if ch in METACHARACTERS:
            raise Refused(
                f"{ch!r} is not supported: this is not a Unix shell "
                "(no pipes, redirections, substitutions, quoting, variables or globbing)"
            )
    words = line.split()
    for word in words:
        if len(word) > MAX_WORD:
            raise Refused(f"a word is longer than {MAX_WORD} characters")
        if "/" in word:
            raise Refused("file paths are not accepted (no command reads or writes files)")
    if words and "=" in words[0]:
        raise Refused("environment changes are not supported")
    return words


# --- typed values -----------------------------------------------------------------
def domain(value: str, what: str = "domain name") -> str:
    if value == "." or DOMAIN_RE.match(value):
        return value
    raise Refused(f"{value!r} is not a valid {what}")


def address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise Refused(f"{value!r} is not an IP address") from None


def host(value: str) -> str:
    """A host to reach: an IP address or a host name (never an option)."""
    if value.startswith("-"):
        raise Refused(f"{value!r} is not a host name or address")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return domain(value, "host name or address")


def integer(value: str, low: int, high: int, what: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value) or not low <= int(value) <= high:
        raise Refused(f"{what} must be a whole number from {low} to {high}")
    return int(value)


def decimal(value: str, low: float, high: float, what: str) -> float:
    if not re.fullmatch(r"[0-9]{1,4}(\.[0-9]{1,3})?", value) or not low <= float(value) <= high:
        raise Refused(f"{what} must be a number from {low:g} to {high:g}")
    return float(value)


def no_transfer(value: str) -> None:
    word = value.upper().split("=")[0]
    if word in TRANSFER_TYPES or _TRANSFER_NUMBERS.match(word):
        raise Refused(f"{value} is a zone transfer: the shell does not read whole zones")


def rr_type(value: str) -> str:
    no_transfer(value)
    if value.upper() in RR_TYPES:
        return value.upper()
    raise Refused(f"{value!r} is not a record type this shell knows")


def rr_class(value: str) -> str:
    if value.upper() in RR_CLASSES:
        return value.upper()
    raise Refused(f"{value!r} is not a DNS class (IN, CH or HS)")


def mac(value: str) -> str:
    if MAC_RE.match(value):
        return value.lower()
    raise Refused(f"{value!r} is not a hardware address (like 02:00:00:00:00:01)")


def choice(value: str, allowed: list[str] | tuple[str, ...], what: str) -> str:
    if value in allowed:
        return value
    raise Refused(f"{what} must be one of: {', '.join(allowed)}")


def no_more(command: str, args: list[str]) -> None:
    if args:
        raise Refused(f"{command} takes no further arguments (got {args[0]!r})")
