"""A small SQLite database shared by threads: the token store and the idempotency store.

With PostgreSQL persistence the same stores run on ``infrastructure.http.access.postgres``
(:class:`SmallDatabase` is what both offer), so every process shares tokens, sessions
and idempotency keys.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from infrastructure.shared.settings import Settings


class SmallDatabase(Protocol):
    """What the token and idempotency stores need of their database."""

    def transaction(self) -> AbstractContextManager[Any]: ...

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]: ...

    def ensure_schema(self, statements: Sequence[str]) -> None: ...

    def close(self) -> None: ...


class SmallDb:
    """One connection, one lock: these tables are tiny and their statements short.

    A file database is in WAL mode so another process (``cml-fleet token create``
    while the server runs) can write at the same time.
    """

    def __init__(self, target: str) -> None:
        self._conn = sqlite3.connect(
            target, check_same_thread=False, isolation_level=None, timeout=10
        )
        self._lock = threading.Lock()
        if target != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")

    @classmethod
    def for_settings(cls, settings: Settings, filename: str, database: Any = None) -> SmallDatabase:
        """``filename`` in the data dir, in memory when persistence is ``memory``, or
        tables on ``database`` (an ``infrastructure.shared.postgres.Database``) for postgres."""
        if database is not None:
            from infrastructure.http.access.postgres import PgSmallDb  # psycopg only when used

            return PgSmallDb(database, filename)
        path = settings.data_file(filename)
        return cls(":memory:" if path is None else str(path))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locking) transaction, committed unless it raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def ensure_schema(self, statements: Sequence[str]) -> None:
        """Create the tables if missing (PostgreSQL's are created by ``db init``)."""
        with self.transaction() as conn:
            for statement in statements:
                conn.execute(statement)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of one read (no write lock on the file: readers never block writers)."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
