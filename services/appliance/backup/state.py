"""The appliance's state, ``var/lib/burrow/appliance-state.json`` (issue 7's shared design).

``{"state": "uninitialized" | "active" | "restoring", "appliance_id": uuid4,
"restore_code": 10 characters of A-Z and 2-9}``. A fresh appliance starts ``uninitialized``
with a new id and code. It becomes ``active`` when it is paired with a peer, when an
administrator says "use as a new appliance", or when a restore has been applied. An
``active`` appliance never accepts a restore push.

The appliance-agent makes the file at its first start. An appliance that existed before
issue 7 therefore also starts ``uninitialized``; pairing it with a peer makes it ``active``.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import asdict, dataclass
from typing import Literal

from services.appliance.backup.paths import state_file
from services.common.files import read_json, write_json
from services.common.paths import StateRoot

State = Literal["uninitialized", "active", "restoring"]
STATES = ("uninitialized", "active", "restoring")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10

_lock = threading.Lock()


def new_restore_code() -> str:
    """Ten characters of A-Z and 2-9 (without I and O, read aloud from a console)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass
class ApplianceState:
    """The contents of appliance-state.json."""

    state: State
    appliance_id: str
    restore_code: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def load(root: StateRoot) -> ApplianceState:
    """The state, made on first use (``uninitialized`` on a fresh appliance)."""
    with _lock:
        path = state_file(root)
        if path.exists():
            value = read_json(path)
            if value.get("state") in STATES:
                return ApplianceState(
                    state=value["state"],
                    appliance_id=str(value["appliance_id"]),
                    restore_code=str(value["restore_code"]),
                )
        fresh = ApplianceState(
            state="uninitialized",
            appliance_id=str(uuid.uuid4()),
            restore_code=new_restore_code(),
        )
        write_json(path, fresh.as_dict(), mode=0o600)
        return fresh


def save(root: StateRoot, value: ApplianceState) -> None:
    with _lock:
        write_json(state_file(root), value.as_dict(), mode=0o600)


def set_state(root: StateRoot, state: State, *, new_code: bool = False) -> ApplianceState:
    """Change the state; the id stays, and the restore code too unless ``new_code``."""
    current = load(root)
    current.state = state
    if new_code:
        current.restore_code = new_restore_code()
    save(root, current)
    return current
