"""What one shell command is: a name, help text, a handler and a tab completer.

Handlers get the words after the command name, check every one of them against an explicit
allow-list (raising :class:`~services.shell.syntax.Refused` for anything else) and return an
exit status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.shell.runner import Context
from services.shell.syntax import Refused

Handler = Callable[[Context, list[str]], int]
Completer = Callable[[Context, list[str]], list[str]]


def _nothing(ctx: Context, words: list[str]) -> list[str]:
    return []


@dataclass(frozen=True)
class Command:
    """One command of the shell."""

    name: str
    usage: str
    summary: str
    handler: Handler
    complete: Completer = _nothing
    details: str = ""


def options(
    command: str,
    args: list[str],
    allowed: Mapping[str, Callable[[str], object] | None],
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """Split ``args`` into allowed ``-x`` options (with checked values) and other words.

    An option is one exact word (no bundling like ``-4t``, no ``--``); one that takes a
    value is followed by that value as the next word.
    """
    found: list[tuple[str, str | None]] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("-") and len(word) > 1:
            if word not in allowed:
                shown = " ".join(sorted(allowed)) or "none"
                raise Refused(f"{command} option {word!r} is not allowed (allowed: {shown})")
            check = allowed[word]
            if check is None:
                found.append((word, None))
            else:
                if i + 1 >= len(args):
                    raise Refused(f"{command} option {word} needs a value")
                check(args[i + 1])
                found.append((word, args[i + 1]))
                i += 1
        else:
            rest.append(word)
        i += 1
    return found, rest


def flatten(opts: list[tuple[str, str | None]]) -> list[str]:
    out: list[str] = []
    for name, value in opts:
        out.append(name)
        if value is not None:
            out.append(value)
    return out
