"""A small SQLite database shared by threads: the token store and the idempotency store."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infrastructure.settings import Settings


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
    def for_settings(cls, settings: Settings, filename: str) -> SmallDb:
        """``filename`` in the data dir, or in memory when persistence is ``memory``."""
        if settings.persistence == "memory":
            return cls(":memory:")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(str(settings.data_dir / filename))

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

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of one read (no write lock on the file: readers never block writers)."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
