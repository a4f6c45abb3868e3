"""ISC DHCP's expressions (dhcp-eval(5)) in Kea's classification language (Kea 2.2 manual,
chapter 13): ``match if`` tests of classes and the values of subclasses.

What maps: ``option NAME`` (``option[CODE].hex``), the relay agent's circuit-id and remote-id
(``relay4[1]``, ``relay4[2]``), ``substring``, ``suffix``, ``exists``, ``hardware``
(``pkt4.mac``), ``=``, ``!=``, ``and``, ``or``, ``not``, parentheses, strings and
hexadecimal data. Anything else raises ``NoEquivalentError`` saying what does not map.
"""

from __future__ import annotations

import re

from services.common.dhcp.isc.conf import Token
from services.common.dhcp.isc.names import (
    EXPRESSION_CODES,
    EXPRESSION_CODES_V6,
    RELAY_SUBOPTIONS,
)
from services.common.dhcp.options import Family

_HEX = re.compile(r"^[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2})+$")


def _hex(raw: str) -> str:
    return ":".join(part.rjust(2, "0").lower() for part in raw.split(":"))


class NoEquivalentError(Exception):
    """A dhcpd expression with no Kea equivalent; the message says which part."""


_HARDWARE = "<hardware>"


def expression(tokens: list[Token], family: Family = "v4") -> str:
    """A dhcpd boolean expression in Kea's language (``NoEquivalentError``: it does not map)."""
    parser = _Expression(tokens, family)
    out = parser.boolean()
    if parser.at != len(tokens):
        raise NoEquivalentError(f"'{tokens[parser.at].value}' is not understood here")
    return out


class _Expression:
    def __init__(self, tokens: list[Token], family: Family) -> None:
        self.family = family
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at].value if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> Token:
        if self.at >= len(self.tokens):
            raise NoEquivalentError("the expression ends too early")
        token = self.tokens[self.at]
        if expected is not None and token.value != expected:
            raise NoEquivalentError(f"'{expected}' expected, not '{token.value}'")
        self.at += 1
        return token

    def boolean(self) -> str:
        left = self.conjunction()
        while self.peek() == "or":
            self.take()
            left = f"({left}) or ({self.conjunction()})"
        return left

    def conjunction(self) -> str:
        left = self.negation()
        while self.peek() == "and":
            self.take()
            left = f"({left}) and ({self.negation()})"
        return left

    def negation(self) -> str:
        if self.peek() == "not":
            self.take()
            return f"not ({self.negation()})"
        return self.comparison()

    def comparison(self) -> str:
        if self.peek() == "(":
            self.take()
            inner = self.boolean()
            self.take(")")
            return inner
        if self.peek() == "exists":
            self.take()
            return f"{self.option_ref(self.take().value, '.exists')}"
        if self.peek() == "known":
            self.take()
            return "member('KNOWN')"
        left = self.data()
        operator = self.peek()
        if operator not in ("=", "!="):
            raise NoEquivalentError("only comparisons with '=' or '!=' are carried over")
        self.take()
        right = self.data()
        if _HARDWARE in (left, right):
            # ISC's hardware is the type byte and the address; Kea's pkt4.mac the address
            literal = right if left == _HARDWARE else left
            if not literal.startswith("0x") or len(literal) != 16:
                raise NoEquivalentError("hardware is compared with a type byte and six bytes only")
            left, right = "pkt4.mac", "0x" + literal[4:]
        return f"{left} == {right}" if operator == "=" else f"not ({left} == {right})"

    def option_ref(self, name: str, suffix: str = ".hex") -> str:
        if self.family == "v6":
            space, _, short = name.rpartition(".")
            code6 = EXPRESSION_CODES_V6.get(short) if space == "dhcp6" else None
            if code6 is None:
                raise NoEquivalentError(f"option {name} has no DHCPv6 code this import knows")
            return f"option[{code6}]{suffix}"
        if name in RELAY_SUBOPTIONS:
            return f"relay4[{RELAY_SUBOPTIONS[name]}]{suffix}"
        code = EXPRESSION_CODES.get(name.removeprefix("dhcp."))
        if code is None:
            raise NoEquivalentError(f"option {name} has no code this import knows")
        return f"option[{code}]{suffix}"

    def data(self) -> str:
        token = self.take()
        value = token.value
        if token.kind == "string":
            if "'" in value or not value.isprintable():
                raise NoEquivalentError("a string with a quote or unprintable characters")
            return f"'{value}'"
        if value == "option":
            return self.option_ref(self.take().value)
        if value == "hardware":
            if self.family == "v6":
                raise NoEquivalentError("hardware is not known in DHCPv6 tests")
            return _HARDWARE
        if value in ("substring", "suffix"):
            self.take("(")
            inner, hardware = self._inner_data()
            self.take(",")
            first = self._integer()
            if value == "substring":
                self.take(",")
                length = self._integer()
                self.take(")")
                if hardware:
                    if first == 0:
                        why = "substring(hardware, 0, ...) holds the type, which pkt4.mac has not"
                        raise NoEquivalentError(why)
                    first -= 1
                return f"substring({inner}, {first}, {length})"
            self.take(")")
            return f"substring({inner}, -{first}, all)"
        if token.kind == "word" and _HEX.match(value):
            return "0x" + _hex(value).replace(":", "")
        if token.kind == "word" and value.isdigit():
            return f"0x{int(value):02x}"
        raise NoEquivalentError(f"'{value}' is not carried over in a test")

    def _inner_data(self) -> tuple[str, bool]:
        if self.peek() == "hardware":
            self.take()
            return "pkt4.mac", True
        return self.data(), False

    def _integer(self) -> int:
        token = self.take()
        if not token.value.isdigit():
            raise NoEquivalentError(f"{token.value!r} is not a number")
        return int(token.value)
