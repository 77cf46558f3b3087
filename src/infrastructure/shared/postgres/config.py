"""From settings to PostgreSQL connections: the DSN, eventsourcing's environment, sizes.

eventsourcing's pool takes only host, port, database, user and password from its
environment; other libpq options (``sslmode``, ``sslrootcert``...) reach it through the
standard ``PG*`` environment variables (``PGSSLMODE``...), which libpq reads for every
connection. Our own connections use the whole DSN.
"""

from __future__ import annotations

import getpass
import os
import re

from psycopg.conninfo import conninfo_to_dict

from infrastructure.shared.settings import Settings

# Threads that call the store or the read model outside the request thread pool: the
# read-model follower, the operations reactor, a job broadcasting snapshots.
BACKGROUND_THREADS = 3
MIN_IDLE_CONNECTIONS = 2
CONNECT_TIMEOUT_SECONDS = 10
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
KEEPALIVES = {
    # Notice a dead peer within seconds, on both sides: a leader whose host vanished
    # loses its advisory lock, and a follower's LISTEN connection is replaced.
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}


class PostgresNotConfigured(ValueError):
    """``persistence`` is ``postgres`` but something it needs is missing or invalid."""


def dsn_of(settings: Settings) -> str:
    """The configured DSN (URL or ``key=value`` form); raises when it is not set."""
    if settings.postgres_dsn is None:
        raise PostgresNotConfigured(
            "persistence is postgres but CML_FLEET_POSTGRES_DSN is not set "
            "(e.g. postgresql://cmlfleet@db.example.com:5432/cmlfleet)"
        )
    return settings.postgres_dsn.get_secret_value()


def schema_of(settings: Settings) -> str:
    """The schema every table lives in; a plain lower-case identifier."""
    schema = settings.postgres_schema
    if not IDENTIFIER.match(schema):
        raise PostgresNotConfigured(
            f"CML_FLEET_POSTGRES_SCHEMA must be a lower-case identifier, not {schema!r}"
        )
    return schema


def pool_max_size(settings: Settings) -> int:
    """Connections a pool may open: one per request thread plus the background threads."""
    return settings.thread_limit + BACKGROUND_THREADS


def connection_kwargs(settings: Settings) -> dict[str, object]:
    """Options for our own connections: the schema first on the search path, keepalives."""
    return {
        "application_name": "cml-fleet",
        "options": f"-c search_path={schema_of(settings)}",
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        **KEEPALIVES,
    }


def eventsourcing_env(settings: Settings, *, create_tables: bool = False) -> dict[str, str]:
    """eventsourcing's persistence environment for the configured database.

    Tables are created only when asked (``cml-fleet db init``): at run time the app needs
    no DDL rights, and a missing schema is reported, not silently created.
    """
    parts = conninfo_to_dict(dsn_of(settings))
    pool_max = pool_max_size(settings)
    host = str(parts.get("host") or os.environ.get("PGHOST") or "localhost")
    user = str(parts.get("user") or os.environ.get("PGUSER") or getpass.getuser())
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(parts.get("dbname") or os.environ.get("PGDATABASE") or user),
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(parts.get("port") or os.environ.get("PGPORT") or "5432"),
        "POSTGRES_USER": user,
        # Empty: libpq looks in ~/.pgpass (or needs none: trust, peer).
        "POSTGRES_PASSWORD": str(parts.get("password") or os.environ.get("PGPASSWORD") or ""),
        "POSTGRES_SCHEMA": schema_of(settings),
        "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECONDS),
        "POSTGRES_POOL_SIZE": str(MIN_IDLE_CONNECTIONS),
        "POSTGRES_MAX_OVERFLOW": str(pool_max - MIN_IDLE_CONNECTIONS),
        "CREATE_TABLE": "true" if create_tables else "false",
    }
