"""Applying a restore bundle: the replacement (R) becomes the appliance it replaces (S).

Steps, each reported through ``progress(state, step)``:

1. the appliance's state becomes ``restoring`` (the producer pauses);
2. every program but the appliance-agent is stopped through
   supervisord (skipped when no supervisord runs: ``burrow-restore`` on a stopped appliance);
3. directories are made and Central's files (``CENTRAL_FILES``) are written atomically with
   their mode and owner (an owner or group unknown here falls back to the numeric id the
   name was, else root), ``WRITERS`` files at a time; files of the backed-up directories
   that the backup does not hold are removed, and so are Central's ``-wal``/``-shm`` files,
   so that nothing of R's own state is mixed in;
4. the network capture is applied with ``services.appliance.network.apply`` when the backup
   holds one and that module exists (another part of issue 7); Central is started (it
   needs seconds of CPU time to start) while every other file is written as in 3;
5. every other stopped program but those of ``START_AFTER`` is started again through
   supervisord, and the restore waits until named answers ``rndc status``, Kea's Control
   Agent answers and Central answers ``/api/v1/health`` (each polled on its own, at most
   ``HEALTH_TIMEOUT`` seconds); then the console, the diagnostic shell and the monitor are
   started. On a caching appliance (profile ``caching``) unbound.conf is first rendered from
   the restored caching settings, and the restore waits for ``unbound-control status``
   instead of named and Kea;
6. the state becomes ``active`` (with S's appliance id, which came with the backup).

Each step's time goes to the ``timeline`` (services.appliance.backup.timeline), and the last
progress line sums them up.

The appliance-agent itself still runs with R's certificate: the receiver restarts it after
the peer has seen ``done`` (services.appliance.backup.receiver).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import grp
import json
import logging
import os
import pwd
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from services.appliance.backup import paths
from services.appliance.backup import state as appliance_state
from services.appliance.backup.collect import DATABASE, INCLUDED, _excluded
from services.appliance.backup.timeline import Timeline
from services.common import profile
from services.common.backup.bundle import Bundle
from services.common.backup.files import central_hold_file, restored_file
from services.common.backup.format import BackupFormatError
from services.common.dns.named_conf import update_zones_conf, zones_conf_path
from services.common.files import write_json
from services.common.paths import StateRoot
from services.common.proc import CommandError, run
from services.common.supervisor import SupervisorView

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]
KEEP_RUNNING = ("appliance-agent",)
#: Programs a restore starts only once named, Kea and Central answer: what the appliance
#: serves starts first, not competing for the processors with the console, the diagnostic
#: shell and the monitor (which need seconds of CPU time to start and are not waited for).
START_AFTER = ("webui", "diag-shell", "monitor")
STOPPED_STATES = ("STOPPED", "EXITED", "FATAL")
#: How often the health of the restarted programs is asked (a restore waits for it).
HEALTH_POLL = 0.1
HEALTH_TIMEOUT = 120.0
#: How long a Central started early by a restore (``warm_central``) waits for the restore's
#: files at most before it starts with what it finds.
CENTRAL_HOLD_SECONDS = 300.0
#: Files written at the same time by a restore.
WRITERS = 16
#: How often a restore reports how many files it has written (seconds).
PROGRESS_EVERY = 0.5


@functools.cache
def _uid(name: str) -> int:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return int(name) if name.isdigit() else 0


@functools.cache
def _gid(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return int(name) if name.isdigit() else 0


def _chown(path: Path | int, owner: str, group: str) -> None:
    if os.geteuid() != 0:
        return
    if isinstance(path, int):
        os.fchown(path, _uid(owner), _gid(group))
    else:
        os.chown(path, _uid(owner), _gid(group), follow_symlinks=False)


#: The appliance's state file: written as the backup holds it but ``restoring`` (until the
#: restore's end), never ``active`` while the other files are still being written.
STATE_FILE = "var/lib/burrow/appliance-state.json"


def _content(entry: dict[str, Any], bundle: Bundle) -> Iterator[bytes]:
    if entry["path"] != STATE_FILE:
        yield from bundle.file_content(entry)
        return
    value = json.loads(b"".join(bundle.file_content(entry)))  # checked against its sha256
    if isinstance(value, dict):
        value["state"] = "restoring"
    yield json.dumps(value, indent=2, sort_keys=True).encode() + b"\n"


def _write_file(target: Path, entry: dict[str, Any], bundle: Bundle) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        _chown(fd, entry["owner"], entry["group"])
        os.fchmod(fd, int(entry["mode"]))
        with os.fdopen(fd, "wb") as fh:
            for piece in _content(entry, bundle):
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


#: What Central reads at its start: its settings, database, keys and certificates.
CENTRAL_FILES = ("etc/burrow/", "var/lib/burrow/")


def _central_file(path: str) -> bool:
    return path.startswith(CENTRAL_FILES)


def write_files(
    root: StateRoot,
    bundle: Bundle,
    progress: Progress,
    *,
    only: Callable[[str], bool] | None = None,
    prepare: bool = True,
) -> int:
    """Write the directories and files of the bundle below ``root``; returns the file count.

    ``only``: write only the files whose path it accepts. ``prepare``: make the directories
    and remove what the backup does not hold (the first of several calls)."""
    manifest = bundle.manifest
    files = [e for e in manifest["files"] if only is None or only(e["path"])]
    if prepare:
        _prepare_tree(root, bundle)
    total = len(files)
    # Each file is still written, fsynced and renamed on its own (a power cut leaves the old
    # or the new file), but WRITERS at a time: a restore of 1,000 zones waited some 5 ms for
    # each fsync in turn, and concurrent fsyncs share the filesystem's journal commits.
    reported = time.monotonic()
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="restore-write") as pool:
        futures = [
            pool.submit(_write_file, root.root / entry["path"], entry, bundle) for entry in files
        ]
        try:
            for index, future in enumerate(as_completed(futures), 1):
                future.result()
                if index == total or time.monotonic() - reported >= PROGRESS_EVERY:
                    progress("applying", f"wrote {index} of {total} files")
                    reported = time.monotonic()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    log.info("restore wrote %d files", total)
    return total


def _prepare_tree(root: StateRoot, bundle: Bundle) -> None:
    """Make the bundle's directories; remove the files it does not hold."""
    manifest = bundle.manifest
    for entry in manifest.get("dirs", []):
        directory = root.root / entry["path"]
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, int(entry["mode"]))
        _chown(directory, entry["owner"], entry["group"])
    wanted = {entry["path"] for entry in manifest["files"]}
    # Central's database is replaced whole: its write-ahead log must not outlive it.
    for suffix in ("-wal", "-shm", "-journal"):
        (root.root / (DATABASE + suffix)).unlink(missing_ok=True)
    removed = 0
    for top in INCLUDED:
        base = root.root / top
        if not base.is_dir():
            continue
        for current, subdirs, names in os.walk(base):
            rel_dir = os.path.relpath(current, root.root)
            subdirs[:] = [d for d in subdirs if not _excluded(f"{rel_dir}/{d}")]
            for name in names:
                rel = f"{rel_dir}/{name}"
                if rel not in wanted and not _excluded(rel):
                    (root.root / rel).unlink(missing_ok=True)
                    removed += 1
    log.info("restore removed %d files not in the backup", removed)


def apply_network(root: StateRoot, capture: dict[str, Any], progress: Progress) -> bool:
    """Apply the network capture with services.appliance.network when both exist."""
    if not capture:
        progress("applying", "the backup holds no network capture")
        return False
    try:
        from services.appliance import network  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        progress("applying", "network settings not applied: no network module on this version")
        return False
    apply = getattr(network, "apply", None)
    if apply is None:
        progress("applying", "network settings not applied: the network module cannot apply")
        return False
    progress("applying", "applying the network settings")
    try:
        apply(root, capture)
    except TypeError:
        apply(capture)
    return True


def _supervisor(root: StateRoot) -> SupervisorView | None:
    view = SupervisorView(root.supervisor_socket, timeout=30)
    if not root.supervisor_socket.exists():
        return None
    try:
        view.state()
    except OSError:
        return None
    return view


def warm_central(root: StateRoot) -> bool:
    """Restart Central held (``central_hold_file``): it loads its code (seconds of CPU time)
    while the restore is received, checked and written, and reads nothing of its state until
    ``release_central``. True if Central was restarted so (it runs under supervisord)."""
    view = _supervisor(root)
    if view is None:
        return False
    hold = central_hold_file(root)
    try:
        states = {info["name"]: info["statename"] for info in view.processes()}
        if "central" not in states:
            return False
        hold.parent.mkdir(parents=True, exist_ok=True)
        hold.write_text(f"{time.time() + CENTRAL_HOLD_SECONDS:.3f}\n")
        if states["central"] in ("RUNNING", "STARTING", "BACKOFF"):
            view.call("supervisor.stopProcess", "central", True)
        view.call("supervisor.startProcess", "central", False)
    except Exception as exc:
        log.warning("Central was not started early for the restore: %s", exc)
        release_central(root)
        return False
    return True


def release_central(root: StateRoot) -> None:
    """Let a Central held by ``warm_central`` go on: it reads its state from now on."""
    central_hold_file(root).unlink(missing_ok=True)


def stop_programs(
    view: SupervisorView, progress: Progress, timeout: float = 30.0, keep: tuple[str, ...] = ()
) -> list[str]:
    """Stop every program but the agent, the listener and ``keep``, all at once; their
    names."""
    names = [
        info["name"]
        for info in view.processes()
        if info["name"] not in KEEP_RUNNING + keep
        and info.get("group") == info["name"]
        and info["statename"] in ("RUNNING", "STARTING", "BACKOFF")
    ]
    if not names:
        return []
    progress("applying", f"stopping {', '.join(names)}")
    # Signalled together, not one after the other: each takes its time to exit alone.
    for name in names:
        with contextlib.suppress(Exception):
            view.call("supervisor.stopProcess", name, False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {info["name"]: info["statename"] for info in view.processes()}
        if all(states.get(name) in STOPPED_STATES for name in names):
            break
        time.sleep(0.05)
    else:
        log.warning("still stopping after %.0f s: %s", timeout, names)
    return names


def start_programs(view: SupervisorView, names: list[str], progress: Progress) -> None:
    """Ask supervisord to start ``names`` (without waiting: the health checks wait)."""
    if not names:
        return
    progress("restarting", f"starting {', '.join(names)}")
    for name in names:
        try:
            view.call("supervisor.startProcess", name, False)
        except Exception as exc:  # reported by the health wait below
            log.warning("starting %s: %s", name, exc)


def _named_answers(root: StateRoot) -> str | None:
    try:
        run(["rndc", "-c", str(root.rndc_conf), "status"], timeout=5)
    except (CommandError, OSError) as exc:
        return f"named: {exc}"
    return None


@functools.lru_cache(maxsize=4)
def _central_context(ca_file: str, _mtime_ns: int) -> ssl.SSLContext:
    """The TLS context that trusts this appliance's CA (made once per CA file, not at every
    poll: each costs milliseconds of CPU time while the restarted programs start)."""
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = False
    return context


def _central_answers(root: StateRoot) -> str | None:
    ca_file = root.pki / "ca/ca.crt"
    try:
        context = _central_context(str(ca_file), ca_file.stat().st_mtime_ns)
    except (OSError, ssl.SSLError) as exc:
        return f"central: {exc}"
    try:
        with urllib.request.urlopen(
            "https://127.0.0.1:1231/api/v1/health", context=context, timeout=3
        ) as answer:
            if answer.status != 200:
                return f"central: HTTP {answer.status}"
    except OSError as exc:
        return f"central: {exc}"
    return None


def _kea_answers(root: StateRoot) -> str | None:
    try:
        with urllib.request.urlopen("http://127.0.0.1:8000/", timeout=3):
            pass
    except urllib.error.HTTPError:
        pass  # it answered (401 without credentials): the Control Agent is up
    except OSError as exc:
        return f"kea-ctrl-agent: {exc}"
    return None


def _unbound_answers(root: StateRoot) -> str | None:
    try:
        run(["unbound-control", "-c", str(root.unbound_conf), "status"], timeout=5)
    except (CommandError, OSError) as exc:
        return f"unbound: {exc}"
    return None


#: The health checks a restore waits for, by the name its timeline gives them.
HEALTH_CHECKS: dict[str, Callable[[StateRoot], str | None]] = {
    "named": _named_answers,
    "kea": _kea_answers,
    "central": _central_answers,
}
#: A caching appliance's (profile ``caching``): Unbound instead of named and Kea.
CACHING_HEALTH_CHECKS: dict[str, Callable[[StateRoot], str | None]] = {
    "unbound": _unbound_answers,
    "central": _central_answers,
}


def health_checks(root: StateRoot) -> dict[str, Callable[[StateRoot], str | None]]:
    """The checks of this appliance's profile, read when the restore waits: the restore has
    written the profile of the appliance it replaces by then."""
    return CACHING_HEALTH_CHECKS if profile.load(root) == "caching" else HEALTH_CHECKS


def _healthy(root: StateRoot) -> str | None:
    """None when the appliance's DNS (and DHCP) servers and Central answer; else what does
    not."""
    for check in health_checks(root).values():
        reason = check(root)
        if reason is not None:
            return reason
    return None


def wait_healthy(
    root: StateRoot,
    progress: Progress,
    timeout: float = HEALTH_TIMEOUT,
    *,
    timeline: Timeline | None = None,
    since: float | None = None,
    started: dict[str, float] | None = None,
) -> None:
    """Wait until named, Kea and Central each answer its health check, every check polled
    on its own thread every ``HEALTH_POLL`` seconds (one slow to answer delays no other).

    ``timeline``: each check's wait is recorded under its name, from its program's start
    (``started``, by check name; else ``since``, monotonic) until it first answered, and
    ``healthy`` from the first of them until all had."""
    began = time.monotonic() if since is None else since
    checks = health_checks(root)
    starts = {name: (started or {}).get(name, began) for name in checks}
    deadline = time.monotonic() + timeout
    if checks is CACHING_HEALTH_CHECKS:
        progress("restarting", "waiting until Unbound and Central answer")
    else:
        progress("restarting", "waiting until named, Kea and Central answer")
    reasons: dict[str, str | None] = dict.fromkeys(checks, "not checked")

    def poll(name: str, check: Callable[[StateRoot], str | None]) -> None:
        while True:
            try:
                reasons[name] = check(root)
            except Exception as exc:  # a check that breaks counts as not answering
                reasons[name] = f"{name}: {exc}"
            if reasons[name] is None:
                if timeline is not None:
                    timeline.add(name, starts[name])
                progress("restarting", f"{name} answers")
                return
            if time.monotonic() >= deadline:
                return
            time.sleep(HEALTH_POLL)

    threads = [
        threading.Thread(target=poll, args=(name, check), name=f"health-{name}", daemon=True)
        for name, check in checks.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 10)
    failing = [reason for reason in reasons.values() if reason is not None]
    if failing:
        raise TimeoutError(
            f"the restored appliance is not healthy after {timeout:.0f} s: {'; '.join(failing)}"
        )
    if timeline is not None:
        timeline.add("healthy", min(starts.values()))


#: Where a backup holds its appliance's profile (services.common.profile); none: dns-dhcp.
PROFILE_FILE = "etc/burrow/profile"


def backup_profile(bundle: Bundle) -> str:
    """The profile of the appliance a backup was taken on."""
    for entry in bundle.manifest["files"]:
        if entry["path"] == PROFILE_FILE:
            return b"".join(bundle.file_content(entry)).decode(errors="replace").strip()
    return profile.DEFAULT


def check_profile(root: StateRoot, bundle: Bundle) -> None:
    """Refuse a backup of another kind of appliance: a caching appliance has no named or Kea
    to serve a DNS/DHCP appliance's zones and leases, and the other way round."""
    theirs, mine = backup_profile(bundle), profile.load(root)
    if theirs != mine:
        raise BackupFormatError(
            f"This backup is of a {theirs} appliance and this is a {mine} appliance: restore "
            f"it onto a {theirs} appliance."
        )


def apply_bundle(
    root: StateRoot,
    bundle: Bundle,
    progress: Progress,
    *,
    restart_agent: bool = False,
    origin: dict[str, str] | None = None,
    timeline: Timeline | None = None,
    warm: bool = False,
) -> None:
    """Apply a checked bundle to the appliance at ``root`` (see the module docstring).

    ``restart_agent``: also restart the appliance-agent through supervisord at the end
    (``burrow-restore``; the receiver runs inside the agent and restarts it itself).
    ``origin``: what the peer said of the restore (snapshot, approved by, approved at, from):
    Central records it in its history at its next start (``restored_file``).
    ``timeline``: where each step's time is recorded (services.appliance.backup.timeline).
    ``warm``: Central was restarted held by ``warm_central`` (its code loaded already): it is
    not stopped, and released where it would be started (it is released in any case).
    """
    try:
        _apply_bundle(root, bundle, progress, restart_agent=restart_agent, origin=origin,
                      timeline=timeline, warm=warm)  # fmt: skip
    finally:
        if warm:
            release_central(root)


def _apply_bundle(
    root: StateRoot,
    bundle: Bundle,
    progress: Progress,
    *,
    restart_agent: bool,
    origin: dict[str, str] | None,
    timeline: Timeline | None,
    warm: bool,
) -> None:
    check_profile(root, bundle)  # before anything changes
    clock = Timeline() if timeline is None else timeline
    appliance_state.set_state(root, "restoring")
    view = _supervisor(root)
    stopped: list[str] = []
    if view is not None:
        progress("applying", "stopping the appliance's programs")
        with clock.step("stop"):
            stopped = stop_programs(view, progress, keep=("central",) if warm else ())
    with clock.step("write"):
        # Central's files first: Central, the slowest to start (seconds of CPU time), starts
        # while the others (1,000 zone files, say) are still being written.
        write_files(root, bundle, progress, only=_central_file)
        appliance_state.set_state(root, "restoring")  # as written (STATE_FILE)
        paths.stat_cache_file(root).unlink(missing_ok=True)
        write_json(
            paths.producer_file(root), {"sequence": int(bundle.manifest["sequence"])}, mode=0o600
        )
        paths.resume_full_file(root).parent.mkdir(parents=True, exist_ok=True)
        paths.resume_full_file(root).write_text("the next backup is a full one (after a restore)\n")
    with clock.step("network"):
        apply_network(root, bundle.manifest.get("network") or {}, progress)
    manifest = bundle.manifest
    write_json(
        restored_file(root),
        {
            **(origin or {}),
            "sequence": manifest.get("sequence"),
            "created_at": manifest.get("created_at"),
            "kind": manifest.get("kind"),
            "restored_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        },
        mode=0o600,
    )
    started: dict[str, float] = {}
    if warm:
        started["central"] = time.monotonic()
        progress("restarting", "Central reads the restored state")
        release_central(root)
    elif view is not None and "central" in stopped:
        started["central"] = time.monotonic()
        start_programs(view, ["central"], progress)
    with clock.step("write-rest"):
        rest = lambda path: not _central_file(path)  # noqa: E731
        write_files(root, bundle, progress, only=rest, prepare=False)
        if profile.load(root) == "caching":
            # unbound.conf is not in backups: rendered from the restored caching settings.
            from services.common.launch import render_unbound

            render_unbound(root)
        else:
            # A backup of an older release: its zones.conf took the appliance's key from
            # anywhere.
            update_zones_conf(zones_conf_path(root))
    if view is not None:
        begun = time.monotonic()
        with clock.step("start"):
            if restart_agent:
                progress("restarting", "restarting the appliance-agent")
                with contextlib.suppress(Exception):
                    view.call("supervisor.stopProcess", "appliance-agent", True)
                stopped.append("appliance-agent")
            first = [name for name in stopped if name not in START_AFTER and name not in started]
            start_programs(view, first, progress)
        try:
            wait_healthy(root, progress, timeline=clock, since=begun, started=started)
        finally:
            start_programs(view, [name for name in stopped if name in START_AFTER], progress)
    # The code this restore was made with is spent: a new one for the next time.
    appliance_state.set_state(root, "active", new_code=True)
    progress("done", f"the appliance is restored in {clock.elapsed():.1f} s ({clock.summary()})")
