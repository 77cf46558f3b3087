"""A small SQLite database of its own (a file in the data dir, or memory), safe to call
from any thread: what the lab and schedule stores run their SQL on here (on PostgreSQL:
``store.postgres.tables``)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any


class SqliteFile:
    def __init__(self, path: Any, schema: Sequence[str]) -> None:
        self._lock = threading.Lock()
        target = str(path) if path is not None else ":memory:"
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        for statement in schema:
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
