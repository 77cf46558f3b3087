"""The token and idempotency stores on PostgreSQL: ``SmallDb``'s interface on our pool.

Their SQL is written once, in the dialect both databases speak; ``?`` placeholders
become psycopg's ``%s`` here (their statements hold no literal ``?`` or ``%``). Each
write transaction first takes a transaction-scoped advisory lock of its store, as
SQLite's ``BEGIN IMMEDIATE`` takes the file's write lock, so a read-then-write (claiming
an idempotency key) stays atomic when several processes share the tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from infrastructure.shared.postgres.database import Database, lock_key


def _pg(statement: str) -> str:
    return statement.replace("?", "%s")


class Statements:
    """What the stores call inside a transaction (as on a ``sqlite3.Connection``)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, statement: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._conn.execute(_pg(statement), params)


class PgSmallDb:
    """Tables created by ``cml-fleet db init``; the pool belongs to the system."""

    def __init__(self, db: Database, name: str) -> None:
        self._db = db
        self._lock = lock_key(f"cml-fleet:{db.schema}:{name}")

    @contextmanager
    def transaction(self) -> Iterator[Statements]:
        """A write transaction, one per store at a time, committed unless it raises."""
        with self._db.write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock,))
            yield Statements(conn)

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self._db.all(_pg(statement), params)

    def ensure_schema(self, statements: Sequence[str]) -> None:
        """Nothing to do: ``db init`` created the tables and start-up checked them."""

    def close(self) -> None:
        """Nothing to do: the shared pool is closed with the system."""
