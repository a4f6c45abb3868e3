"""``unbound``: the caching DNS server's status and counters (caching appliance only).

Read-only: ``unbound-control status`` and ``stats_noreset`` (which leaves the counters as they
are), over the appliance's control socket. Control commands (reload, flush, ...) are not
offered: the cache is flushed through Central.
"""

from __future__ import annotations

from services.shell import syntax
from services.shell.command import Command
from services.shell.runner import Context, run_program
from services.shell.syntax import Refused

SUBCOMMANDS = ("status", "stats")
#: What ``unbound stats`` shows of Unbound's counters (the whole list is hundreds of lines):
#: the totals, the answers by rcode, the cache sizes and the memory.
STATS_PREFIXES = ("total.", "num.answer.rcode.", "msg.cache.count", "rrset.cache.count",
                  "mem.cache.", "time.up")  # fmt: skip


def unbound(ctx: Context, args: list[str]) -> int:
    what = args[0] if args else "status"
    if what not in SUBCOMMANDS:
        raise Refused(
            f"unbound {what!r} is not allowed: only 'unbound status' and 'unbound stats' "
            "(the shell is read-only; the cache is flushed through Central)"
        )
    syntax.no_more(f"unbound {what}", args[1:])
    argv = ["unbound-control", "-c", str(ctx.root.unbound_conf)]
    if what == "status":
        return run_program(ctx, [*argv, "status"], timeout=15)
    return _stats(ctx, [*argv, "stats_noreset"])


def _stats(ctx: Context, argv: list[str]) -> int:
    import subprocess

    from services.common.proc import CommandError, run

    try:
        out = run(argv, timeout=15).stdout
    except (CommandError, subprocess.TimeoutExpired) as exc:
        ctx.line(f"error: Unbound did not answer: {exc}")
        return 1
    for line in out.splitlines():
        if line.startswith(STATS_PREFIXES):
            ctx.line(line)
    return 0


def _complete(ctx: Context, words: list[str]) -> list[str]:
    return [] if words else list(SUBCOMMANDS)


COMMANDS = [
    Command(
        "unbound",
        "unbound [status|stats]",
        "Unbound's status, or its counters (queries, answers by rcode, cache, memory)",
        unbound,
        _complete,
        "Control commands (reload, flush, ...) are not available: the cache is flushed "
        "through Central.",
    )
]
