"""unbound-control: the dns-agent's one way to talk to a running Unbound.

``unbound-control -c unbound.conf COMMAND`` reads the control channel from unbound.conf (a
unix socket under ``run/``, ``control-use-cert: no``: only processes that may open the socket
reach it) and prints Unbound's answer; it exits non-zero when Unbound refuses the command or
cannot be reached. Commands and their answers are those of unbound-control(8), Unbound 1.17.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from services.common.caching.contract import CacheStats
from services.common.errors import DaemonError, UnavailableError
from services.common.paths import StateRoot
from services.common.proc import run

log = logging.getLogger(__name__)

#: Seconds one command may take (a flush_zone walks the whole cache).
TIMEOUT = 30.0
#: unbound-control's words when no Unbound answers: not started, stopped, or never set up.
UNREACHABLE = ("connect", "No such file", "could not read config file")


class UnboundControl:
    """Commands to the Unbound whose configuration is ``root.unbound_conf``."""

    def __init__(self, root: StateRoot, *, timeout: float = TIMEOUT) -> None:
        self.root = root
        self.timeout = timeout

    def command(self, *args: str) -> str:
        """Unbound's answer to one command; ``DaemonError`` with its words if it refuses, or
        ``UnavailableError`` when it does not answer at all."""
        argv = ["unbound-control", "-c", str(self.root.unbound_conf), *args]
        result = run(argv, check=False, timeout=self.timeout)
        out = result.stdout.strip()
        if result.returncode == 0 and not out.startswith("error"):
            return out
        words = out.splitlines()[-1] if out else f"exit status {result.returncode}"
        # "[1796597451] unbound-control[852:0] fatal error: ..." -> "fatal error: ..."
        words = words.split("] ", 2)[-1] if words.startswith("[") else words
        if any(sign in words for sign in UNREACHABLE):
            # "error: connect: Connection refused for /run/burrow/unbound.ctl"
            raise UnavailableError(f"Unbound does not answer its control channel: {words}")
        raise DaemonError(f"Unbound refused {args[0]}: {words}")

    def status(self) -> dict[str, Any]:
        """``status``: version, threads, modules, uptime; raises when Unbound is not up."""
        out = self.command("status")
        facts: dict[str, Any] = {"status": "running"}
        for line in out.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() in ("version", "threads", "modules", "uptime", "options"):
                facts[key.strip()] = value.strip()
        return facts

    def wait_up(self, timeout: float = 15.0) -> None:
        """Return once Unbound answers ``status`` (after a reload it answers again once the
        new configuration is in use); raise its last error after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.command("status")
                return
            except (DaemonError, UnavailableError):
                if time.monotonic() >= deadline:
                    raise
            time.sleep(0.05)

    def reload(self) -> str:
        """Make Unbound read unbound.conf again, keeping its cache.

        ``reload_keep_cache`` (Unbound >= 1.17) keeps the RRset and message caches when the
        cache sizes and the number of threads are the same as before; otherwise Unbound says
        "cannot reuse caches due to critical config change" in its log and starts with empty
        caches, as a plain ``reload`` does. The counters of ``stats`` start again from zero
        either way.
        """
        return self.command("reload_keep_cache")

    def raw_stats(self) -> dict[str, float]:
        """``stats_noreset``: every ``name=value`` line (reading does not reset them)."""
        return parse_stats(self.command("stats_noreset"))

    def stats(self) -> CacheStats:
        return cache_stats(self.raw_stats())


def parse_stats(text: str) -> dict[str, float]:
    """``total.num.queries=12`` lines as ``{"total.num.queries": 12.0}``; other lines skipped."""
    counters: dict[str, float] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep:
            continue
        try:
            counters[key] = float(value)
        except ValueError:
            log.debug("stats line not a number: %s", line)
    return counters


def cache_stats(raw: dict[str, float]) -> CacheStats:
    """The counters of ``CacheStats`` out of ``stats_noreset`` with extended statistics (a
    counter Unbound did not print counts as zero)."""

    def count(key: str) -> int:
        return int(raw.get(key, 0))

    prefix = "num.answer.rcode."
    return CacheStats(
        queries=count("total.num.queries"),
        cache_hits=count("total.num.cachehits"),
        cache_misses=count("total.num.cachemiss"),
        prefetches=count("total.num.prefetch"),
        recursive_replies=count("total.num.recursivereplies"),
        rcodes={k.removeprefix(prefix): int(v) for k, v in raw.items() if k.startswith(prefix)},
        requestlist_avg=raw.get("total.requestlist.avg", 0.0),
        recursion_time_avg=raw.get("total.recursion.time.avg", 0.0),
        uptime_seconds=raw.get("time.up", 0.0),
        msg_cache_count=count("msg.cache.count"),
        rrset_cache_count=count("rrset.cache.count"),
        answers_secure=count("num.answer.secure"),
        answers_bogus=count("num.answer.bogus"),
        raw=raw,
    )
