"""ISC DHCP's configuration grammar (dhcpd.conf(5)): a tokenizer and a recursive descent parser.

The grammar is one of statements: a statement is a series of tokens ended by ``;``, or a
series of tokens followed by a block ``{ ... }`` of statements (``subnet``, ``host``,
``shared-network``, ``class``, ``pool``, ``group``, ``if``). Comments run from ``#`` to the end
of the line; strings are double-quoted with backslash escapes. The parser knows no keywords:
what statements mean is ``services.common.dhcp.isc.translate``'s business. Every statement
keeps the line it starts on, so that what is not carried over can be named by line.

``include`` is refused: the file it names is on the old server, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from services.common.errors import FieldProblem, ValidationError

TokenKind = Literal["word", "string", "punct"]
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
#: Words that start a statement of dhcpd.conf(5) or dhcpd.leases(5) and are no value: one at
#: the start of a line inside another statement means that statement lacks its ';'.
_STARTS = frozenset((
    "option", "range", "range6", "prefix6", "default-lease-time", "max-lease-time",
    "min-lease-time", "subnet", "subnet6", "host", "hardware", "fixed-address",
    "fixed-address6", "pool", "pool6", "class", "subclass", "group", "shared-network",
    "authoritative", "filename", "next-server", "server-name", "allow", "deny", "ignore",
    "ddns-update-style", "match", "lease", "binding", "starts", "ends", "cltt", "tstp",
    "include", "failover", "use-host-decl-names", "uid", "client-hostname",
))  # fmt: skip
#: Statements that hold an expression, which may run over lines and name options.
_EXPRESSIONS = frozenset(("match", "if", "elsif", "spawn", "log", "set", "eval", "execute"))
#: The largest file read (a dhcpd.conf of some thousands of hosts is some hundreds of kB).
MAX_BYTES = 8 * 1024 * 1024


class ConfError(ValidationError):
    """The text is not dhcpd.conf's grammar; ``line`` says where."""

    code = "isc-syntax"

    def __init__(self, message: str, line: int, *, what: str = "conf") -> None:
        super().__init__(
            f"line {line}: {message}",
            problems=[FieldProblem(what, f"line {line}: {message}", {"line": line})],
        )
        self.line = line


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    value: str
    line: int

    def __str__(self) -> str:
        if self.kind == "string":
            escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
            return f'"{escaped}"'
        return self.value


@dataclass
class Statement:
    """A statement: its tokens, and its block (None for a statement ended by ``;``)."""

    tokens: list[Token]
    line: int
    block: list[Statement] | None = None
    end_line: int = 0

    @property
    def keyword(self) -> str:
        return self.tokens[0].value.lower() if self.tokens and self.tokens[0].kind == "word" else ""

    def words(self) -> list[str]:
        """The tokens' values (strings without their quotes)."""
        return [t.value for t in self.tokens]

    def text(self) -> str:
        """The statement's head as it would be written (``subnet 198.51.100.0 netmask ...``)."""
        out = ""
        for token in self.tokens:
            piece = str(token)
            if out and not (piece in (",", ")") or out.endswith("(")):
                out += " "
            out += piece
        return out

    def walk(self) -> list[Statement]:
        """This statement and every statement inside it, in order."""
        found = [self]
        for inner in self.block or []:
            found += inner.walk()
        return found


@dataclass
class Conf:
    """A parsed dhcpd.conf: its top-level statements."""

    statements: list[Statement] = field(default_factory=list)


#: One token: punctuation longest first (``!=``, ``~=`` and ``~~`` are operators of
#: expressions); a string may hold escaped quotes and (escaped) line ends.
_TOKEN = re.compile(
    r"""(?P<space>[ \t\r\f\v]+)|(?P<newline>\n)|(?P<comment>\#[^\n]*)"""
    r"""|(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>!=|~=|~~|[{};,()=!])"""
    r"""|(?P<word>[^\s"\#{};,()=!~]+)""",
    re.DOTALL,
)
_ESCAPE = re.compile(r"\\([0-7]{1,3}|.)", re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    found = match.group(1)
    if found[0] in "01234567":
        return chr(int(found, 8))
    return _ESCAPES.get(found, found)


def tokenize(text: str, *, what: str = "conf") -> list[Token]:
    """The tokens of ``text`` with their line numbers."""
    tokens: list[Token] = []
    at, line, size = 0, 1, len(text)
    match = _TOKEN.match
    while at < size:
        found = match(text, at)
        if found is None:
            if text[at] == '"':
                raise ConfError('a string is not closed (a missing ")', line, what=what)
            raise ConfError("'~' is only known as '~=' or '~~'", line, what=what)
        kind = found.lastgroup
        value = found.group()
        if kind == "newline":
            line += 1
        elif kind == "string":
            inner = _ESCAPE.sub(_unescape, value[1:-1])
            tokens.append(Token("string", inner, line))
            line += value.count("\n")
        elif kind == "punct":
            tokens.append(Token("punct", value, line))
        elif kind == "word":
            tokens.append(Token("word", value, line))
        at = found.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token], what: str) -> None:
        self.tokens = tokens
        self.at = 0
        self.what = what

    def error(self, message: str, line: int) -> ConfError:
        return ConfError(message, line, what=self.what)

    def statements(self, opened: Token | None) -> tuple[list[Statement], int]:
        """Statements up to the ``}`` that closes ``opened`` (None: to the end of the text)."""
        found: list[Statement] = []
        while True:
            if self.at >= len(self.tokens):
                if opened is not None:
                    raise self.error("this block's '{' is never closed by a '}'", opened.line)
                return found, self.tokens[-1].line if self.tokens else 1
            token = self.tokens[self.at]
            if token.kind == "punct" and token.value == "}":
                if opened is None:
                    raise self.error("a '}' closes no block", token.line)
                self.at += 1
                return found, token.line
            if token.kind == "punct" and token.value == ";":
                self.at += 1  # an empty statement, as dhcpd allows
                continue
            found.append(self.statement())

    def statement(self) -> Statement:
        head: list[Token] = []
        first = self.tokens[self.at]
        depth = 0  # parentheses of an expression
        while self.at < len(self.tokens):
            token = self.tokens[self.at]
            if token.kind == "punct":
                if token.value == "(":
                    depth += 1
                elif token.value == ")":
                    depth -= 1
                    if depth < 0:
                        raise self.error("a ')' closes no '('", token.line)
                elif token.value == ";":
                    if depth:
                        raise self.error("a '(' is not closed before ';'", token.line)
                    self.at += 1
                    return self._made(head, first, None, token.line)
                elif token.value == "{" and head and head[-1].value == "=":
                    # ``option NAME code N = { ip-address, text };``: a record's field types
                    head += self._record(token)
                    continue
                elif token.value == "{":
                    if depth:
                        raise self.error("a '(' is not closed before '{'", token.line)
                    self.at += 1
                    block, end = self.statements(token)
                    return self._made(head, first, block, end)
                elif token.value == "}":
                    raise self.error(
                        f"the statement '{_head(head)}' that starts on line {first.line} "
                        "has no ';' before this '}'", token.line,
                    )  # fmt: skip
            if (
                token.kind == "word"
                and token.value in _STARTS
                and head
                and token.line > head[-1].line
                and not depth
                and head[0].value not in _EXPRESSIONS
            ):
                raise self.error(
                    f"the statement '{_head(head)}' has no ';' at its end (line {token.line} "
                    f"starts another, '{token.value}')", first.line,
                )  # fmt: skip
            head.append(token)
            self.at += 1
        raise self.error(
            f"the statement '{_head(head)}' has no ';' at its end (end of file)", first.line
        )

    def _record(self, opened: Token) -> list[Token]:
        """The tokens of ``{ type, type }`` after ``=`` (braces kept), up to its ``}``."""
        taken = [opened]
        self.at += 1
        while self.at < len(self.tokens):
            token = self.tokens[self.at]
            self.at += 1
            taken.append(token)
            if token.kind == "punct" and token.value == "}":
                return taken
            if token.kind == "punct" and token.value in ("{", ";"):
                break
        raise self.error("a record type '{ ... }' is not closed by a '}'", opened.line)

    def _made(
        self, head: list[Token], first: Token, block: list[Statement] | None, end: int
    ) -> Statement:
        if not head:
            raise self.error("a block '{ ... }' without a statement before it", first.line)
        made = Statement(head, first.line, block, end)
        if made.keyword == "include":
            raise self.error(
                "'include' is not read: the file it names is on the old server; paste its "
                "statements into this file instead", first.line,
            )  # fmt: skip
        return made


def _head(tokens: list[Token]) -> str:
    return Statement(tokens[:6], 0).text() + (" ..." if len(tokens) > 6 else "")


def parse(text: str, *, what: str = "conf") -> Conf:
    """Parse dhcpd.conf text; ``ConfError`` names the line of the first fault."""
    if len(text.encode()) > MAX_BYTES:
        raise ValidationError(
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB", field=what
        )
    parser = _Parser(tokenize(text, what=what), what)
    statements, _end = parser.statements(None)
    return Conf(statements)
