"""The allow-list: every command the shell knows, ``help``, and running one command line.

A line that is not on the list, or whose arguments fail the command's own checks, is refused
with one line starting with ``refused:`` and nothing is run.
"""

from __future__ import annotations

import logging
import time

from services.shell import dns_tools, kea, net_tools, views
from services.shell.command import Command
from services.shell.runner import COMMAND_OUTPUT_CAP, Context, OutputCapped
from services.shell.syntax import Refused, split_line

log = logging.getLogger("diag-shell")

#: Exit status of a refused line (like a shell's "usage" status).
REFUSED = 2
#: Words the session itself handles.
SESSION_WORDS = ("exit", "quit", "logout", "history", "clear")


def _help(ctx: Context, args: list[str]) -> int:
    if args:
        if len(args) != 1 or args[0] not in COMMANDS:
            raise Refused(f"no help for {' '.join(args)!r}; 'help' lists the commands")
        command = COMMANDS[args[0]]
        ctx.line(f"usage: {command.usage}")
        if command.summary:
            ctx.line(command.summary)
        if command.details:
            ctx.line(command.details)
        return 0
    ctx.line("Burrow diagnostic shell (read-only). Commands:")
    for command in COMMANDS.values():
        ctx.line(f"  {command.name:<11} {command.summary}")
    ctx.line("  history     the commands of this session")
    ctx.line("  exit        end the session (also ctrl-d)")
    ctx.line("'help COMMAND' shows a command's options. Tab completes, arrows recall history,")
    ctx.line("ctrl-c stops a running command. There are no pipes, redirections or variables.")
    return 0


def _complete_help(ctx: Context, words: list[str]) -> list[str]:
    return [] if words else list(COMMANDS)


def _all() -> dict[str, Command]:
    found: dict[str, Command] = {}
    for group in (dns_tools.COMMANDS, net_tools.COMMANDS, kea.COMMANDS, views.COMMANDS):
        for command in group:
            found[command.name] = command
    found["help"] = Command("help", "help [COMMAND]", "this list, or one command's options",
                            _help, _complete_help)  # fmt: skip
    return dict(sorted(found.items()))


COMMANDS: dict[str, Command] = _all()


def execute(ctx: Context, line: str) -> int:
    """Check and run one command line; log it with its outcome. Returns the exit status."""
    started = time.monotonic()
    try:
        words = split_line(line)
        if not words:
            return 0
        name, args = words[0], words[1:]
        command = COMMANDS.get(name)
        if command is None:
            raise Refused(f"unknown command {name!r}; 'help' lists the commands")
        status = command.handler(ctx, args)
    except OutputCapped:
        ctx.write_raw(f"\n[stopped: output is capped at {COMMAND_OUTPUT_CAP} bytes]\n")
        status = 141
    except Refused as exc:
        ctx.line(str(exc))
        log.info("session %s refused %r: %s", ctx.session, line[:200], exc.reason)
        return REFUSED
    except OSError as exc:
        ctx.line(f"error: {exc.strerror or exc}")
        log.warning("session %s command %r failed: %s", ctx.session, line[:200], exc)
        return 1
    except Exception:  # a bug must end the command, not the session
        log.exception("session %s command %r failed", ctx.session, line[:200])
        ctx.line("error: the command failed unexpectedly (details are in the diag-shell log)")
        return 1
    log.info(
        "session %s ran %r: exit %d in %.2f s",
        ctx.session,
        line[:200],
        status,
        time.monotonic() - started,
    )
    return status


def candidates(ctx: Context, before: str) -> tuple[str, list[str]]:
    """Tab completion for the text before the cursor: (the word being typed, its options)."""
    words = before.split()
    if before and not before[-1].isspace():
        current = words.pop()
    else:
        current = ""
    if not words:
        options = [*COMMANDS, *SESSION_WORDS]
    else:
        command = COMMANDS.get(words[0])
        try:
            options = command.complete(ctx, words[1:]) if command else []
        except (OSError, Refused):
            options = []
    return current, sorted({o for o in options if o.startswith(current)})
