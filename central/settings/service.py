"""Central's own settings: typed, with defaults, stored as rows, changed with history."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.deps import Principal
from central.history.service import record
from central.settings.models import SettingRow
from services.common.model import Input

TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class CentralSettings(BaseModel):
    """Every setting of Central, with its default."""

    model_config = ConfigDict(extra="forbid")

    sync_interval_seconds: int = Field(
        default=300, ge=10, le=86400, description="how often DNS and DHCP servers are synced"
    )
    dhcp_sync_interval_seconds: int = Field(
        default=900, ge=10, le=86400, description="how often Central compares DHCP servers"
    )
    health_interval_seconds: int = Field(
        default=30, ge=5, le=3600, description="how often agents are checked for reachability"
    )
    backup_full_time: str = Field(
        default="02:30", pattern=TIME_OF_DAY, description="daily full backup, HH:MM UTC"
    )
    backup_retention_days: int = Field(default=30, ge=1, le=3650)
    backup_detect_interval_seconds: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="how often the appliances at paired backup peers' addresses are asked "
        "who they are (replacement detection)",
    )
    backup_auto_approve: bool = Field(
        default=False,
        description="restore a detected replacement without an administrator (only one "
        "given this Central's fingerprint at its first boot accepts it)",
    )
    backup_safety_interval_seconds: int = Field(
        default=900, ge=10, le=86400, description="backup at least this often"
    )
    backup_wait_for_peer: bool = Field(
        default=False,
        description="answer a change only once the backup peer has stored it (or the wait "
        "below has passed, or the peer cannot be reached); a request's wait_for_backup "
        "overrides it",
    )
    backup_wait_timeout_seconds: int = Field(
        default=10, ge=1, le=300, description="the longest a change's answer waits for the peer"
    )
    session_lifetime_seconds: int = Field(
        default=8 * 3600, ge=60, le=30 * 86400, description="lifetime of a login session"
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=100, description="failed logins before a user is locked out"
    )
    login_lockout_seconds: int = Field(
        default=300, ge=1, le=86400, description="how long the lock-out lasts"
    )


class SettingsUpdate(Input):
    """A change of some settings; the others stay as they are."""

    sync_interval_seconds: Annotated[int, Field(ge=10, le=86400)] | None = None
    dhcp_sync_interval_seconds: Annotated[int, Field(ge=10, le=86400)] | None = None
    health_interval_seconds: Annotated[int, Field(ge=5, le=3600)] | None = None
    backup_full_time: Annotated[str, Field(pattern=TIME_OF_DAY)] | None = None
    backup_retention_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    backup_detect_interval_seconds: Annotated[int, Field(ge=1, le=3600)] | None = None
    backup_auto_approve: bool | None = None
    backup_safety_interval_seconds: Annotated[int, Field(ge=10, le=86400)] | None = None
    backup_wait_for_peer: bool | None = None
    backup_wait_timeout_seconds: Annotated[int, Field(ge=1, le=300)] | None = None
    session_lifetime_seconds: Annotated[int, Field(ge=60, le=30 * 86400)] | None = None
    login_max_failures: Annotated[int, Field(ge=1, le=100)] | None = None
    login_lockout_seconds: Annotated[int, Field(ge=1, le=86400)] | None = None
    comment: str = Field(default="", max_length=1000)


def load(db: Session) -> CentralSettings:
    stored: dict[str, Any] = {
        row.key: row.value
        for row in db.scalars(select(SettingRow))
        if row.key in CentralSettings.model_fields
    }
    return CentralSettings.model_validate(stored)


def update(db: Session, actor: Principal, change: SettingsUpdate) -> CentralSettings:
    before = load(db)
    values = change.model_dump(exclude_unset=True, exclude={"comment"})
    values = {k: v for k, v in values.items() if v is not None}
    after = CentralSettings.model_validate({**before.model_dump(), **values})
    for key, value in values.items():
        row = db.get(SettingRow, key)
        if row is None:
            db.add(SettingRow(key=key, value=value))
        else:
            row.value = value
    record(
        db,
        actor,
        "settings",
        "central",
        "update",
        before=before.model_dump(),
        after=after.model_dump(),
        comment=change.comment,
    )
    db.commit()
    return after
