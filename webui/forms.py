"""A form's way to Central and back: its text read into the API's types, and every problem of
Central's answer shown next to the field it names.

Reading: Central takes no text for a number or a flag (``"60"`` is refused where 60 is meant),
so a page reads its posted fields with a ``Reader``, which turns them into whole numbers and
booleans and collects, in plain words, every field that is none; ``Reader.check`` raises
``FormInputError`` before anything is sent.

Showing: Central answers a refusal with the one problem format; its ``problems`` list every
wrong field in the request's terms (``changes[0].record.ttl``, ``pools[1].start``, ``line 7``
of an imported file). A ``Placement`` says where those paths land on one form; ``refusal``
puts each problem at its field (several at one field are all shown), and any problem for a
field the form does not have at the form's top, so that none is lost.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.common.problems import ProblemItem
from webui.central import ApiError

#: What a checkbox or a yes/no choice posts when it is on.
ON = ("yes", "on", "true")


class FormErrors:
    """What is wrong with one form: messages at its fields, the rest at its top, and one
    sentence for the page's banner. Templates ask ``name in errors`` and ``errors[name]``."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.top: list[str] = []
        self.banner = ""

    def at(self, name: str, message: str) -> None:
        messages = self.fields.setdefault(name, [])
        if message not in messages:
            messages.append(message)

    def at_top(self, message: str) -> None:
        if message and message not in self.top:
            self.top.append(message)

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def __getitem__(self, name: str) -> str:
        return "; ".join(self.fields[name])

    def get(self, name: str, default: str = "") -> str:
        return self[name] if name in self.fields else default

    def __bool__(self) -> bool:
        return bool(self.fields or self.top or self.banner)

    def __repr__(self) -> str:
        return f"FormErrors(fields={self.fields!r}, top={self.top!r}, banner={self.banner!r})"


class FormInputError(Exception):
    """Fields the console cannot turn into the API's types; nothing was sent to Central."""

    def __init__(self, errors: FormErrors) -> None:
        super().__init__(", ".join(errors.fields))
        self.errors = errors


# --- reading a form ----------------------------------------------------------------------------
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:\d{1,10}[wdhms])+", re.IGNORECASE)


def parse_duration(text: str) -> int | None:
    """``3600`` or ``1h30m`` (each unit at most once, largest first) as seconds; else None."""
    raw = text.strip()
    if re.fullmatch(r"\d{1,10}", raw):
        return int(raw)
    if not _DURATION.fullmatch(raw):
        return None
    parts = re.findall(r"(\d+)([wdhms])", raw.lower())
    order = [unit for _, unit in parts]
    if order != sorted(set(order), key="wdhms".index):
        return None
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


def format_duration(seconds: int) -> str:
    """Seconds in the shortest unit form: 5400 -> ``1h30m``, 0 -> ``0s``."""
    if seconds <= 0:
        return f"{seconds}s" if seconds else "0s"
    out = []
    for unit, size in _UNITS.items():
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


class Reader:
    """A posted form read into the API's types, collecting every field that cannot be."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self.form = form
        self.errors = FormErrors()

    def text(self, name: str) -> str:
        return self.form.get(name, "").strip()

    def whole(
        self, name: str, *, default: int | None = None, example: str = "", required: bool = False
    ) -> int | None:
        """A whole number (empty: ``default``), or the field's problem in plain words."""
        raw = self.text(name)
        if not raw:
            if required:
                self.errors.at(name, "A whole number is needed here.")
            return default
        if re.fullmatch(r"[+-]?\d{1,18}", raw):
            return int(raw)
        hint = f", such as {example}" if example else ""
        self.errors.at(name, f"“{raw[:40]}” is not a whole number: write digits only{hint}.")
        return default

    def duration(
        self,
        name: str,
        *,
        default: int | None = None,
        example: str = "1h30m",
        required: bool = False,
    ) -> int | None:
        """Seconds from ``3600`` or BIND's unit form ``1h30m`` (w, d, h, m, s; any case)."""
        raw = self.text(name)
        if not raw:
            if required:
                self.errors.at(name, "A duration is needed here, in seconds or such as 1h30m.")
            return default
        seconds = parse_duration(raw)
        if seconds is None:
            self.errors.at(
                name, f"“{raw[:40]}” is not a duration: write seconds (3600) or units such as "
                f"{example} (w weeks, d days, h hours, m minutes, s seconds).",
            )  # fmt: skip
            return default
        return seconds

    def flag(self, name: str) -> bool:
        """A checkbox or a yes/no choice."""
        return self.text(name).lower() in ON

    def truth(self, name: str, *, required: bool = False) -> bool | None:
        """A typed true or false (yes and no too); empty: None."""
        raw = self.text(name).lower()
        if not raw:
            if required:
                self.errors.at(name, "Write true or false here.")
            return None
        if raw in ("true", "yes", "on"):
            return True
        if raw in ("false", "no", "off"):
            return False
        self.errors.at(name, f"“{raw[:40]}” is neither true nor false.")
        return None

    def check(self) -> None:
        """FormInputError if any field could not be read."""
        if self.errors.fields:
            self.errors.banner = "Nothing was changed: the form below shows what to correct."
            raise FormInputError(self.errors)


# --- Central's problems at the form's fields ---------------------------------------------------
@functools.cache
def _compile(pattern: str) -> re.Pattern[str]:
    # "[]" stands for any list index; the match must end where a path segment ends.
    return re.compile(re.escape(pattern).replace(r"\[\]", r"\[(\d+)\]") + r"(?=$|[.\[])")


@dataclass(frozen=True)
class Placement:
    """Where the field paths of Central's problems land on one form.

    ``fields``: a path pattern of the request (``[]`` for any index, e.g.
    ``changes[].record.ttl``) -> the form field that shows its problems; the longest pattern
    that matches wins, and a path below a pattern (``routes[1].gateway`` under ``routes[]``)
    lands there too. ``entries``: form fields holding one entry a line (or a list of
    addresses) -> the word for an entry; a problem there says which one ("line 2: ...").
    ``lines``: the form field that shows problems of a line of an imported file.
    """

    fields: Mapping[str, str]
    entries: Mapping[str, str] = field(default_factory=dict)
    lines: str | None = None

    @classmethod
    def same(cls, *names: str, **more: Any) -> Placement:
        """A form whose fields are named as the request's own (and ``fields`` for the rest)."""
        fields = {name: name for name in names} | dict(more.pop("fields", {}))
        return cls(fields, **more)

    def locate(self, path: str) -> tuple[str, str] | None:
        """The form field a problem at ``path`` goes to, and what to say before its message."""
        # An index written as a member (``routes.0.gateway``, older agents) is an index.
        path = re.sub(r"\.(\d+)(?=$|[.\[])", r"[\1]", path)
        best: tuple[int, str, re.Match[str]] | None = None
        for pattern, name in self.fields.items():
            found = _compile(pattern).match(path)
            if found and (best is None or len(pattern) > best[0]):
                best = (len(pattern), name, found)
        if best is None:
            return None
        _, name, found = best
        word = self.entries.get(name)
        indexes = [int(g) for g in found.groups() if g is not None]
        if word and indexes:
            return name, f"{word} {indexes[-1] + 1}: "
        return name, ""


def _line(item: ProblemItem) -> int | None:
    extra = item.model_extra or {}
    if isinstance(extra.get("line"), int):
        return int(extra["line"])
    found = re.fullmatch(r"line (\d+)", item.field)
    return int(found[1]) if found else None


def _plain_name(item: ProblemItem) -> str:
    """A field the form does not show, named for people: the last name in its path, after the
    list entry it belongs to (``pools[0].start``: "pool 1 start"), or with the record it is
    about when the problem names one (DNS problems carry the record's name and type)."""
    parts = [p for p in re.split(r"[.\]]+|(?=\[)", item.field) if p]
    names = [p.replace("_", " ") for p in parts if not p.startswith("[")]
    if not names or names == ["body"]:
        names = []
    extra = item.model_extra or {}
    about = " ".join(str(extra[k]) for k in ("name", "type") if isinstance(extra.get(k), str))
    if about:
        return f"{names[-1]} ({about})" if names else about
    if not names:
        return ""
    if parts[-1].startswith("["):
        if parts[-2].startswith("["):
            return names[-1]
        return f"{_one(parts[-2])} {int(parts[-1][1:]) + 1}"
    label = names[-1]
    if len(parts) >= 3 and parts[-2].startswith("[") and not parts[-3].startswith("["):
        label = f"{_one(parts[-3])} {int(parts[-2][1:]) + 1} {label}"
    return label


def _one(name: str) -> str:
    """One entry of a list field, in words: ``ip_addresses`` -> "ip address"."""
    words = name.replace("_", " ")
    if words.endswith(("sses", "xes")):
        return words[:-2]
    return words[:-1] if words.endswith("s") else words


#: Daemon and library terms that reach a message, in plain words (RFC 2136 response codes of
#: named, the errno of a connection, pydantic's wording).
_TERMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (r"\[Errno 111\] Connection refused", "nothing answers there (the program is not "
         "running or not listening)"),
        (r"\[Errno 11[01]\] [A-Za-z ]*timed out", "it did not answer in time"),
        (r"\[Errno 113\] No route to host", "it cannot be reached (no route to it)"),
        (r"\[Errno 101\] Network is unreachable", "its network cannot be reached"),
        (r"\[Errno -[23]\] [A-Za-z ]+", "its name could not be looked up"),
        (r"\[Errno -?\d+\] ", ""),
        (r"\bConnectionRefusedError\b:? ?", ""),
        (r"\bREFUSED\b", "refused by the DNS server"),
        (r"\bSERVFAIL\b", "a failure inside the DNS server"),
        (r"\bNOTAUTH\b", "the DNS server is not authoritative for the zone"),
        (r"\bNOTZONE\b", "a name outside the zone"),
        (r"\bNXDOMAIN\b", "no such name"),
        (r"\bNXRRSET\b", "no such record"),
        (r"\bYXDOMAIN\b|\bYXRRSET\b", "it exists already"),
        (r"\bFORMERR\b", "a request the DNS server could not read"),
        (r"\b(?:Input|String|List|Value|Dictionary) should\b", "must"),
    )
)  # fmt: skip
_PATH = re.compile(r"\b([a-z][a-z_]*)\[(\d+)\](?:\.([a-z][a-z_]*))?")


def plain(text: str) -> str:
    """A message with the daemons' and libraries' terms put in plain words: ``REFUSED``,
    ``[Errno 111] Connection refused``, ``Input should be``, a request path such as
    ``pools[0].start`` ("pool 1 start")."""
    for pattern, words in _TERMS:
        text = pattern.sub(words, text)

    def entry(found: re.Match[str]) -> str:
        said = f"{_one(found[1])} {int(found[2]) + 1}"
        return f"{said} {found[3].replace('_', ' ')}" if found[3] else said

    return _PATH.sub(entry, text)


def refusal(exc: ApiError | FormInputError, where: Placement) -> FormErrors:
    """Central's refusal (or the console's own) as messages at ``where``'s fields."""
    errors = FormErrors()
    if isinstance(exc, FormInputError):
        shown = {*where.fields.values(), *where.entries, where.lines}
        for name, messages in exc.errors.fields.items():
            for message in messages:
                if name in shown:
                    errors.at(name, message)
                else:
                    errors.at_top(f"{name.replace('_', ' ')}: {message}")
        errors.banner = exc.errors.banner
        return errors
    for item in exc.problems:
        line = _line(item)
        if line is not None and where.lines:
            errors.at(where.lines, f"line {line}: {plain(item.message)}")
            continue
        placed = where.locate(item.field)
        if placed is not None:
            name, before = placed
            errors.at(name, before + plain(item.message))
            continue
        label = _plain_name(item)
        message = plain(item.message)
        errors.at_top(f"{label}: {message}" if label else message)
    if not exc.problems:
        errors.banner = plain(exc.sentence)
        return errors
    if exc.problem.hint:
        errors.at_top(plain(exc.problem.hint[:1].upper() + exc.problem.hint[1:]))
    if exc.retry_after:
        errors.at_top(f"Try again in {exc.retry_after} s.")
    shows = "nothing was changed; the form below shows what to correct"
    if exc.status >= 500:
        shows = "the form below shows what went wrong"
    errors.banner = f"{exc.problem.title}: {shows}."
    return errors


def in_words(exc: ApiError) -> str:
    """A refusal in one line, for a place with no form fields (a button in a table, an error
    page): the detail when it says it all, else every problem named in plain words."""
    items = exc.problems
    if not items or (len(items) == 1 and items[0].message == exc.detail):
        return plain(exc.sentence)
    said = []
    for item in items:
        label = _plain_name(item)
        message = plain(item.message)
        said.append(f"{label}: {message}" if label else message)
    return "; ".join(said) + "."


def status_of(exc: ApiError | FormInputError) -> int:
    """The HTTP status of the page that shows a refusal again."""
    return exc.status if isinstance(exc, ApiError) else 422
