"""PostgreSQL for tests: a fresh database per test on 127.0.0.1:5432, dropped afterwards.

Tests that need PostgreSQL are marked ``postgres`` and use the fixtures below. Without a
reachable server they are skipped with the reason; with ``CML_FLEET_REQUIRE_POSTGRES=1``
(CI sets it) they fail instead, so CI never passes by skipping them. The server is
``CML_FLEET_TEST_POSTGRES_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``,
trust auth); the role must be allowed to create databases.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infrastructure.shared.settings import Settings
from infrastructure.store.postgres import init_schema

ADMIN_DSN = os.environ.get(
    "CML_FLEET_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRED = os.environ.get("CML_FLEET_REQUIRE_POSTGRES", "") not in ("", "0", "false")


def _where() -> str:
    parts = conninfo_to_dict(ADMIN_DSN)
    return f"{parts.get('user', '?')}@{parts.get('host', '?')}:{parts.get('port', 5432)}"


@functools.cache
def unavailable_reason() -> str | None:
    """Why PostgreSQL cannot be used for tests, or ``None`` when it can."""
    try:
        with psycopg.connect(ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        return (
            f"PostgreSQL is not reachable at {_where()} ({first_line}); "
            "set CML_FLEET_TEST_POSTGRES_DSN, or CML_FLEET_REQUIRE_POSTGRES=1 to fail instead"
        )


def require_postgres() -> None:
    """Skip (or, when required, fail) the calling test if PostgreSQL is not there."""
    reason = unavailable_reason()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"CML_FLEET_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database; yields its DSN and drops it (and its sessions) at the end."""
    name = f"cmlfleet_test_{uuid4().hex[:12]}"
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(ADMIN_DSN, dbname=name)
    finally:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def pg_settings(dsn: str, data_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings for a quiet system on ``dsn`` (no demo fleet, no timers)."""
    values: dict[str, Any] = {
        "persistence": "postgres",
        "postgres_dsn": dsn,
        "demo_workers": 0,
        "scheduler_enabled": False,
        "postgres_leader_retry_seconds": 0.2,
    }
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**(values | overrides))


@pytest.fixture
def pg_empty_dsn() -> Iterator[str]:
    """A fresh database without the cml-fleet schema."""
    require_postgres()
    with fresh_database() as dsn:
        yield dsn


@pytest.fixture
def pg_dsn(pg_empty_dsn: str) -> str:
    """A fresh database after ``cml-fleet db init``."""
    init_schema(pg_settings(pg_empty_dsn))
    return pg_empty_dsn
