"""Domain-name rules: RFC 2181 for owner names of records, LDH (RFC 952/1123) for host names.

RFC 2181 §11 allows any octet in a label; the limits are 63 octets per label and 255 for the
whole name. An owner is written as in a master file: underscores anywhere (``_msdcs``,
``gc._msdcs``, ``_spf``), any octet escaped (``a\\.b`` is one label holding a dot, ``\\032``
a space), ``*`` as the leftmost label for a wildcard (RFC 4592). Refused are only what a master
file could not hold unescaped: white space, control characters and ``"();``. Host names (the
owners of address records, the targets of MX, NS, SRV and PTR) must be letters, digits and
hyphens, not starting or ending with a hyphen; Burrow applies that rule only in a zone that
asks for strict host names (``strict_hostnames``), as BIND's ``check-names`` does.
"""

from __future__ import annotations

import re

import dns.exception
import dns.name

LDH_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_FORBIDDEN = re.compile(r'[\s\x00-\x1f\x7f"();]')
#: An escaped octet of a name in presentation format (``\\.``, ``\\"``, ``\\032``).
_ESCAPE = re.compile(r"\\(\d{3}|.)")


def absolute(name: str, origin: dns.name.Name) -> dns.name.Name:
    """``name`` made absolute: ``@`` is the origin, a name without a final dot is relative."""
    if name in ("@", ""):
        return origin
    return dns.name.from_text(name, origin=origin)


def owner_problems(name: str) -> list[str]:
    """Why ``name`` (as written by a user, relative or absolute) is not a valid owner name."""
    if name == "@":
        return []
    if not name:
        return ["the name is empty"]
    if _FORBIDDEN.search(_ESCAPE.sub("", name)):
        return ['the name contains white space, a control character or one of "(); '
                "(escape such an octet: \\032 for a space)"]  # fmt: skip
    try:
        parsed = dns.name.from_text(name, origin=None)
    except dns.name.EmptyLabel:
        return ["the name has an empty label (two dots in a row)"]
    except dns.name.LabelTooLong:
        return ["a label of the name is longer than 63 octets (RFC 2181 §11)"]
    except dns.name.NameTooLong:
        return ["the name is longer than 255 octets (RFC 2181 §11)"]
    except dns.name.BadEscape:
        return ["the name has a bad escape: a backslash is followed by a character or by "
                "three digits 000 to 255"]  # fmt: skip
    except dns.exception.DNSException as exc:
        return [f"not a domain name: {exc}"]
    if sum(len(label) + 1 for label in parsed.labels if label) + 1 > 255:
        return ["the name is longer than 255 octets (RFC 2181 §11)"]
    return []


def hostname_problems(name: dns.name.Name, *, wildcard: bool = False) -> list[str]:
    """Why the absolute ``name`` is not a host name (letters, digits, hyphens)."""
    labels = [label.decode(errors="replace") for label in name.labels if label]
    if wildcard and labels and labels[0] == "*":
        labels = labels[1:]
    bad = [label for label in labels if not LDH_LABEL.match(label)]
    if bad:
        return [
            f"{name.to_text()} is not a host name: label {bad[0]!r} must be letters, digits "
            "and hyphens, not starting or ending with a hyphen"
        ]
    return []


def zone_name_problems(name: str) -> list[str]:
    """Why ``name`` cannot be a zone name (LDH labels or underscores; it names a file too)."""
    text = name[:-1] if name.endswith(".") else name
    if not text:
        return ["the root zone cannot be managed"]
    problems = owner_problems(text)
    if problems:
        return problems
    for label in text.split("."):
        if not re.match(r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$", label):
            return [f"label {label!r} of a zone name must be letters, digits, '-' or '_'"]
    return []
