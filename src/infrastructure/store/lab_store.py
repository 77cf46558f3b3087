"""Lab rows (``application.labs.LabStore``): each worker's labs as the metrics job last
saw them, and import topologies waiting for the engine. Not from the log: losing them
loses nothing but a cycle's wait (the job fills them again). Here in SQLite
(``labs.sqlite`` in the data dir, or memory); on PostgreSQL in ``store.postgres``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infrastructure.shared.lab_tables import SCHEMA
from infrastructure.shared.settings import Settings
from infrastructure.store.lab_sql import SqlLabStore

FILE_NAME = "labs.sqlite"


class SqliteLabStore(SqlLabStore):
    """In a SQLite file (or memory); safe to call from any thread."""

    def __init__(self, path: Any) -> None:
        self._lock = threading.Lock()
        target = str(path) if path is not None else ":memory:"
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        for statement in SCHEMA:
            self._db.execute(statement)

    def _sql(self, text: str) -> str:
        return text

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_lab_store(settings: Settings, database: Any = None) -> SqlLabStore:
    """The store for ``settings``: a file in the data dir, memory, or the PostgreSQL
    tables on ``database`` (a ``shared.postgres.Database``) every process shares."""
    if database is not None:
        from infrastructure.store.postgres.lab_store import PgLabStore

        return PgLabStore(database)
    return SqliteLabStore(settings.data_file(FILE_NAME))
