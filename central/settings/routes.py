"""``/api/v1/settings``: Central's own settings."""

from __future__ import annotations

from fastapi import APIRouter

from central.core.deps import Admin, CurrentUser, DbSession
from central.core.problems import RESPONSES
from central.settings import service
from central.settings.service import CentralSettings, SettingsUpdate

router = APIRouter(prefix="/api/v1", tags=["settings"], responses=RESPONSES)


@router.get("/settings")
def get_settings(db: DbSession, _user: CurrentUser) -> CentralSettings:
    """Every setting of Central with its current value."""
    return service.load(db)


@router.patch("/settings")
def change_settings(db: DbSession, admin: Admin, change: SettingsUpdate) -> CentralSettings:
    """Change some settings (administrators); recorded in the history as ``settings/central``."""
    return service.update(db, admin, change)
