"""Lab rows and import topologies on PostgreSQL (``worker_labs``, ``lab_imports``),
shared by every process; the same SQL as the SQLite store (``store.lab_store``)."""

from __future__ import annotations

from infrastructure.store.lab_sql import SqlLabStore
from infrastructure.store.postgres.tables import PgTables


class PgLabStore(PgTables, SqlLabStore):
    """The lab store on the process's PostgreSQL pool."""
