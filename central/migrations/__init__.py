"""Alembic migrations of Central's database (applied at every start by ``central.core.db``)."""
