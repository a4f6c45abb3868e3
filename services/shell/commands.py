"""The allow-list: every command the shell knows, ``help``, and running one command line.

A line that is not on the list, or whose arguments fail the command's own checks, is refused
with one line starting with ``refused:`` and nothing is run.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from services.common import profile as profiles
from services.shell import dns_tools, kea, net_tools, unbound, views
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
        commands = available(ctx)
        if len(args) != 1 or args[0] not in commands:
            raise Refused(f"no help for {' '.join(args)!r}; 'help' lists the commands")
        command = commands[args[0]]
        ctx.line(f"usage: {command.usage}")
        if command.summary:
            ctx.line(command.summary)
        if command.details:
            ctx.line(command.details)
        return 0
    if _caching(ctx):
        ctx.line("Burrow diagnostic shell of a caching appliance (read-only). Commands:")
    else:
        ctx.line("Burrow diagnostic shell (read-only). Commands:")
    for command in available(ctx).values():
        ctx.line(f"  {command.name:<11} {command.summary}")
    ctx.line("  history     the commands of this session")
    ctx.line("  exit        end the session (also ctrl-d)")
    ctx.line("'help COMMAND' shows a command's options. Tab completes, arrows recall history,")
    ctx.line("ctrl-c stops a running command. There are no pipes, redirections or variables.")
    return 0


def _complete_help(ctx: Context, words: list[str]) -> list[str]:
    return [] if words else list(available(ctx))


def _all() -> dict[str, Command]:
    found: dict[str, Command] = {}
    for group in (dns_tools.COMMANDS, net_tools.COMMANDS, kea.COMMANDS, views.COMMANDS):
        for command in group:
            found[command.name] = command
    found["help"] = Command("help", "help [COMMAND]", "this list, or one command's options",
                            _help, _complete_help)  # fmt: skip
    return dict(sorted(found.items()))


COMMANDS: dict[str, Command] = _all()
#: Commands about named and Kea, which a caching appliance (profile ``caching``) does not run:
#: refused there with the reason.
NOT_ON_CACHING = {
    "kea": "a caching appliance has no DHCP server (no Kea)",
    "rndc": "a caching appliance runs Unbound, not named; 'unbound status' shows its state",
    "dnssec": "a caching appliance signs no zones (Unbound validates DNSSEC answers); "
    "'unbound status' shows its state",
}
#: Commands of a caching appliance only (unknown on a DNS/DHCP appliance).
CACHING_ONLY = {command.name: command for command in unbound.COMMANDS}
#: ``config`` of a caching appliance: its files (services.shell.views._config_files).
CACHING_CONFIG = dataclasses.replace(
    COMMANDS["config"], usage="config unbound|caching|appliance|diag-shell"
)


def _caching(ctx: Context) -> bool:
    try:
        return profiles.load(ctx.root) == "caching"
    except Exception:  # launch refuses an unknown profile: show what exists
        return False


def available(ctx: Context) -> dict[str, Command]:
    """The commands of this appliance's profile."""
    if not _caching(ctx):
        return COMMANDS
    found = {k: v for k, v in COMMANDS.items() if k not in NOT_ON_CACHING} | CACHING_ONLY
    found["config"] = CACHING_CONFIG
    return dict(sorted(found.items()))


def execute(ctx: Context, line: str) -> int:
    """Check and run one command line; log it with its outcome. Returns the exit status."""
    started = time.monotonic()
    try:
        words = split_line(line)
        if not words:
            return 0
        name, args = words[0], words[1:]
        command = available(ctx).get(name)
        if command is None and name in NOT_ON_CACHING:
            raise Refused(f"{name!r} is not on this appliance: {NOT_ON_CACHING[name]}")
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
        options = [*available(ctx), *SESSION_WORDS]
    else:
        command = available(ctx).get(words[0])
        try:
            options = command.complete(ctx, words[1:]) if command else []
        except (OSError, Refused):
            options = []
    return current, sorted({o for o in options if o.startswith(current)})
