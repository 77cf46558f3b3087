"""Tables on the process's PostgreSQL pool, in the SQL the SQLite stores speak (``?``
placeholders become ``%s``): what the lab and schedule stores run on there."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from infrastructure.shared.postgres.database import Database


class PgTables:
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
