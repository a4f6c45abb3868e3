"""Joining a fleet at first boot: the seed's join, tried until it is done (docs/fleet.md).

The first boot (``services.appliance.firstboot``) hands the managing Central's address,
port, CA fingerprint and one-time join code to Central in ``etc/burrow/fleet-join.json``
(0600, root's), as it hands over the first administrator's password. Once Central is up it
joins that fleet as ``POST /api/v1/fleet/membership`` would, as ``system``; while the managing
Central cannot be reached (or this appliance's agents are not registered yet) it tries again,
waiting 2, 4, 8 … up to 60 seconds between tries. A refusal that another try cannot change
(a code unknown, used or expired, another CA fingerprint, a name taken) ends it.

The code is removed with the hand-off file once the join is done or refused, and is never
logged nor shown: the state of the join (``fleet-join-state.json`` beside the database; in
``GET /api/v1/fleet/membership`` as ``seed_join``) holds the address, the state, the tries and
the last error only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticError

from central.core.config import PORT, CentralConfig
from central.core.db import now
from central.core.deps import jsonable
from central.fleet import service
from central.history.service import SYSTEM
from services.common.errors import BurrowError
from services.common.files import write_atomic
from services.common.paths import StateRoot

log = logging.getLogger(__name__)

#: Seconds between tries: the first, doubled after each failure, at most the last.
FIRST_WAIT = 2.0
MAX_WAIT = 60.0
#: Answers another try may change: the managing Central (or this one's agents) not there yet.
TRANSIENT = frozenset({429, 500, 502, 503, 504})


def seed_file(root: StateRoot) -> Path:
    """The first boot's hand-off: the managing Central and the join code (0600)."""
    return root.fleet_join_seed


def state_file(root: StateRoot) -> Path:
    """The seed join's progress, without the code."""
    return root.fleet_join_state


def state(root: StateRoot) -> dict[str, Any] | None:
    """The seed join's progress (``waiting``, ``joined``, ``failed``), or None: no seed."""
    try:
        data: dict[str, Any] = json.loads(state_file(root).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data


def _save(root: StateRoot, data: dict[str, Any]) -> None:
    write_atomic(state_file(root), json.dumps(data, indent=1) + "\n", mode=0o644)


def _transient(exc: BurrowError) -> bool:
    status = int(getattr(exc, "status", 500))
    # 409 without a field: this appliance's agents are not all registered yet (start-up).
    return status in TRANSIENT or (status == 409 and not exc.field)


def _reason(exc: BurrowError) -> str:
    where = f" ({exc.field})" if exc.field else ""
    return f"{exc}{where}"


def _request(given: dict[str, Any]) -> service.JoinRequest:
    return service.JoinRequest(
        address=str(given.get("address", "")),
        port=int(given.get("port") or PORT),
        ca_fingerprint=str(given.get("ca_fingerprint", "")),
        code=str(given.get("code", "")),
        comment="joined at first boot (seed)",
    )


def attempt(sessions: Any, config: CentralConfig) -> float | None:
    """One try of the seed's join; the seconds to wait before the next, or None: over."""
    root = config.root
    try:
        given = json.loads(seed_file(root).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        given = {}
    progress = state(root) or {}
    tries = int(progress.get("attempts", 0)) + 1
    data: dict[str, Any] = {
        "state": "waiting",
        "address": str(given.get("address", "")),
        "port": given.get("port") or PORT,
        "attempts": tries,
        "last_error": None,
        "next_attempt_at": None,
        "updated_at": jsonable(now()),
    }
    over = False
    current = service.membership(root)
    if current is not None:  # joined (this start or the one before it stopped)
        data["state"] = "joined" if current.get("address") == data["address"] else "failed"
        if data["state"] == "failed":
            data["last_error"] = f"in the fleet of the Central at {current['address']} already"
        over = True
    else:
        try:
            body = _request(given)
        except PydanticError as exc:  # its messages may hold the code: name the fields only
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            data["state"] = "failed"
            data["last_error"] = f"the seed's {', '.join(fields)} not valid"
            over = True
        except ValueError:
            data["state"] = "failed"
            data["last_error"] = "the seed's port not valid"
            over = True
        else:
            with sessions() as db:
                try:
                    service.join(db, SYSTEM, config, body)
                except BurrowError as exc:
                    db.rollback()
                    data["last_error"] = _reason(exc)
                    if not _transient(exc):
                        data["state"] = "failed"
                        over = True
                else:
                    data["state"] = "joined"
                    over = True
    wait = min(MAX_WAIT, FIRST_WAIT * 2 ** min(tries - 1, 10))
    if over:
        seed_file(root).unlink(missing_ok=True)  # the code goes with it
        log.info(
            "fleet join from the seed, Central at %s: %s%s", data["address"], data["state"],
            f" ({data['last_error']})" if data["last_error"] else "",
        )  # fmt: skip
    else:
        data["next_attempt_at"] = jsonable(now() + dt.timedelta(seconds=wait))
        log.warning(
            "fleet join from the seed, Central at %s: try %d failed (%s); again in %.0f s",
            data["address"], tries, data["last_error"], wait,
        )  # fmt: skip
    _save(root, data)
    return None if over else wait


async def join_from_seed(sessions: Any, config: CentralConfig, first_delay: float = 1.0) -> None:
    """Try the seed's join until it is done or refused for good (nothing to do: no seed)."""
    if not seed_file(config.root).exists():
        return
    await asyncio.sleep(first_delay)
    while True:
        try:
            wait = await asyncio.to_thread(attempt, sessions, config)
        except Exception:
            log.exception("fleet join from the seed failed")
            wait = MAX_WAIT
        if wait is None:
            return
        await asyncio.sleep(wait)
