"""The restore receiver on 4604/tcp: TLS with the appliance-agent's certificate, no client one.

Every appliance serves it; only an ``uninitialized`` one accepts a restore. Endpoints
(issue 7's design):

- ``GET /identity`` → ``{"state", "appliance_id", "fingerprint", "hostname", "address",
  "version"}`` (the fingerprint is ``sha256:<hex>`` of the appliance-agent's certificate, the
  one this listener shows);
- ``POST /restore`` with ``X-Burrow-Restore-Code`` and the bundle as the body (streamed to
  ``backup/restore/bundle``): the bundle is checked (every chunk's hash, completeness) before
  the answer; 202 and the restore runs in the background, a bad bundle → 422 naming
  ``bundle`` with one sentence; an appliance that is not ``uninitialized`` → 409;
- ``GET /restore`` → ``{"state": "idle" | "receiving" | "applying" | "restarting" | "done" |
  "failed", "step", "error"}`` (kept in ``backup/restore/progress.json``, so it survives the
  agent's restart);
- ``POST /initialize`` with the code → ``active`` ("use as a new appliance").

A wrong code → 403; after 5 wrong codes the code endpoints answer 429 for 5 minutes.

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
import hmac
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse

from services.appliance.backup import paths
from services.appliance.backup import state as appliance_state
from services.appliance.backup.apply import apply_bundle
from services.appliance.backup.producer import Producer, agent_fingerprint
from services.common.agent import VERSION
from services.common.backup.bundle import Bundle, DirectoryChunkStore, read_bundle_file
from services.common.backup.format import BackupFormatError
from services.common.files import read_json, write_json
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings

log = logging.getLogger(__name__)

PORT = 4604
MAX_FAILURES = 5
LOCK_SECONDS = 300.0
RESTART_GRACE = 5.0
RESTART_LATEST = 60.0


def _problem(status: int, detail: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"status": status, "detail": detail, "field": field},
        status_code=status,
        media_type="application/problem+json",
    )


class CodeGuard:
    """Counts wrong restore codes; 5 lock the code endpoints for 5 minutes."""

    def __init__(self) -> None:
        self.failures = 0
        self.locked_until = 0.0
        self._lock = threading.Lock()

    def check(self, root: StateRoot, given: str | None) -> JSONResponse | None:
        with self._lock:
            if time.monotonic() < self.locked_until:
                return _problem(429, "Too many wrong restore codes: try again in 5 minutes.")
            code = appliance_state.load(root).restore_code
            if given is not None and hmac.compare_digest(given.strip().upper(), code):
                self.failures = 0
                return None
            self.failures += 1
            if self.failures >= MAX_FAILURES:
                self.failures = 0
                self.locked_until = time.monotonic() + LOCK_SECONDS
            return _problem(403, "The restore code is wrong.", "X-Burrow-Restore-Code")


class Restorer:
    """Receives and applies one restore at a time, reporting progress to a file."""

    def __init__(self, root: StateRoot, producer: Producer | None) -> None:
        self.root = root
        self.producer = producer
        self.busy = threading.Lock()
        self.done_seen_at: float | None = None
        self.done_at: float | None = None

    def progress_file(self) -> Path:
        return paths.restore_dir(self.root) / "progress.json"

    def progress(self) -> dict[str, Any]:
        try:
            value = read_json(self.progress_file())
        except (OSError, ValueError):
            return {"state": "idle", "step": "", "error": None}
        return value if isinstance(value, dict) else {"state": "idle", "step": "", "error": None}

    def report(self, state: str, step: str, error: str | None = None) -> None:
        value = {"state": state, "step": step, "error": error, "at": time.time()}
        write_json(self.progress_file(), value, mode=0o600)
        if self.producer is not None:
            self.producer.restore_progress = value
            self.producer.write_status()
        log.info("restore %s: %s%s", state, step, f" ({error})" if error else "")

    def apply_in_background(self, bundle: Bundle, chunks: Path, bundle_path: Path) -> None:
        def work() -> None:
            try:
                apply_bundle(self.root, bundle, self.report)
                self.done_at = time.monotonic()
                if self.producer is not None:
                    self.producer.request("full")
            except Exception as exc:
                log.exception("restore failed")
                self.report("failed", "the restore stopped", str(exc))
                appliance_state.set_state(self.root, "uninitialized")
            finally:
                shutil.rmtree(chunks, ignore_errors=True)
                bundle_path.unlink(missing_ok=True)
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
    router = APIRouter()
    guard = CodeGuard()
    if restorer is None:
        restorer = Restorer(root, producer)
        restorer.restart_watch()
    app.state.restorer = restorer
    # The certificate this listener shows: loaded at start, kept until the agent restarts
    # (a restore replaces the file on disk before that).
    served_fingerprint = agent_fingerprint(root)

    @router.get("/identity")
    def identity() -> dict[str, Any]:
        current = appliance_state.load(root)
        settings = ApplianceSettings.load(root.appliance_settings)
        return {
            "state": current.state,
            "appliance_id": current.appliance_id,
            "fingerprint": served_fingerprint,
            "hostname": settings.hostname,
            "address": settings.ip,
            "version": VERSION,
        }

    @router.get("/restore")
    def restore_progress() -> dict[str, Any]:
        value = restorer.progress()
        if value.get("state") == "done" and restorer.done_seen_at is None:
            restorer.done_seen_at = time.monotonic()
        return {k: value.get(k) for k in ("state", "step", "error")}

    @router.post("/restore", status_code=202, response_model=None)
    async def restore(
        request: Request,
        code: Annotated[str | None, Header(alias="X-Burrow-Restore-Code")] = None,
    ) -> JSONResponse | dict[str, Any]:
        refused = None if trusted else guard.check(root, code)
        if refused is not None:
            return refused
        if appliance_state.load(root).state != "uninitialized":
            return _problem(409, "This appliance is in use: it accepts no restore.", "state")
        if not restorer.busy.acquire(blocking=False):
            return _problem(409, "A restore is already running.", "state")
        directory = paths.restore_dir(root)
        directory.mkdir(parents=True, exist_ok=True)
        bundle_path = directory / "bundle"
        try:
            restorer.report("receiving", "receiving the backup")
            with open(bundle_path, "wb") as fh:
                os.fchmod(fh.fileno(), 0o600)
                async for piece in request.stream():
                    fh.write(piece)
            chunks = directory / "chunks"
            shutil.rmtree(chunks, ignore_errors=True)
            try:
                bundle = await asyncio.to_thread(
                    read_bundle_file, bundle_path, DirectoryChunkStore(chunks)
                )
            except BackupFormatError as exc:
                shutil.rmtree(chunks, ignore_errors=True)
                bundle_path.unlink(missing_ok=True)
                restorer.report("failed", "the backup was refused", exc.message)
                restorer.busy.release()
                return _problem(422, exc.message, "bundle")
        except BaseException:
            if restorer.busy.locked():
                restorer.busy.release()
            raise
        restorer.report("applying", "the backup is checked; applying it")
        restorer.apply_in_background(bundle, chunks, bundle_path)
        return {"state": "applying"}

    @router.post("/initialize")
    def initialize(
        code: Annotated[str | None, Header(alias="X-Burrow-Restore-Code")] = None,
    ) -> Any:
        refused = guard.check(root, code)
        if refused is not None:
            return refused
        current = appliance_state.load(root)
        if current.state == "restoring":
            return _problem(409, "A restore is running.", "state")
        current = appliance_state.set_state(root, "active")
        if producer is not None:
            producer.write_status()
        return {"state": current.state, "appliance_id": current.appliance_id}

    app.include_router(router)
    return app
