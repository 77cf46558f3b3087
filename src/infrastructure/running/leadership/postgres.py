"""Leader election with a PostgreSQL advisory lock, held on a connection of its own.

``pg_try_advisory_lock`` never waits: a process that does not get it tries again every
``postgres_leader_retry_seconds``. The lock belongs to the session, so it is released
the moment the leader's connection ends: a clean stop, a crash, a ``kill -9`` (the
kernel closes the socket). A leader whose host or network vanishes is noticed by TCP
keepalives on both sides within seconds, and the leader itself stops its jobs as soon
as its connection fails a check. Each election appends a term to ``leader_terms``, so
the admin endpoint can say who leads and since when, and an operator can see who led
when.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import psycopg

from infrastructure.running.leadership.port import LeaderRecord, ProcessIdentity
from infrastructure.shared.postgres.config import connection_kwargs, dsn_of, schema_of
from infrastructure.shared.postgres.database import Database, lock_key
from infrastructure.shared.settings import Settings

log = logging.getLogger(__name__)

SERVER_KEEPALIVES = (
    "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
)
TCP_USER_TIMEOUT_MS = 10_000  # unacknowledged data for this long: the connection is dead
RECORD_TERM = """INSERT INTO leader_terms (process, host, pid, backend_pid, since)
    VALUES (%s, %s, %s, pg_backend_pid(), now()) RETURNING term"""
CURRENT_LEADER = """
    SELECT t.term, t.process, t.host, t.pid, t.since FROM leader_terms t
    WHERE t.backend_pid = (
        SELECT l.pid FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint = %s AND l.objid::bigint = %s)
    ORDER BY t.term DESC LIMIT 1"""


def _lock_parts(key: int) -> tuple[int, int]:
    """How ``pg_locks`` shows a bigint advisory key: high and low 32 bits, unsigned."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


class AdvisoryLockElection:
    """The process holding the advisory lock ``cml-fleet:leader:<schema>`` leads."""

    kind = "postgres-advisory-lock"

    def __init__(
        self, dsn: str, kwargs: dict[str, Any], schema: str, retry_seconds: float, db: Database
    ) -> None:
        self.retry_seconds: float | None = retry_seconds
        self._dsn = dsn
        self._kwargs = kwargs
        self._db = db
        self._key = lock_key(f"cml-fleet:leader:{schema}")
        self._conn: psycopg.Connection[Any] | None = None
        self.term: int | None = None

    @classmethod
    def for_settings(cls, settings: Settings, db: Database) -> AdvisoryLockElection:
        kwargs = connection_kwargs(settings)
        kwargs["options"] = f"{kwargs['options']} {SERVER_KEEPALIVES}"
        kwargs["tcp_user_timeout"] = TCP_USER_TIMEOUT_MS
        retry = settings.postgres_leader_retry_seconds
        return cls(dsn_of(settings), kwargs, schema_of(settings), retry, db)

    def try_lead(self, me: ProcessIdentity) -> bool:
        """Take the lock if it is free (never waits); record the new term if taken."""
        try:
            conn = self._connection(me)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            if row is None or not row[0]:
                return False
            term = conn.execute(RECORD_TERM, (me.id, me.host, me.pid)).fetchone()
            self.term = None if term is None else int(term[0])
            log.info("elected leader", extra={"term": self.term, "leader_process": me.id})
            return True
        except psycopg.Error as error:
            log.warning("leader election: cannot reach PostgreSQL (%s)", type(error).__name__)
            self._drop()
            return False

    def still_leading(self) -> bool:
        """True while the lock's connection answers (the lock lives as long as it does)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            self._drop()
            return False

    def resign(self) -> None:
        """Release the lock now (a clean stop), so another process takes over at once."""
        if self._conn is not None:
            # Closing the connection releases it anyway.
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        self._drop()

    def leader(self) -> LeaderRecord | None:
        """The process holding the lock now (whichever process asks), or ``None``."""
        row = self._db.one(CURRENT_LEADER, _lock_parts(self._key))
        if row is None:
            return None
        term, process, host, pid, since = row
        return LeaderRecord(str(process), str(host), int(pid), since, int(term))

    def _connection(self, me: ProcessIdentity) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            name = f"cml-fleet election {me.host}:{me.pid}"
            kwargs = {**self._kwargs, "application_name": name, "autocommit": True}
            self._conn = psycopg.connect(self._dsn, **kwargs)
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.term = None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
