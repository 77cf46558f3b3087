"""PostgreSQL underneath every capability's PostgreSQL backend: several ``cml-fleet serve``
processes on one database.

- ``config``: settings → DSN, eventsourcing's environment, pool sizes;
- ``schema``: the tables, created by ``cml-fleet db init`` and checked at start-up;
- ``database``: our connection pool (read model, tokens, idempotency keys, samples);
- ``notify``: a LISTEN thread waking the log's followers when any process appends.

The backends on it sit in their capabilities: ``read_model.postgres``,
``fanout.postgres``, ``running.leadership.postgres``, ``http.access.postgres``,
``store.postgres``, ``running.operations.postgres_tracking``.

See notes/DEPLOYMENT.md and notes/decisions/0003-postgres-scale-out.md.
"""

from __future__ import annotations

from infrastructure.shared.postgres.config import eventsourcing_env
from infrastructure.shared.postgres.database import Database, DatabaseUnreachable
from infrastructure.shared.postgres.schema import SchemaMissing, check_schema
from infrastructure.shared.settings import Settings

__all__ = [
    "Database",
    "DatabaseUnreachable",
    "SchemaMissing",
    "eventsourcing_env",
    "open_database",
]


def open_database(settings: Settings) -> Database | None:
    """Our pool when persistence is postgres (after checking the schema), else ``None``.

    Raises ``SchemaMissing`` (run ``cml-fleet db init``) or psycopg's error when the
    database cannot be reached.
    """
    if settings.persistence != "postgres":
        return None
    database = Database.for_settings(settings)
    try:
        check_schema(database)
    except BaseException:
        database.close()
        raise
    return database
