"""Our connection pool to PostgreSQL (psycopg 3), for everything but the event store.

The read model, tokens, idempotency keys and utilization samples share this pool; the
event store has eventsourcing's own. Connections are in autocommit mode and every
transaction is explicit:

- :meth:`Database.write` — a read-committed transaction, committed unless it raises;
- :meth:`Database.read` — a read-only repeatable-read transaction: every statement in
  it sees the same snapshot (rows, counts and the tracked position agree);
- :meth:`Database.one` / :meth:`Database.all` — one statement, atomic on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from infrastructure.shared.postgres.config import (
    CONNECT_TIMEOUT_SECONDS,
    MIN_IDLE_CONNECTIONS,
    connection_kwargs,
    dsn_of,
    pool_max_size,
    schema_of,
)
from infrastructure.shared.settings import Settings

Params = Sequence[Any]
READ_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


class DatabaseUnreachable(RuntimeError):
    """PostgreSQL cannot be reached (or refuses us): the server's words, no password."""

    def __init__(self, dsn: str, error: psycopg.Error) -> None:
        parts = conninfo_to_dict(dsn)
        where = f"{parts.get('user', '')}@{parts.get('host', '')}:{parts.get('port', 5432)}"
        reason = " ".join(line.strip() for line in str(error).splitlines()) or repr(error)
        super().__init__(
            f"cannot connect to PostgreSQL {where}/{parts.get('dbname', '')}: {reason} "
            "(check CML_FLEET_POSTGRES_DSN and that the server is up)"
        )


def probe(dsn: str, **kwargs: Any) -> None:
    """Connect once, to fail now with the server's own words (the pool would only retry)."""
    try:
        with psycopg.connect(dsn, **kwargs):
            pass
    except psycopg.OperationalError as error:
        raise DatabaseUnreachable(dsn, error) from None


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Database:
    """A bounded pool of connections to one database, tables in one schema."""

    def __init__(
        self, dsn: str, *, schema: str, max_size: int, kwargs: dict[str, Any] | None = None
    ) -> None:
        self.schema = schema
        self.dsn = dsn
        probe(dsn, **(kwargs or {}))
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            dsn,
            min_size=min(MIN_IDLE_CONNECTIONS, max_size),
            max_size=max_size,
            kwargs={"autocommit": True, **(kwargs or {})},
            timeout=CONNECT_TIMEOUT_SECONDS * 3,
            name="cml-fleet",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
        except psycopg.Error as error:  # it answered the probe, then stopped answering
            self._pool.close()
            raise DatabaseUnreachable(dsn, error) from None

    @classmethod
    def for_settings(cls, settings: Settings) -> Database:
        return cls(
            dsn_of(settings),
            schema=schema_of(settings),
            max_size=pool_max_size(settings),
            kwargs=connection_kwargs(settings),
        )

    @contextmanager
    def write(self) -> Iterator[psycopg.Connection[Any]]:
        """One read-committed transaction: committed at the end, rolled back on error."""
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def read(self) -> Iterator[psycopg.Connection[Any]]:
        """One read-only transaction on a single snapshot of the database."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(READ_SNAPSHOT)
            yield conn

    def one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        with self._pool.connection() as conn:
            row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold a session advisory lock named ``name`` (one process at a time)."""
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (lock_key(name),))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(name),))

    def notify(self, channel: str, payload: str) -> None:
        """``NOTIFY channel, payload`` (delivered to listeners on commit: at once here)."""
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))

    def close(self) -> None:
        self._pool.close()
