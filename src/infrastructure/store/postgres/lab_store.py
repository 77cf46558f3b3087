"""Lab rows and import topologies on PostgreSQL (``worker_labs``, ``lab_imports``),
shared by every process; the same SQL as the SQLite store (``store.lab_store``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from infrastructure.shared.postgres.database import Database
from infrastructure.store.lab_sql import SqlLabStore


class PgLabStore(SqlLabStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s")

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._db.write() as conn, conn.cursor() as cursor:
            yield cursor

    def close(self) -> None:
        """The database is the process's, closed with it."""
