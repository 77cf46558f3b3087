"""PostgreSQL persistence: several ``cml-fleet serve`` processes on one database.

- ``config``: settings → DSN, eventsourcing's environment, pool sizes;
- ``schema``: the tables, created by ``cml-fleet db init`` and checked at start-up;
- ``database``: our connection pool (read model, tokens, idempotency keys, samples);
- ``view`` + ``listing``: the read model's shared tables (same interface as SQLite's);
- ``costs``: cost ledgers folded inside the write transaction (no double counting);
- ``small_db``, ``metrics_history``, ``tracking``: tokens, idempotency keys, samples and
  the reactor's position on the shared pool;
- ``notify``: a LISTEN thread waking the log's followers when any process appends;
- ``election``: the advisory lock that picks the one process running the leader parts;
- ``cluster_hub``: relays the leader's snapshot broadcasts to every process's clients.

See notes/DEPLOYMENT.md and notes/decisions/0003-postgres-scale-out.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from infrastructure.postgres.cluster_hub import ClusterHub, build_cluster_hub, snapshots_channel
from infrastructure.postgres.config import connection_kwargs, dsn_of, eventsourcing_env
from infrastructure.postgres.database import Database, DatabaseUnreachable
from infrastructure.postgres.notify import Listener
from infrastructure.postgres.schema import SchemaMissing, check_schema, init_schema
from infrastructure.settings import Settings
from infrastructure.sse.hub import Hub

if TYPE_CHECKING:
    from infrastructure.event_store import FleetEventStore

__all__ = [
    "ClusterHub",
    "Database",
    "DatabaseUnreachable",
    "Listener",
    "SchemaMissing",
    "build_cluster_hub",
    "build_listener",
    "eventsourcing_env",
    "init_schema",
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


def build_listener(
    settings: Settings, store: FleetEventStore, hub: Hub, database: Database | None
) -> Listener | None:
    """The LISTEN thread of a process on PostgreSQL: wakes the log's followers when any
    process appends, and relays snapshot broadcasts to the hub."""
    if database is None:
        return None
    channel = cast(Any, store.recorder).channel_name  # the PostgreSQL recorder's
    handlers: dict[str, Any] = {channel: lambda _: store.wake()}
    if isinstance(hub, ClusterHub):
        handlers[snapshots_channel(database.schema)] = hub.on_announcement
    return Listener(dsn_of(settings), connection_kwargs(settings), handlers)
