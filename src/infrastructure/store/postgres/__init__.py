"""The store's parts on PostgreSQL, shared by every process: the utilization history
(``metrics_history``), and :func:`init_schema`, which creates every table of the
database (ours, and the event store's through eventsourcing)."""

from __future__ import annotations

from infrastructure.shared.postgres.config import eventsourcing_env
from infrastructure.shared.postgres.schema import init_schema as create_schema
from infrastructure.shared.settings import Settings
from infrastructure.store.event_store import FleetEventStore


def init_schema(settings: Settings) -> tuple[str, ...]:
    """Create the schema and every table (if missing); returns the tables' names."""
    return create_schema(settings, create_event_tables)


def create_event_tables(settings: Settings) -> None:
    """eventsourcing creates its own tables, types and functions when told to."""
    FleetEventStore(eventsourcing_env(settings, create_tables=True)).close()
