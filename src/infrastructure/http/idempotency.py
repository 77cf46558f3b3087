"""``Idempotency-Key`` on POST: a retried request gets the first answer, applied once.

Keys are per actor. A key is *claimed* (reserved) before the command runs, so a
concurrent duplicate finds it taken (409, retry later) instead of running twice; the
answer (status and body) is stored when the command has run. Answers expire after
``idempotency_ttl_hours``. A claim left by a crashed process is taken over after
``LEASE_SECONDS``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum
from typing import Any

from application.ports import Clock
from infrastructure.http.access.sqlite import SmallDatabase, SmallDb
from infrastructure.shared.settings import Settings

LEASE_SECONDS = 60.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS idempotency ("
    " actor TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    " claimed_at REAL NOT NULL, expires_at REAL NOT NULL,"
    " status INTEGER, media_type TEXT, body BLOB,"
    " PRIMARY KEY (actor, key))"
)

# A new claim replaces an expired or abandoned one whole (as SQLite's INSERT OR REPLACE
# would); written as an upsert both SQLite and PostgreSQL speak.
_CLAIM = (
    "INSERT INTO idempotency (actor, key, fingerprint, claimed_at, expires_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (actor, key) DO UPDATE SET"
    " fingerprint = excluded.fingerprint, claimed_at = excluded.claimed_at,"
    " expires_at = excluded.expires_at, status = NULL, media_type = NULL, body = NULL"
)


class ClaimState(Enum):
    NEW = "new"  # the caller runs the command, then calls complete() or release()
    REPLAY = "replay"  # the stored answer is returned
    MISMATCH = "mismatch"  # the key was used for another request
    BUSY = "busy"  # the first request with this key is still running


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    media_type: str
    body: bytes


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    answer: StoredAnswer | None = None


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and the exact body bytes."""
    return hashlib.sha256(b"\0".join((method.encode(), path.encode(), body))).hexdigest()


class IdempotencyStore:
    """Stored answers by (actor, key). Thread-safe; call it off the event loop."""

    def __init__(self, db: SmallDatabase, clock: Clock, ttl_seconds: float) -> None:
        self._db = db
        self._clock = clock
        self._ttl = ttl_seconds
        self._db.ensure_schema([_SCHEMA])
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM idempotency WHERE expires_at <= ?", (self._now(),))

    @classmethod
    def for_settings(
        cls, settings: Settings, clock: Clock, database: Any = None
    ) -> IdempotencyStore:
        """Answers in ``idempotency.sqlite``, or on PostgreSQL ``database`` when given."""
        db = SmallDb.for_settings(settings, "idempotency.sqlite", database)
        return cls(db, clock, settings.idempotency_ttl_hours * 3600)

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def claim(self, actor: str, key: str, fingerprint: str) -> Claim:
        """Reserve ``key`` for this request, or say why not (atomically)."""
        now = self._now()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT fingerprint, claimed_at, expires_at, status, media_type, body"
                " FROM idempotency WHERE actor = ? AND key = ?",
                (actor, key),
            ).fetchone()
            if row is not None and row[2] > now:
                taken = _taken(row, fingerprint, now)
                if taken is not None:
                    return taken
            conn.execute(_CLAIM, (actor, key, fingerprint, now, now + self._ttl))
        return Claim(ClaimState.NEW)

    def complete(self, actor: str, key: str, answer: StoredAnswer) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE idempotency SET status = ?, media_type = ?, body = ?"
                " WHERE actor = ? AND key = ?",
                (answer.status, answer.media_type, answer.body, actor, key),
            )

    def release(self, actor: str, key: str) -> None:
        """Forget an unanswered claim (the command failed unexpectedly; a retry may run)."""
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM idempotency WHERE actor = ? AND key = ? AND status IS NULL",
                (actor, key),
            )

    def close(self) -> None:
        self._db.close()


def _taken(
    row: tuple[str, float, float, int | None, str | None, bytes | None],
    fingerprint: str,
    now: float,
) -> Claim | None:
    stored_fingerprint, claimed_at, _, status, media_type, body = row
    if stored_fingerprint != fingerprint:
        return Claim(ClaimState.MISMATCH)
    if status is not None:
        return Claim(ClaimState.REPLAY, StoredAnswer(status, media_type or "", body or b""))
    if now - claimed_at < LEASE_SECONDS:
        return Claim(ClaimState.BUSY)
    return None  # an abandoned claim: take it over
