"""The restore receiver on 4604/tcp: TLS with the appliance-agent's certificate, no client one.

Every appliance serves it; only an ``uninitialized`` one accepts a restore. Endpoints
(issue 7's design):

- ``GET /identity`` → ``{"state", "appliance_id", "fingerprint", "hostname", "address",
  "version"}`` (the fingerprint is ``sha256:<hex>`` of the appliance-agent's certificate, the
  one this listener shows);
- ``POST /restore`` with ``X-Burrow-Restore-Code`` and the bundle as the body: the bundle is
  checked while it arrives (every chunk's hash as it comes, its chunks appended to one file
  under ``backup/restore``, 0600), and completely (the tree from the root) before the
  answer; 202 and the restore runs in the background, a bad bundle → 422 naming ``bundle``
  with one sentence (also a backup of another profile: a DNS/DHCP appliance's onto a caching
  one, or the other way round); an appliance that is not ``uninitialized`` → 409;
- ``GET /restore`` → ``{"state": "idle" | "receiving" | "applying" | "restarting" | "done" |
  "failed", "step", "error", "seconds", "timings"}`` (kept in
  ``backup/restore/progress.json``, so it survives the agent's restart; ``timings``: each
  step's start and duration, services.appliance.backup.timeline). With ``?after=AT&wait=S``
  (``AT`` the ``at`` last seen, S ≤ 10) it is answered as soon as the progress changes,
  or after S seconds: a follower learns of each step at once without polling;
- ``POST /initialize`` with the code → ``active`` ("use as a new appliance").

Models are those of ``services.common.appliance.contract``; every error is problem JSON
(services.common.problems). No code → 401; a wrong code → 403; after 5 wrong codes the code
endpoints answer 429 (with ``Retry-After``) for 5 minutes. A bundle larger than
``MAX_BUNDLE`` (1 GiB; the bench's restore sends some 26 MB) is refused with 413 as soon as
its ``Content-Length`` says so, or when the streamed body passes it; any other request body
over ``MAX_BODY`` (64 KiB) likewise.

This listener asks for no client certificate, so it cannot tell a peer Central from anyone
else: a push here always needs the code. An appliance given ``restore_from`` in appliance.json
also serves the same application on 4605 for that Central alone, where a push needs no code
(services.appliance.backup.trusted; Central's ``backup_auto_approve``).

After a restore is ``done`` the appliance-agent still shows R's certificate. It exits (and
supervisord restarts it with S's identity) ``RESTART_GRACE`` seconds after a client has read
``done`` from ``GET /restore``, or ``RESTART_LATEST`` seconds after ``done`` at the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request

from services.appliance.backup import paths
from services.appliance.backup import state as appliance_state
from services.appliance.backup.apply import (
    apply_bundle,
    check_profile,
    release_central,
    warm_central,
)
from services.appliance.backup.producer import Producer, agent_fingerprint
from services.appliance.backup.timeline import Timeline
from services.common import problems
from services.common.agent import VERSION
from services.common.appliance.contract import (
    RESTORE_CODE_HEADER,
    ApplianceState,
    Identity,
    RestoreAccepted,
    RestoreProgress,
)
from services.common.backup.bundle import (
    MAGIC,
    Bundle,
    PackChunkStore,
    StreamReader,
    read_bundle,
)
from services.common.backup.format import BackupFormatError
from services.common.errors import (
    ConflictError,
    ForbiddenError,
    TooManyRequestsError,
    UnauthenticatedError,
    ValidationError,
)
from services.common.files import read_json, write_json
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings

log = logging.getLogger(__name__)

PORT = 4604
MAX_FAILURES = 5
LOCK_SECONDS = 300.0
RESTART_GRACE = 5.0
RESTART_LATEST = 60.0
#: The largest restore bundle taken (``POST /restore``). A bundle is checked as it arrives
#: and its chunks go to disk (at most 8 MB wait in memory), so this bounds the disk, not the
#: memory, a push may take; the bench's restore is ~26 MB.
MAX_BUNDLE = 1024 * 1024 * 1024
#: The longest ``GET /restore?wait=`` waits for the progress to change, and how often it looks.
MAX_WAIT = 10.0
WAIT_POLL = 0.02
#: Every other request body of the receiver (none of them has one).
MAX_BODY = 64 * 1024

#: The restore code, as the header carries it.
Code = Annotated[str | None, Header(alias=RESTORE_CODE_HEADER)]


class CodeGuard:
    """Counts wrong restore codes; 5 lock the code endpoints for 5 minutes."""

    def __init__(self) -> None:
        self.failures = 0
        self.locked_until = 0.0
        self._lock = threading.Lock()

    def check(self, root: StateRoot, given: str | None) -> None:
        """Return when ``given`` is the restore code; raise otherwise (401 none given, 403
        wrong, 429 while locked after too many wrong ones)."""
        with self._lock:
            wait = self.locked_until - time.monotonic()
            if wait > 0:
                raise TooManyRequestsError(
                    "Too many wrong restore codes: try again in 5 minutes.",
                    headers={"Retry-After": str(int(wait) + 1)},
                )
            if given is None or not given.strip():
                raise UnauthenticatedError(
                    "A restore needs the restore code shown on the appliance's console.",
                    field=RESTORE_CODE_HEADER,
                    hint=f"send it in the {RESTORE_CODE_HEADER} header",
                )
            code = appliance_state.load(root).restore_code
            if hmac.compare_digest(given.strip().upper().encode(), code.encode()):
                self.failures = 0
                return
            self.failures += 1
            if self.failures >= MAX_FAILURES:
                self.failures = 0
                self.locked_until = time.monotonic() + LOCK_SECONDS
            raise ForbiddenError(
                "The restore code is wrong.",
                field=RESTORE_CODE_HEADER,
                hint="give the code shown on the appliance's console",
            )


#: Headers the peer Central sends with a restore, for the replacement's history.
ORIGIN_HEADERS = {
    "x-burrow-restore-snapshot": "snapshot_id",
    "x-burrow-restore-approved-by": "approved_by",
    "x-burrow-restore-approved-at": "approved_at",
    "x-burrow-restore-from": "restored_from",
}


def restore_origin(request: Request) -> dict[str, str]:
    """What the peer says of this restore (printable text, at most 200 characters each)."""
    origin: dict[str, str] = {}
    for header, key in ORIGIN_HEADERS.items():
        value = request.headers.get(header, "")
        text = "".join(c for c in value if c.isprintable())[:200]
        if text:
            origin[key] = text
    return origin


class Restorer:
    """Receives and applies one restore at a time, reporting progress to a file."""

    def __init__(self, root: StateRoot, producer: Producer | None) -> None:
        self.root = root
        self.producer = producer
        self.busy = threading.Lock()
        # What a restore broken off by the agent's end left (chunks; a bundle of old versions).
        directory = paths.restore_dir(root)
        for leftover in (*directory.glob("chunks-*.pack"), directory / "bundle"):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(directory / "chunks", ignore_errors=True)
        self.done_seen_at: float | None = None
        self.done_at: float | None = None
        #: The steps of the restore under way (or the last one), with their durations.
        self.timeline = Timeline()
        self._report_lock = threading.Lock()

    def progress_file(self) -> Path:
        return paths.restore_dir(self.root) / "progress.json"

    def progress(self) -> dict[str, Any]:
        try:
            value = read_json(self.progress_file())
        except (OSError, ValueError):
            return {"state": "idle", "step": "", "error": None}
        return value if isinstance(value, dict) else {"state": "idle", "step": "", "error": None}

    def report(self, state: str, step: str, error: str | None = None) -> None:
        value = {
            "state": state,
            "step": step,
            "error": error,
            "at": time.time(),
            "seconds": self.timeline.elapsed(),
            "timings": self.timeline.steps(),
        }
        with self._report_lock:  # the health checks report from threads of their own
            write_json(self.progress_file(), value, mode=0o600)
            if self.producer is not None:
                self.producer.restore_progress = value
                self.producer.write_status()
        log.info("restore %s: %s%s", state, step, f" ({error})" if error else "")

    def apply_in_background(
        self, bundle: Bundle, store: PackChunkStore, origin: dict[str, str], *, warm: bool = False
    ) -> None:
        def work() -> None:
            if self.producer is not None:
                self.producer.restoring = True  # no backup of a half-written state
            try:
                apply_bundle(
                    self.root, bundle, self.report, origin=origin, timeline=self.timeline,
                    warm=warm,
                )  # fmt: skip
                self.done_at = time.monotonic()
                if self.producer is not None:
                    self.producer.restoring = False
                    self.producer.request("full")
            except Exception as exc:
                log.exception("restore failed")
                self.report("failed", "the restore stopped", str(exc))
                appliance_state.set_state(self.root, "uninitialized")
            finally:
                if self.producer is not None:
                    self.producer.restoring = False
                store.close()
                self.busy.release()

        threading.Thread(target=work, name="restore", daemon=True).start()

    def restart_watch(self) -> None:
        """Exit the agent (supervisord restarts it as S) once the peer has seen ``done``."""

        def watch() -> None:
            while True:
                time.sleep(0.5)
                now = time.monotonic()
                if self.done_at is None:
                    continue
                seen = self.done_seen_at
                if (seen is not None and now - seen >= RESTART_GRACE) or (
                    now - self.done_at >= RESTART_LATEST
                ):
                    log.info("restore done: restarting the appliance-agent with its new identity")
                    os._exit(0)

        threading.Thread(target=watch, name="restore-restart", daemon=True).start()


def receiver_app(
    root: StateRoot,
    producer: Producer | None = None,
    *,
    restorer: Restorer | None = None,
    trusted: bool = False,
) -> FastAPI:
    """The 4604 application; with ``trusted`` the 4605 one (services.appliance.backup.trusted:
    every client there is the Central of ``restore_from``, so a push needs no code).

    ``restorer``: shared by both listeners (one restore at a time, one progress file)."""
    app = FastAPI(title="Burrow restore receiver", docs_url=None, redoc_url=None, openapi_url=None)
    # Not an agent_app: no client certificate on 4604, so errors and limits are set here.
    problems.install(
        app, service="restore receiver", max_body=MAX_BODY, limits={"/restore": MAX_BUNDLE}
    )
    router = APIRouter(responses=problems.RESPONSES)
    guard = CodeGuard()
    if restorer is None:
        restorer = Restorer(root, producer)
        restorer.restart_watch()
    app.state.restorer = restorer
    # The certificate this listener shows: loaded at start, kept until the agent restarts
    # (a restore replaces the file on disk before that).
    served_fingerprint = agent_fingerprint(root)

    @router.get("/identity")
    def identity() -> Identity:
        """Who this is: asked before a restore (nothing secret)."""
        current = appliance_state.load(root)
        settings = ApplianceSettings.load(root.appliance_settings)
        return Identity(
            state=current.state,
            appliance_id=current.appliance_id,
            fingerprint=served_fingerprint,
            hostname=settings.hostname,
            address=settings.ip,
            version=VERSION,
        )

    @router.get("/restore")
    async def restore_progress(
        after: Annotated[float | None, Query(description="the ``at`` last seen")] = None,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0.0,
    ) -> RestoreProgress:
        """Where the restore is. With ``after`` (the ``at`` of the progress last seen) and
        ``wait``: answered as soon as the progress changes, or after ``wait`` seconds."""
        value = restorer.progress()
        deadline = time.monotonic() + wait
        while after is not None and value.get("at") == after and time.monotonic() < deadline:
            await asyncio.sleep(WAIT_POLL)
            value = restorer.progress()
        if value.get("state") == "done" and restorer.done_seen_at is None:
            restorer.done_seen_at = time.monotonic()
        error = value.get("error")
        try:
            return RestoreProgress.model_validate({
                "state": value.get("state"), "step": str(value.get("step") or ""),
                "error": None if error is None else str(error), "at": value.get("at"),
                "seconds": value.get("seconds"), "timings": value.get("timings") or [],
            })  # fmt: skip
        except ValueError:  # a progress file of another version
            return RestoreProgress(state="idle")

    @router.post("/restore", status_code=202)
    async def restore(request: Request, code: Code = None) -> RestoreAccepted:
        """Take a bundle (the body), check it whole, then apply it in the background."""
        if not trusted:
            guard.check(root, code)
        if appliance_state.load(root).state != "uninitialized":
            raise ConflictError("This appliance is in use: it accepts no restore.", field="state")
        if not restorer.busy.acquire(blocking=False):
            raise ConflictError("A restore is already running.", field="state")
        directory = paths.restore_dir(root)
        directory.mkdir(parents=True, exist_ok=True)
        restorer.timeline = clock = Timeline()
        store = PackChunkStore(directory)
        # The bundle is checked while it arrives (every chunk hashed as it comes, into one
        # file of chunks), so the check ends moments after the last byte; the answer still
        # waits for the whole check.
        reader = StreamReader()
        began = time.monotonic()
        restorer.report("receiving", "receiving and checking the backup")
        parse = asyncio.ensure_future(asyncio.to_thread(read_bundle, reader, store))

        # Central (the slowest program to start: seconds of CPU time) restarts as soon as the
        # body starts as a bundle does, and loads its code while the backup arrives; it reads
        # its state only once the restore has written it (or at once if the backup is refused).
        def warm_up() -> bool:
            with clock.step("warm"):
                return warm_central(root)

        warming: asyncio.Future[bool] | None = None
        first = b""
        try:
            try:
                async for piece in request.stream():
                    if parse.done():
                        continue  # refused already: the rest is read and dropped
                    if warming is None and len(first) < len(MAGIC):
                        first += piece[: len(MAGIC) - len(first)]
                        if first == MAGIC:
                            warming = asyncio.ensure_future(asyncio.to_thread(warm_up))
                    reader.feed(piece)
                    while reader.full and not parse.done():
                        await asyncio.to_thread(reader.wait_room, 0.5)
                reader.finish()
            except BaseException:
                reader.abort("the upload broke off")
                with contextlib.suppress(BaseException):
                    await parse
                raise
            clock.add("receive", began)
            bundle = await parse
            check_profile(root, bundle)
            clock.add("check", began)
            warm = bool(warming is not None and await warming)
        except BaseException as exc:
            # A bad bundle, a body over MAX_BUNDLE (BodyLimit answers 413), a lost connection:
            # nothing was applied; the chunks go and the next push may come.
            store.close()
            if warming is not None:
                with contextlib.suppress(BaseException):
                    await warming
                release_central(root)
            why = exc.message if isinstance(exc, BackupFormatError) else "the upload failed"
            restorer.report("failed", "the backup was refused", why)
            restorer.busy.release()
            if isinstance(exc, BackupFormatError):
                raise ValidationError(exc.message, field="bundle") from None
            raise
        restorer.report("applying", "the backup is checked; applying it")
        restorer.apply_in_background(bundle, store, restore_origin(request), warm=warm)
        return RestoreAccepted()

    @router.post("/initialize")
    def initialize(code: Code = None) -> ApplianceState:
        """Use as a new appliance: it becomes ``active`` and accepts no restore."""
        guard.check(root, code)
        current = appliance_state.load(root)
        if current.state == "restoring":
            raise ConflictError("A restore is running.", field="state")
        current = appliance_state.set_state(root, "active")
        if producer is not None:
            producer.write_status()
        return ApplianceState(state=current.state, appliance_id=current.appliance_id)

    app.include_router(router)
    return app
