"""SQLite connections of the read model.

File database: one writer connection (the projection's batches, rebuilds) guarded by a
lock, and a pool of reader connections, each used by one thread at a time, so queries
from the thread pool run in parallel with each other and with a batch being written
(WAL: readers see the last committed transaction, never a half-written batch). The pool
grows to the number of concurrent readers and no further; a connection per thread would
leak as the thread pool retires and replaces idle threads.

In-memory database (``persistence == "memory"``): a ``:memory:`` database exists only on
its connection, so readers and the writer share that one connection under the lock.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30.0


def _connect(target: str) -> sqlite3.Connection:
    # Autocommit mode: transactions are opened explicitly (BEGIN) below. Connections
    # move between threads, but each is used by one thread at a time.
    return sqlite3.connect(
        target, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )


class Connections:
    """Hands out connections for reading and for writing; ``path=None`` is in-memory."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._write_lock = threading.RLock()
        self._writer = _connect(str(path) if path is not None else ":memory:")
        if path is not None:
            self._writer.execute("PRAGMA journal_mode=WAL")
            # The view can always be rebuilt from the log, and the tracked position
            # commits with the rows, so NORMAL loses nothing that cannot be replayed.
            self._writer.execute("PRAGMA synchronous=NORMAL")
        self._idle_readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error)."""
        with self._write_lock:
            connection = self._writer
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:  # also when COMMIT itself failed
                    connection.execute("ROLLBACK")
                raise

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every statement inside sees the same committed state."""
        if self._path is None:
            with self._write_lock:
                yield from self._read_transaction(self._writer)
            return
        connection = self._borrow_reader()
        try:
            yield from self._read_transaction(connection)
        finally:
            self._idle_readers.put(connection)

    def read_one(self, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        """One row of one statement (atomic on its own: no explicit transaction needed)."""
        if self._path is None:
            with self._write_lock:
                row: tuple[object, ...] | None = self._writer.execute(sql, params).fetchone()
                return row
        connection = self._borrow_reader()
        try:
            row = connection.execute(sql, params).fetchone()
            return row
        finally:
            self._idle_readers.put(connection)

    @staticmethod
    def _read_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    def _borrow_reader(self) -> sqlite3.Connection:
        try:
            return self._idle_readers.get_nowait()
        except queue.Empty:
            pass
        assert self._path is not None
        connection = _connect(str(self._path))
        connection.execute("PRAGMA query_only=1")
        with self._readers_lock:
            self._readers.append(connection)
        return connection

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for connection in readers:
            connection.close()
        with self._write_lock:
            self._writer.close()
