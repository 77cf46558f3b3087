"""The PostgreSQL schema: created by ``cml-fleet db init``, only checked at run time.

Everything lives in one schema (``postgres_schema``, default ``cml_fleet``): the event
store's tables (created by eventsourcing itself), the read model, tokens and sessions,
idempotency keys, utilization samples, leader terms. ``db init`` is safe to run again
(and concurrently: it holds an advisory lock); ``serve`` creates nothing, so the role it
runs as needs no DDL rights, and it stops with a clear message when a table is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from application.queries import SORTABLE_FIELDS
from infrastructure.shared.lab_tables import SCHEMA as LAB_SCHEMA
from infrastructure.shared.names import EVENT_STORE_NAME
from infrastructure.shared.postgres.config import (
    connection_kwargs,
    dsn_of,
    schema_of,
)
from infrastructure.shared.postgres.database import Database, lock_key, probe
from infrastructure.shared.schedule_tables import SCHEMA as SCHEDULE_SCHEMA
from infrastructure.shared.schedule_tables import TABLES as SCHEDULE_TABLES
from infrastructure.shared.settings import Settings
from infrastructure.shared.sso_tables import SCHEMA as SSO_SCHEMA
from infrastructure.shared.sso_tables import TABLES as SSO_TABLES
from infrastructure.shared.webhook_tables import PG_SCHEMA as WEBHOOK_SCHEMA
from infrastructure.shared.webhook_tables import TABLES as WEBHOOK_TABLES

SCHEMA_VERSION = "5"
"""2: token_usage; 3: worker_labs, lab_imports; 4: sso_logins, sso_sessions,
tokens.teams, schedules; 5: webhook_subscriptions, webhook_events, webhook_deliveries,
webhook_tracking, budgets, budget_alerts, budget_lifts. Bump with a
migration in init_schema when a table changes (new tables need none: ``db init`` creates
what is missing)."""
INIT_LOCK = "cml-fleet:db-init"
TEXT = 'TEXT COLLATE "C"'  # byte order, like SQLite's: sorts and cursors agree everywhere
SORT_COLUMNS = {field: ("name_key" if field == "name" else field) for field in SORTABLE_FIELDS}

READ_MODEL = (
    f"""CREATE TABLE IF NOT EXISTS workers (
        id {TEXT} PRIMARY KEY, name_key {TEXT} NOT NULL, status {TEXT} NOT NULL,
        region {TEXT} NOT NULL, instance_type {TEXT} NOT NULL, created_at {TEXT} NOT NULL,
        updated_at {TEXT} NOT NULL, version BIGINT NOT NULL, search TEXT NOT NULL,
        position BIGINT NOT NULL)""",
    *(
        f"CREATE INDEX IF NOT EXISTS workers_by_{field} ON workers ({column}, id)"
        for field, column in SORT_COLUMNS.items()
    ),
    f"""CREATE TABLE IF NOT EXISTS worker_dtos (
        id {TEXT} PRIMARY KEY, position BIGINT NOT NULL, dto TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS workers_tracking (
        application_name TEXT PRIMARY KEY, notification_id BIGINT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS workers_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS worker_costs (id {TEXT} PRIMARY KEY, ledger TEXT NOT NULL)",
)
AUTH = (
    """CREATE TABLE IF NOT EXISTS tokens (
        hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION)""",
    "ALTER TABLE tokens ADD COLUMN IF NOT EXISTS teams TEXT NOT NULL DEFAULT ''",
    """CREATE TABLE IF NOT EXISTS sessions (
        hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, csrf_hash TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS token_usage (
        hash TEXT PRIMARY KEY, last_used_at DOUBLE PRECISION NOT NULL)""",
)
IDEMPOTENCY = (
    """CREATE TABLE IF NOT EXISTS idempotency (
        actor TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
        claimed_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL,
        status INTEGER, media_type TEXT, body BYTEA, PRIMARY KEY (actor, key))""",
)
METRICS = (
    """CREATE TABLE IF NOT EXISTS metric_samples (
        worker_id TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, cpu DOUBLE PRECISION,
        memory DOUBLE PRECISION, disk DOUBLE PRECISION, PRIMARY KEY (worker_id, at))""",
    "CREATE INDEX IF NOT EXISTS metric_samples_at ON metric_samples (at)",
)
REACTOR = (
    """CREATE TABLE IF NOT EXISTS reactor_tracking (
        name TEXT PRIMARY KEY, position BIGINT NOT NULL)""",
)
LEADERSHIP = (
    """CREATE TABLE IF NOT EXISTS leader_terms (
        term BIGSERIAL PRIMARY KEY, process TEXT NOT NULL, host TEXT NOT NULL,
        pid INTEGER NOT NULL, backend_pid INTEGER NOT NULL, since TIMESTAMPTZ NOT NULL)""",
)
META = (
    "CREATE TABLE IF NOT EXISTS schema_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO schema_meta VALUES ('schema_version', %s)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
)
OUR_DDL = (
    *(*READ_MODEL, *AUTH, *SSO_SCHEMA, *IDEMPOTENCY, *METRICS, *LAB_SCHEMA, *SCHEDULE_SCHEMA),
    *(*REACTOR, *LEADERSHIP, *WEBHOOK_SCHEMA),
)
OUR_TABLES = (
    *("workers", "worker_dtos", "workers_tracking", "workers_meta", "worker_costs"),
    *("tokens", "sessions", "token_usage", "idempotency", "metric_samples", "reactor_tracking"),
    *("worker_labs", "lab_imports", "leader_terms", "schema_meta", *SSO_TABLES),
    *SCHEDULE_TABLES,
    *WEBHOOK_TABLES,
)


def event_tables() -> tuple[str, ...]:
    """eventsourcing's tables for the fleet application (named after it)."""
    prefix = EVENT_STORE_NAME.lower()
    return f"{prefix}_events", f"{prefix}_snapshots"


def our_tables() -> tuple[str, ...]:
    return OUR_TABLES


class SchemaMissing(RuntimeError):
    """The database lacks tables (or has an older schema): ``cml-fleet db init`` fixes it."""

    def __init__(self, schema: str, missing: Sequence[str], found_version: str | None) -> None:
        self.missing = tuple(missing)
        what = f"tables {', '.join(missing)} are missing" if missing else "the schema is old"
        super().__init__(
            f"PostgreSQL schema {schema!r} is not ready ({what}; schema version "
            f"{found_version or 'none'}, expected {SCHEMA_VERSION}). Run `cml-fleet db init` "
            "once, as a role allowed to create tables, then start the server again."
        )


def check_schema(db: Database) -> None:
    """Raise :class:`SchemaMissing` unless every table exists at the current version."""
    wanted = (*event_tables(), *our_tables())
    names = [f"{db.schema}.{table}" for table in wanted]
    rows = db.all(
        "SELECT name, to_regclass(name) IS NOT NULL FROM unnest(%s::text[]) name", [names]
    )
    present = {name for name, exists in rows if exists}
    missing = [table for table, name in zip(wanted, names, strict=True) if name not in present]
    version = None
    if f"{db.schema}.schema_meta" in present:
        row = db.one("SELECT value FROM schema_meta WHERE key = 'schema_version'")
        version = None if row is None else str(row[0])
    if missing or version != SCHEMA_VERSION:
        raise SchemaMissing(db.schema, missing, version)


def init_schema(
    settings: Settings, create_event_tables: Callable[[Settings], None]
) -> tuple[str, ...]:
    """Create the schema and every table (if missing); returns the tables' names.
    ``create_event_tables`` has eventsourcing create its own (``store.postgres``)."""
    schema = schema_of(settings)
    kwargs: dict[str, Any] = {**connection_kwargs(settings), "autocommit": True}
    probe(dsn_of(settings), **kwargs)
    with psycopg.connect(dsn_of(settings), **kwargs) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_key(INIT_LOCK),))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        create_event_tables(settings)
        with conn.transaction():
            for statement in OUR_DDL:
                conn.execute(statement)
            conn.execute(META[0])
            conn.execute(META[1], (SCHEMA_VERSION,))
        conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(INIT_LOCK),))
    return (*event_tables(), *our_tables())
