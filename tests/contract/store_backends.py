"""The persistence backends the store contract suites run on: memory, SQLite, PostgreSQL.

Each suite parametrizes a fixture over :data:`BACKENDS` and opens the backend with
:func:`backend_settings`; the PostgreSQL one gets a fresh database (after ``db init``)
and is marked ``postgres`` (skipped with a reason when there is no server, failing
under ``CML_FLEET_REQUIRE_POSTGRES=1``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from infrastructure.shared.postgres import Database
from infrastructure.shared.settings import Settings
from infrastructure.store.postgres import init_schema
from tests.postgres_support import fresh_database, pg_settings, require_postgres

BACKENDS = ("memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres))
DURABLE_BACKENDS = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


@contextmanager
def backend_settings(backend: str, data_dir: Path, **overrides: Any) -> Iterator[Settings]:
    """Quiet settings (no demo fleet, no timers) on ``backend``, ready to bootstrap."""
    if backend != "postgres":
        yield Settings(
            persistence=backend,
            data_dir=data_dir,
            demo_workers=0,
            scheduler_enabled=False,
            **overrides,
        )
        return
    require_postgres()
    with fresh_database() as dsn:
        settings = pg_settings(dsn, data_dir, **overrides)
        init_schema(settings)
        yield settings


@contextmanager
def database_for(settings: Settings) -> Iterator[Database | None]:
    """Our PostgreSQL pool for ``settings`` (``None`` for the other backends), closed after."""
    if settings.persistence != "postgres":
        yield None
        return
    database = Database.for_settings(settings)
    try:
        yield database
    finally:
        database.close()
