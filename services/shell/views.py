"""Read-only views of the appliance: services, logs, configuration, backups and resources.

Files are only ever opened for reading, and only files chosen from fixed lists (a log name
must be one of the ``*.log`` files in ``var/log/burrow``; a configuration name one of
:data:`CONFIG_FILES`). Secrets in configurations are masked.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from pathlib import Path
from typing import Any

from services.common import profile as profiles
from services.common.enrolment import fleet_dir
from services.common.supervisor import SupervisorView
from services.shell import syntax
from services.shell.command import Command
from services.shell.kea import MASK, SECRET_WORDS
from services.shell.runner import Context
from services.shell.syntax import Refused

TAIL_DEFAULT, TAIL_MAX = 50, 2000
SEARCH_DEFAULT, SEARCH_MAX = 100, 1000
#: How much of a log's end ``tail`` and ``search`` read, at most.
READ_MAX = 8 * 1024 * 1024
FOLLOW_SECONDS = 600
FOLLOW_CAP = 1024 * 1024
LOG_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
#: Kept by the backup producer and the restore receiver in var/lib/burrow (a JSON object such
#: as {"peer": ..., "last_full": ..., "last_incremental": ..., "outbox": 0, "last_error": null,
#: "restore": {"state": "none"}}); shown key by key. Missing: backups are not configured.
BACKUP_STATUS = "backup-status.json"


# --- services -------------------------------------------------------------------------
def services(ctx: Context, args: list[str]) -> int:
    view = SupervisorView(ctx.root.supervisor_socket)
    try:
        if args:
            syntax.no_more(f"services {args[0]}", args[1:])
            names = [p["name"] for p in view.processes()]
            info = [view.process(syntax.choice(args[0], names, "the program"))]
        else:
            info = view.processes()
    except OSError as exc:
        raise Refused(f"supervisord cannot be reached: {exc}") from None
    width = max((len(p["name"]) for p in info), default=4)
    for p in info:
        ctx.line(f"{p['name']:<{width}}  {p['statename']:<9} {p['description']}")
        if args:
            ctx.line(f"  exit status of last run: {p['exitstatus']}; log: {p['stdout_logfile']}")
    return 0 if all(p["statename"] == "RUNNING" for p in info) else 1


def _complete_services(ctx: Context, words: list[str]) -> list[str]:
    if words:
        return []
    try:
        return sorted(SupervisorView(ctx.root.supervisor_socket, timeout=1).states())
    except Exception:  # completion is best effort
        return []


# --- logs -------------------------------------------------------------------------------
def log_names(ctx: Context) -> list[str]:
    try:
        return sorted(
            p.name[:-4] for p in ctx.root.logs.glob("*.log") if p.is_file() and not p.is_symlink()
        )
    except OSError:
        return []


def _log_path(ctx: Context, name: str) -> Path:
    if not LOG_NAME.match(name) or name not in log_names(ctx):
        raise Refused(f"no log named {name!r}; 'logs' lists them")
    path = ctx.root.logs / f"{name}.log"
    if path.resolve().parent != ctx.root.logs.resolve():
        raise Refused(f"log {name!r} is not a plain file of the log folder")
    return path


def _last_lines(path: Path, count: int) -> list[str]:
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - READ_MAX))
        data = fh.read()
    lines = data.decode("utf-8", "replace").splitlines()
    if size > READ_MAX and lines:
        lines = lines[1:]  # the first one is cut
    return lines[-count:] if count else []


def _follow(ctx: Context, path: Path) -> int:
    """Print what is appended to ``path`` until ctrl-c, the time limit or the output cap."""
    fh = path.open("rb")
    try:
        fh.seek(0, os.SEEK_END)
        inode = os.fstat(fh.fileno()).st_ino
        sent = 0
        deadline = time.monotonic() + FOLLOW_SECONDS
        partial = b""
        while True:
            if ctx.interrupted():
                return 130
            if time.monotonic() > deadline:
                ctx.line(f"[stopped: follow ends after {FOLLOW_SECONDS} s]")
                return 0
            chunk = fh.read(65536)
            if chunk:
                partial += chunk
                done, _, partial = partial.rpartition(b"\n")
                if done:
                    text = done.decode("utf-8", "replace") + "\n"
                    ctx.write(text)
                    sent += len(text)
                    if sent > FOLLOW_CAP:
                        ctx.line(f"[stopped: output is capped at {FOLLOW_CAP} bytes]")
                        return 141
                continue
            try:
                rotated = os.stat(path).st_ino != inode
            except FileNotFoundError:
                rotated = False
            if rotated:  # supervisord rotated the log: go on with the new file
                fh.close()
                fh = path.open("rb")
                inode = os.fstat(fh.fileno()).st_ino
                continue
            time.sleep(0.1)
    finally:
        fh.close()


def logs(ctx: Context, args: list[str]) -> int:
    if not args or args == ["list"]:
        for name in log_names(ctx):
            size = (ctx.root.logs / f"{name}.log").stat().st_size
            ctx.line(f"{name:<20} {size:>10} bytes")
        return 0
    sub, rest = args[0], args[1:]
    if sub == "tail":
        if not 1 <= len(rest) <= 2:
            raise Refused("usage: logs tail NAME [LINES]")
        path = _log_path(ctx, rest[0])
        count = TAIL_DEFAULT
        if len(rest) == 2:
            count = syntax.integer(rest[1], 1, TAIL_MAX, "the number of lines")
        for line in _last_lines(path, count):
            ctx.line(line)
        return 0
    if sub == "follow":
        if len(rest) != 1:
            raise Refused("usage: logs follow NAME (ctrl-c stops)")
        path = _log_path(ctx, rest[0])
        for line in _last_lines(path, 10):
            ctx.line(line)
        return _follow(ctx, path)
    if sub == "search":
        if not 2 <= len(rest) <= 3:
            raise Refused("usage: logs search NAME TEXT [MAX-LINES]")
        path = _log_path(ctx, rest[0])
        needle = rest[1].lower()
        limit = SEARCH_DEFAULT
        if len(rest) == 3:
            limit = syntax.integer(rest[2], 1, SEARCH_MAX, "the number of lines")
        found: deque[str] = deque(maxlen=limit)
        for line in _last_lines(path, 10**9):
            if needle in line.lower():
                found.append(line)
        for line in found:
            ctx.line(line)
        if not found:
            ctx.line(f"no line of {rest[0]} contains {rest[1]!r}")
            return 1
        return 0
    raise Refused(f"logs {sub!r} is not available: list, tail, follow, search")


def _complete_logs(ctx: Context, words: list[str]) -> list[str]:
    if not words:
        return ["list", "tail", "follow", "search"]
    if len(words) == 1 and words[0] in ("tail", "follow", "search"):
        return log_names(ctx)
    return []


# --- configuration ------------------------------------------------------------------------
def _config_files(ctx: Context) -> dict[str, Path]:
    root = ctx.root
    if profiles.load(root) == "caching":
        return {
            "unbound": root.unbound_conf,
            "caching": root.caching_settings,
            "appliance": root.appliance_settings,
        }
    return {
        "named": root.named_conf,
        "zones": root.bind_etc / "zones.conf",
        "kea-dhcp4": root.kea_conf("dhcp4"),
        "kea-dhcp6": root.kea_conf("dhcp6"),
        "kea-ctrl-agent": root.kea_conf("ctrl-agent"),
        "kea-dhcp-ddns": root.kea_conf("dhcp-ddns"),
        "appliance": root.appliance_settings,
    }


_SECRET_PATTERNS = (
    re.compile(
        r'("[^"]*(?:' + "|".join(SECRET_WORDS) + r')[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"',
        re.IGNORECASE,
    ),
    re.compile(r'(\bsecret\s+)"[^"]*"', re.IGNORECASE),
)


def mask_text(text: str) -> str:
    """``text`` with JSON passwords/secrets and BIND ``secret "..."`` values masked."""
    text = _SECRET_PATTERNS[0].sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    return _SECRET_PATTERNS[1].sub(lambda m: f'{m.group(1)}"{MASK}"', text)


def config(ctx: Context, args: list[str]) -> int:
    files = _config_files(ctx)
    if len(args) != 1:
        raise Refused(f"usage: config {'|'.join(files)}|diag-shell")
    if args[0] == "diag-shell":
        from services.shell.settings import fingerprint, load_or_refuse

        settings = load_or_refuse(ctx.root)
        ctx.line(f"password: {'set' if settings.password else 'not set'}")
        for key in settings.keys():
            ctx.line(f"authorized key: {key.get_name()} {fingerprint(key)}")
        ctx.line(f"idle timeout: {settings.idle_timeout} s")
        return 0
    path = files[syntax.choice(args[0], [*files, "diag-shell"], "the configuration")]
    try:
        text = path.read_text()
    except OSError as exc:
        raise Refused(f"{args[0]} configuration cannot be read: {exc.strerror}") from None
    ctx.line(f"# {path}")
    ctx.write(mask_text(text))
    return 0


def _complete_config(ctx: Context, words: list[str]) -> list[str]:
    return [] if words else [*_config_files(ctx), "diag-shell"]


# --- backups ----------------------------------------------------------------------------
def backup_status_path(ctx: Context) -> Path:
    return ctx.root.lib / BACKUP_STATUS


def _print_tree(ctx: Context, value: Any, indent: str = "") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                ctx.line(f"{indent}{key}:")
                _print_tree(ctx, item, indent + "  ")
            else:
                ctx.line(f"{indent}{key}: {item}")
    elif isinstance(value, list):
        for item in value:
            ctx.line(f"{indent}- {item}")
    else:
        ctx.line(f"{indent}{value}")


def backup(ctx: Context, args: list[str]) -> int:
    syntax.no_more("backup", args)
    path = backup_status_path(ctx)
    if not path.exists():
        ctx.line("backups: not configured (no backup peer is paired with this appliance)")
        ctx.line("restore: none")
        return 0
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise Refused(f"the backup status cannot be read: {exc}") from None
    if not status.get("peer"):
        ctx.line("backups: not configured (no backup peer is paired with this appliance)")
    if not status.get("restore"):
        # No restore has been received: say so rather than print an empty section.
        status = {**status, "restore": "none"}
    _print_tree(ctx, status)
    return 0


# --- fleet -------------------------------------------------------------------------------
#: What ``fleet`` shows of ``pki/fleet/membership.json`` (never its secrets).
FLEET_KEYS = ("address", "port", "ca_fingerprint", "member_id", "server_ids", "joined_at")


def _seed_join(ctx: Context) -> None:
    """The first boot's fleet join (central.fleet.seed), while and after it is tried."""
    try:
        state = json.loads(ctx.root.fleet_join_state.read_text())
    except (OSError, ValueError):
        return
    line = f"seed join: {state.get('state')} (the Central at {state.get('address')}"
    line += f":{state.get('port')}, {state.get('attempts')} tries)"
    ctx.line(line)
    if state.get("last_error"):
        ctx.line(f"  last error: {state['last_error']}")


def fleet(ctx: Context, args: list[str]) -> int:
    syntax.no_more("fleet", args)
    _seed_join(ctx)
    path = fleet_dir(ctx.root) / "membership.json"
    if not path.exists():
        ctx.line("fleet: none (this appliance's Central manages its agents)")
        return 0
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise Refused(f"the fleet membership cannot be read: {exc}") from None
    where = f"{data.get('address')}:{data.get('port')}"
    ctx.line(f"fleet: managed by the Central at {where} (DNS and DHCP changes are made there)")
    _print_tree(ctx, {key: data[key] for key in FLEET_KEYS if key in data})
    return 0


# --- resources ---------------------------------------------------------------------------
def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def uptime(ctx: Context, args: list[str]) -> int:
    syntax.no_more("uptime", args)
    up = float(Path("/proc/uptime").read_text().split()[0])
    load = Path("/proc/loadavg").read_text().split()[:3]
    ctx.line(f"up {_duration(up)}, load average {' '.join(load)}, {os.cpu_count()} CPUs")
    return 0


def memory(ctx: Context, args: list[str]) -> int:
    syntax.no_more("memory", args)
    info: dict[str, int] = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        info[key] = int(value.split()[0]) if value.split() else 0
    total, avail = info.get("MemTotal", 0), info.get("MemAvailable", 0)
    ctx.line(f"memory: {total // 1024} MiB total, {(total - avail) // 1024} MiB used, "
             f"{avail // 1024} MiB available")  # fmt: skip
    swap, free = info.get("SwapTotal", 0), info.get("SwapFree", 0)
    ctx.line(f"swap:   {swap // 1024} MiB total, {(swap - free) // 1024} MiB used")
    return 0


def disk(ctx: Context, args: list[str]) -> int:
    syntax.no_more("disk", args)
    seen: set[int] = set()
    for label, path in (
        ("root", ctx.root.root),
        ("state", ctx.root.lib),
        ("logs", ctx.root.logs),
        ("leases", ctx.root.kea_lib),
    ):
        if not path.exists():
            continue
        st = os.statvfs(path)
        if st.f_fsid in seen and label != "root":
            continue
        seen.add(st.f_fsid)
        total = st.f_blocks * st.f_frsize
        free = st.f_bavail * st.f_frsize
        used = total - st.f_bfree * st.f_frsize
        pct = 100 * used / total if total else 0
        ctx.line(f"{label:<7} {path}: {total >> 20} MiB, {used >> 20} MiB used ({pct:.0f}%), "
                 f"{free >> 20} MiB free")  # fmt: skip
    return 0


def clock(ctx: Context, args: list[str]) -> int:
    syntax.no_more("time", args)
    from services.common import ntp  # its figures' models load for this command only

    servers = ntp.configured_servers(ctx.root)
    ctx.line(f"ntp servers: {', '.join(servers) if servers else 'none set'}")
    try:
        state = ntp.state(ctx.root)
    except OSError as exc:
        ctx.line(f"chrony: not answering ({exc})")
        return 1
    if servers:
        ctx.line(f"synchronised: {'yes, to ' + state.reference if state.synchronised else 'no'}")
        ctx.line(f"offset: {state.offset_seconds * 1000:+.3f} ms, sources: {state.sources}")
    ctx.line(f"clock: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")
    return 0


def resources(ctx: Context, args: list[str]) -> int:
    syntax.no_more("resources", args)
    return uptime(ctx, []) | memory(ctx, []) | disk(ctx, [])


COMMANDS = [
    Command(
        "services",
        "services [PROGRAM]",
        "state of every program under supervisord",
        services,
        _complete_services,
    ),
    Command(
        "logs",
        "logs [list] | logs tail NAME [LINES] | logs follow NAME | logs search NAME TEXT [MAX]",
        "program logs: list, tail, follow (ctrl-c stops), search (plain text, any case)",
        logs,
        _complete_logs,
        f"tail shows at most {TAIL_MAX} lines, search at most {SEARCH_MAX}; follow stops after "
        f"{FOLLOW_SECONDS} s. supervisord.log and launch.log are the system's logs.",
    ),
    Command(
        "config",
        "config named|zones|kea-dhcp4|kea-dhcp6|kea-ctrl-agent|kea-dhcp-ddns|appliance|diag-shell",
        "configuration files (passwords and keys masked)",
        config,
        _complete_config,
    ),
    Command("backup", "backup", "backup and restore state", backup),
    Command("fleet", "fleet", "the fleet this appliance is managed in, if any", fleet),
    Command("uptime", "uptime", "time since boot and load", uptime),
    Command("memory", "memory", "memory and swap use", memory),
    Command("disk", "disk", "disk use of the state, log and lease file systems", disk),
    Command("resources", "resources", "uptime, memory and disk together", resources),
    Command("time", "time", "the clock and NTP (chrony): servers, synchronised, offset", clock),
]
