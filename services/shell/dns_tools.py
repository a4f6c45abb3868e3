"""DNS commands: dig, drill and host with an allow-list of options, and read-only rndc.

Options that read or write files (dig ``-f``/``-k``/``-y``, drill ``-k``/``-i``/``-w``/``-r``/
``-c``/``-f``/``-y``, and the like) are simply not on the lists. dig runs with ``-r`` so that it
never reads a ``~/.digrc``. The tools run as ``nobody``; rndc runs with the appliance's
``rndc.conf`` and only ``status``, ``zonestatus`` and ``dnssec -status`` (the ``dnssec``
command, with the DS records of the zone's keys; BIND 9.18 ARM, "rndc").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from services.common.dns.keystate import zone_ds_from_files, zone_keys
from services.shell import syntax
from services.shell.command import Command, flatten, options
from services.shell.runner import Context, run_program
from services.shell.syntax import Refused

#: dig "+" options that only change what is asked or shown (BIND 9.18 dig manual page).
DIG_FLAGS = {
    "aaflag", "adflag", "additional", "all", "answer", "authority", "besteffort", "cd",
    "class", "cmd", "comments", "cookie", "crypto", "dnssec", "edns", "expire", "fail",
    "header-only", "identify", "ignore", "keepopen", "multiline", "nsid", "nssearch",
    "onesoa", "qr", "question", "recurse", "rrcomments", "search", "short", "showsearch",
    "stats", "tcp", "trace", "ttlid", "ttlunits", "vc", "zflag",
}  # fmt: skip
DIG_VALUES: dict[str, tuple[int, int]] = {
    "time": (1, 10),
    "tries": (1, 5),
    "retry": (0, 5),
    "bufsize": (0, 65535),
    "ndots": (0, 10),
    "edns": (0, 1),
}
DNS_TIMEOUT = 30.0


def _port(value: str) -> int:
    return syntax.integer(value, 1, 65535, "the port")


def _dig_plus(word: str) -> None:
    body = word[1:]
    name, _, value = body.partition("=")
    base = name[2:] if name.startswith("no") and name[2:] in DIG_FLAGS | set(DIG_VALUES) else name
    if value or "=" in body:
        if base not in DIG_VALUES or name != base:
            raise Refused(f"dig option {word!r} is not allowed")
        low, high = DIG_VALUES[base]
        syntax.integer(value, low, high, f"dig +{base}")
        return
    if base not in DIG_FLAGS and base not in DIG_VALUES:
        raise Refused(f"dig option {word!r} is not allowed (see 'help dig')")


def _query_words(command: str, words: list[str], plus: Callable[[str], None] | None) -> None:
    """Check the free words of a query: @server, name, type, class (and dig's +options)."""
    names = 0
    for word in words:
        syntax.no_transfer(word)
        if word.startswith("@"):
            syntax.host(word[1:])
        elif word.startswith("+"):
            if plus is None:
                raise Refused(f"{command} has no '+' options")
            plus(word)
        elif word.upper() in syntax.RR_TYPES or word.upper() in syntax.RR_CLASSES:
            continue
        else:
            try:
                syntax.address(word)
            except Refused:
                syntax.domain(word)
            names += 1
    if names > 4:
        raise Refused(f"{command}: at most four names per command")


def dig(ctx: Context, args: list[str]) -> int:
    opts, words = options(
        "dig",
        args,
        {
            "-4": None,
            "-6": None,
            "-t": syntax.rr_type,
            "-c": syntax.rr_class,
            "-x": syntax.address,
            "-p": _port,
            "-q": syntax.domain,
        },
    )
    _query_words("dig", words, _dig_plus)
    argv = ["dig", "-r", "+time=3", "+tries=2", *flatten(opts), *words]
    return run_program(ctx, argv, timeout=DNS_TIMEOUT, as_nobody=True)


def drill(ctx: Context, args: list[str]) -> int:
    opts, words = options(
        "drill",
        args,
        {
            "-4": None,
            "-6": None,
            "-D": None,
            "-T": None,
            "-t": None,
            "-u": None,
            "-x": None,
            "-Q": None,
            "-s": None,
            "-p": _port,
        },
    )
    _query_words("drill", words, None)
    if not words:
        raise Refused("drill needs a name to look up")
    return run_program(ctx, ["drill", *flatten(opts), *words], timeout=DNS_TIMEOUT, as_nobody=True)


def host_cmd(ctx: Context, args: list[str]) -> int:
    opts, words = options(
        "host",
        args,
        {
            "-4": None,
            "-6": None,
            "-a": None,
            "-v": None,
            "-d": None,
            "-r": None,
            "-T": None,
            "-U": None,
            "-C": None,
            "-s": None,
            "-t": syntax.rr_type,
            "-c": syntax.rr_class,
            "-W": lambda v: syntax.integer(v, 1, 10, "host -W"),
            "-R": lambda v: syntax.integer(v, 0, 5, "host -R"),
        },
    )
    if not 1 <= len(words) <= 2:
        raise Refused("usage: host [options] NAME [SERVER]")
    try:
        syntax.address(words[0])
    except Refused:
        syntax.domain(words[0])
    if len(words) == 2:
        syntax.host(words[1])
    argv = ["host", "-W", "3", *flatten(opts), *words]
    return run_program(ctx, argv, timeout=DNS_TIMEOUT, as_nobody=True)


# --- rndc -------------------------------------------------------------------------------
RNDC_ALLOWED = ("status", "zonestatus")


def zone_names(ctx: Context) -> list[str]:
    """The zones named serves, from the generated zones.conf."""
    path = ctx.root.bind_etc / "zones.conf"
    try:
        text = path.read_text()
    except OSError:
        return []
    return sorted(set(re.findall(r'zone\s+"([^"]+)"', text)))


def rndc(ctx: Context, args: list[str]) -> int:
    if not args:
        raise Refused("usage: rndc status | rndc zonestatus ZONE")
    if args[0].startswith("-"):
        raise Refused("rndc options are not accepted (the appliance's rndc.conf is used)")
    if args[0] not in RNDC_ALLOWED:
        raise Refused(
            f"rndc {args[0]!r} is not allowed: only 'rndc status' and 'rndc zonestatus ZONE' "
            "(the shell is read-only)"
        )
    argv = ["rndc", "-c", str(ctx.root.rndc_conf)]
    if args[0] == "status":
        syntax.no_more("rndc status", args[1:])
        argv.append("status")
    else:
        if len(args) != 2:
            raise Refused("usage: rndc zonestatus ZONE")
        argv += ["zonestatus", syntax.domain(args[1], "zone name")]
    return run_program(ctx, argv, timeout=15)


def dnssec(ctx: Context, args: list[str]) -> int:
    """A zone's signing state: ``rndc dnssec -status`` and the DS records of its keys."""
    if len(args) != 1:
        raise Refused("usage: dnssec ZONE")
    zone = syntax.domain(args[0], "zone name")
    origin = zone if zone.endswith(".") else zone + "."
    if not zone_keys(ctx.root.bind_keys, origin):
        ctx.line(f"{origin} has no DNSSEC keys here: it is not signed (or is not a zone)")
        return 1
    argv = ["rndc", "-c", str(ctx.root.rndc_conf), "dnssec", "-status", zone]
    status = run_program(ctx, argv, timeout=15)
    if status != 0:
        return status
    ds = zone_ds_from_files(ctx.root.bind_keys, origin)
    ctx.line("DS records for the parent zone (SHA-256):" if ds else "No key-signing key in use.")
    for record in ds:
        ctx.line(f"{origin} IN DS {record}")
    return 0


def _complete_zones(ctx: Context, words: list[str]) -> list[str]:
    return [z.rstrip(".") for z in zone_names(ctx)] if not words else []


def _complete_rndc(ctx: Context, words: list[str]) -> list[str]:
    if not words:
        return list(RNDC_ALLOWED)
    if words == ["zonestatus"]:
        return [z.rstrip(".") for z in zone_names(ctx)]
    return []


def _complete_types(ctx: Context, words: list[str]) -> list[str]:
    if words and words[-1] == "-t":
        return sorted(syntax.RR_TYPES)
    return [z.rstrip(".") for z in zone_names(ctx)] + ["@127.0.0.1"]


COMMANDS = [
    Command(
        "dig",
        "dig [@SERVER] [-4|-6] [-t TYPE] [-c CLASS] [-x ADDR] [-p PORT] [+OPTION...] NAME [TYPE]",
        "DNS lookup with dig",
        dig,
        _complete_types,
        "+options: "
        + " ".join(sorted(DIG_FLAGS))
        + " (each also as +noX), "
        + " ".join(f"+{k}=N" for k in DIG_VALUES)
        + ". Not available: -f, -k, -y, -b, -m, -i and every option that reads a file.",
    ),
    Command(
        "drill",
        "drill [@SERVER] [-4|-6] [-D] [-T] [-t|-u] [-x] [-Q] [-s] [-p PORT] NAME [TYPE] [CLASS]",
        "DNS lookup with drill (ldns)",
        drill,
        _complete_types,
        "Not available: -k, -i, -w, -r, -c, -f, -y and every option that reads or writes a file.",
    ),
    Command(
        "host",
        "host [-t TYPE] [-c CLASS] [-a] [-v] [-4|-6] [-T] [-W SECS] [-R N] NAME [SERVER]",
        "DNS lookup with host",
        host_cmd,
        _complete_types,
    ),
    Command(
        "rndc",
        "rndc status | rndc zonestatus ZONE",
        "named's status, or one zone's status",
        rndc,
        _complete_rndc,
        "Control commands (stop, reload, flush, freeze, ...) are not available.",
    ),
    Command(
        "dnssec",
        "dnssec ZONE",
        "a signed zone's keys and their states (rndc dnssec -status) and its DS records",
        dnssec,
        _complete_zones,
        "Read-only: rollovers and policies are set through Central.",
    ),
]
