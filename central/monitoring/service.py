"""The rules behind ``/api/v1/monitoring`` and ``/metrics``.

Central writes ``etc/burrow/monitoring.json`` on its own appliance (the monitor program reads
it within a second). A secret left out of a change keeps its stored value (matched by name),
so the console and scripts can change a network without knowing the community. What the API
answers and the history keeps has every secret replaced by ``********``.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.core.deps import Principal
from central.history import service as history
from services.common.errors import FieldProblem, UnavailableError, ValidationError
from services.common.figures import Figures, prometheus_text
from services.common.monitoring import (
    AuthProtocol,
    MonitoringSettings,
    PrivProtocol,
    SyslogReceiver,
    Thresholds,
)

#: Figures older than this are stale: the monitor program is not collecting.
STALE_SECONDS = 60


class MonitoringChange(MonitoringSettings):
    """The whole monitoring settings, replacing the stored ones (secrets may be omitted)."""

    comment: Annotated[str, Field(max_length=1000, description="save comment")] = ""


class CommunityPublic(BaseModel):
    """A community as the API shows it: the secret is ``********``."""

    name: str
    community: str | None
    networks: list[str]


class UserPublic(BaseModel):
    """An SNMPv3 user as the API shows it: pass phrases are ``********``."""

    name: str
    auth_protocol: AuthProtocol
    auth_passphrase: str | None
    priv_protocol: PrivProtocol
    priv_passphrase: str | None


class ReceiverPublic(BaseModel):
    """A notification receiver as the API shows it."""

    address: str
    port: int
    community: str | None
    user: str | None


class MonitoringPublic(BaseModel):
    """The monitoring settings with every secret replaced by ``********`` (or null: unset)."""

    location: str
    contact: str
    snmp_port: int
    communities: list[CommunityPublic]
    users: list[UserPublic]
    receivers: list[ReceiverPublic]
    thresholds: Thresholds
    syslog: list[SyslogReceiver]
    ntp_servers: list[str]
    metrics_token: str | None


def load(config: CentralConfig) -> MonitoringSettings:
    return MonitoringSettings.load(config.root.monitoring_settings)


def view(config: CentralConfig) -> MonitoringPublic:
    return MonitoringPublic.model_validate(load(config).redacted())


def update(
    config: CentralConfig, db: Session, actor: Principal, change: MonitoringChange
) -> MonitoringPublic:
    if change.metrics_token_sha256 is not None:
        raise ValidationError(
            "metrics_token_sha256 is set by Central; give metrics_token instead.",
            field="metrics_token_sha256",
        )
    before = load(config)
    given = MonitoringSettings.model_validate(change.model_dump(exclude={"comment"}))
    after = given.merged_with(before)
    missing = after.missing_secrets()
    if missing:
        raise ValidationError(
            "Some secrets are missing.",
            problems=[FieldProblem(field, message) for field, message in missing],
        )
    history.record(
        db, actor, "monitoring", "settings", "update",
        before=before.redacted(), after=after.redacted(), comment=change.comment,
    )  # fmt: skip
    after.save(config.root.monitoring_settings)
    db.commit()
    return MonitoringPublic.model_validate(after.redacted())


def figures(config: CentralConfig) -> Figures:
    """The monitor program's latest figures (503 while it has none or they are stale)."""
    try:
        value = json.loads(config.root.figures.read_text())
    except (OSError, ValueError) as exc:
        raise UnavailableError(
            "The monitor program has not collected any figures yet.",
            hint="it collects every few seconds; check the monitor program",
        ) from exc
    current = Figures.model_validate(value)
    if time.time() - current.collected_at > STALE_SECONDS:
        raise UnavailableError(
            f"The monitor program's figures are older than {STALE_SECONDS} s.",
            hint="check the monitor program (supervisorctl status monitor)",
        )
    return current


def metrics(config: CentralConfig) -> str:
    return prometheus_text(figures(config))
