"""Network commands: ping (bounded count, rate and size), tracepath, and fixed network views.

The views run ``ip`` and ``ss`` with fixed arguments only; nothing the user types reaches
them. ping and tracepath run as ``nobody``.
"""

from __future__ import annotations

from services.shell import syntax
from services.shell.command import Command, options
from services.shell.runner import Context, run_program
from services.shell.syntax import Refused

MAX_COUNT = 20
MIN_INTERVAL = 0.2


def _ping(ctx: Context, args: list[str], family: str | None) -> int:
    allowed = {
        "-c": lambda v: syntax.integer(v, 1, MAX_COUNT, "ping -c (count)"),
        "-i": lambda v: syntax.decimal(v, MIN_INTERVAL, 10, "ping -i (interval, seconds)"),
        "-s": lambda v: syntax.integer(v, 0, 1472, "ping -s (payload bytes)"),
        "-W": lambda v: syntax.integer(v, 1, 10, "ping -W (reply timeout, seconds)"),
        "-n": None,
    }
    if family is None:
        allowed |= {"-4": None, "-6": None}
    opts, words = options("ping" if family is None else "ping6", args, allowed)
    if len(words) != 1:
        raise Refused("usage: ping [-4|-6] [-c COUNT] [-i SECONDS] [-s BYTES] [-W SECONDS] HOST")
    target = syntax.host(words[0])
    given = dict(opts)
    count = int(given.get("-c") or 4)
    interval = float(given.get("-i") or 1)
    wait = int(given.get("-W") or 2)
    size = int(given.get("-s") or 56)
    deadline = int(count * interval + wait + 1)
    argv = ["ping", "-c", str(count), "-i", f"{interval:g}", "-W", str(wait), "-s", str(size)]
    argv += ["-w", str(deadline)]
    if family:
        argv.append(family)
    argv += [flag for flag, value in opts if value is None]
    argv.append(target)
    return run_program(ctx, argv, timeout=deadline + 5, as_nobody=True)


def ping(ctx: Context, args: list[str]) -> int:
    return _ping(ctx, args, None)


def ping6(ctx: Context, args: list[str]) -> int:
    return _ping(ctx, args, "-6")


def tracepath(ctx: Context, args: list[str]) -> int:
    opts, words = options(
        "tracepath",
        args,
        {
            "-4": None,
            "-6": None,
            "-n": None,
            "-b": None,
            "-m": lambda v: syntax.integer(v, 1, 30, "tracepath -m (hops)"),
            "-p": lambda v: syntax.integer(v, 1, 65535, "tracepath -p (port)"),
        },
    )
    if len(words) != 1:
        raise Refused("usage: tracepath [-4|-6] [-n] [-b] [-m HOPS] [-p PORT] HOST")
    target = syntax.host(words[0])
    argv = ["tracepath"]
    for flag, value in opts:
        argv += [flag] if value is None else [flag, value]
    if "-m" not in dict(opts):
        argv += ["-m", "15"]
    argv.append(target)
    return run_program(ctx, argv, timeout=90, as_nobody=True)


def _view(name: str, summary: str, *argvs: list[str], as_nobody: bool = True) -> Command:
    """A command that runs fixed argv lists and takes no arguments at all."""

    def handler(ctx: Context, args: list[str]) -> int:
        syntax.no_more(name, args)
        status = 0
        for argv in argvs:
            status = run_program(ctx, argv, timeout=15, as_nobody=as_nobody) or status
        return status

    return Command(name, name, summary, handler)


COMMANDS = [
    Command(
        "ping",
        "ping [-4|-6] [-c COUNT] [-i SECONDS] [-s BYTES] [-W SECONDS] [-n] HOST",
        f"ICMP echo: at most {MAX_COUNT} packets, at least {MIN_INTERVAL} s apart",
        ping,
    ),
    Command(
        "ping6",
        "ping6 [-c COUNT] [-i SECONDS] [-s BYTES] [-W SECONDS] [-n] HOST",
        "ping over IPv6",
        ping6,
    ),
    Command(
        "tracepath",
        "tracepath [-4|-6] [-n] [-b] [-m HOPS] [-p PORT] HOST",
        "the path to a host, hop by hop",
        tracepath,
    ),
    Command("traceroute", "traceroute HOST (same as tracepath)", "same as tracepath", tracepath),
    _view("addresses", "interface addresses", ["ip", "address", "show"]),
    _view("interfaces", "interfaces with counters", ["ip", "-s", "link", "show"]),
    _view(
        "routes",
        "IPv4 and IPv6 routes",
        ["ip", "-4", "route", "show"],
        ["ip", "-6", "route", "show"],
    ),
    _view("neighbours", "ARP and NDP neighbours", ["ip", "neigh", "show"]),
    _view("neighbors", "same as neighbours", ["ip", "neigh", "show"]),
    _view(
        "sockets",
        "listening TCP and UDP sockets and their programs",
        ["ss", "-tulnp"],
        as_nobody=False,
    ),
]
