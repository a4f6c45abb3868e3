"""The table of Central's own settings: one row per setting, the value as JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from central.core.db import Base


class SettingRow(Base):
    """One stored setting (defaults are not stored)."""

    __tablename__ = "central_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
