"""Lab rows (``application.labs.LabStore``): each worker's labs as the metrics job last
saw them, and import topologies waiting for the engine. Not from the log: losing them
loses nothing but a cycle's wait (the job fills them again). Here in SQLite
(``labs.sqlite`` in the data dir, or memory); on PostgreSQL in ``store.postgres``.
"""

from __future__ import annotations

from typing import Any

from infrastructure.shared.lab_tables import SCHEMA
from infrastructure.shared.settings import Settings
from infrastructure.store.lab_sql import SqlLabStore
from infrastructure.store.sqlite_file import SqliteFile

FILE_NAME = "labs.sqlite"


class SqliteLabStore(SqliteFile, SqlLabStore):
    """In a SQLite file (or memory); safe to call from any thread."""

    def __init__(self, path: Any) -> None:
        super().__init__(path, SCHEMA)


def open_lab_store(settings: Settings, database: Any = None) -> SqlLabStore:
    """The store for ``settings``: a file in the data dir, memory, or the PostgreSQL
    tables on ``database`` (a ``shared.postgres.Database``) every process shares."""
    if database is not None:
        from infrastructure.store.postgres.lab_store import PgLabStore

        return PgLabStore(database)
    return SqliteLabStore(settings.data_file(FILE_NAME))
