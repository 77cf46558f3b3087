"""Tokens and browser sessions, stored only as SHA-256 hashes (``auth.sqlite``).

A token is ``secrets.token_urlsafe(32)``: shown once, then only its hash is kept. A
session (opened by ``GET /login?token=...``) has its own random id and CSRF token,
also stored hashed, and ends with its token (revoked or expired) or after
``session_max_age_seconds``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from application.ports import Clock
from infrastructure.http.access.sqlite import SmallDatabase, SmallDb
from infrastructure.shared.settings import Settings


class Role(Enum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def scopes(self) -> list[str]:
        """Auth scopes: each role can do what the roles below it can."""
        ladder = [Role.VIEWER, Role.OPERATOR, Role.ADMIN]
        return [r.value for r in ladder[: ladder.index(self) + 1]]


@dataclass(frozen=True)
class Identity:
    """Who a token belongs to; ``name`` is the actor recorded on events. ``token_id``
    names the token (or the token a session was opened with) without revealing it."""

    name: str
    role: Role
    token_id: str = field(default="", compare=False)
    subject: str = ""
    """The provider's ``sub`` for a single sign-on identity; empty for our own tokens."""
    teams: frozenset[str] = frozenset()

    @property
    def actor(self) -> str:
        """Who is recorded on events: a token's name, or a signed-in person's display
        name with the subject (names are not unique; subjects are)."""
        return f"{self.name} <{self.subject}>" if self.subject else self.name


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``token list`` and ``GET /api/admin/tokens`` show it (never the secret)."""

    id: str
    name: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    teams: tuple[str, ...] = ()


TOKEN_ID_CHARS = 12
USAGE_EVERY_SECONDS = 60.0  # a token's last use is written at most once a minute


def token_id_of(token_hash: str) -> str:
    """The public id of a token: the first characters of its hash (the token's secret
    cannot be found from it)."""
    return token_hash[:TOKEN_ID_CHARS]


@dataclass(frozen=True)
class Session:
    """A new browser session; ``id`` and ``csrf`` go to cookies and are not kept."""

    id: str
    csrf: str
    identity: Identity
    max_age_seconds: int


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(secret: str | None, stored_digest: str) -> bool:
    """Constant-time check of a presented secret against a stored hash."""
    return secret is not None and hmac.compare_digest(digest(secret), stored_digest)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL, teams TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, csrf_hash TEXT NOT NULL,
    expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS token_usage (hash TEXT PRIMARY KEY, last_used_at REAL NOT NULL);
"""
_IDENTITY_SQL = "SELECT hash, name, role, expires_at, teams FROM tokens WHERE hash = ?"
_SESSION_SQL = (
    "SELECT s.hash, s.csrf_hash, s.expires_at, t.name, t.role, t.expires_at, t.hash, t.teams"
    " FROM sessions s JOIN tokens t ON t.hash = s.token_hash WHERE s.hash = ?"
)
TEAMS_COLUMN = "ALTER TABLE tokens ADD COLUMN teams TEXT NOT NULL DEFAULT ''"
"""Tokens made before teams existed have none (SQLite; ``db init`` on PostgreSQL)."""


def _teams(text: str) -> frozenset[str]:
    return frozenset(json.loads(text)) if text else frozenset()


class AuthStore:
    """Tokens and sessions. Thread-safe; call it off the event loop."""

    def __init__(self, db: SmallDatabase, clock: Clock, session_max_age_seconds: int) -> None:
        self._db = db
        self._clock = clock
        self._session_max_age = session_max_age_seconds
        self._written_use: dict[str, float] = {}
        self._use_lock = threading.Lock()
        self._db.ensure_schema(list(filter(str.strip, _SCHEMA.split(";"))))
        try:
            self._db.query("SELECT teams FROM tokens LIMIT 0")
        except Exception:  # sqlite3.OperationalError: a store from before teams
            self._db.ensure_schema([TEAMS_COLUMN])

    @classmethod
    def for_settings(cls, settings: Settings, clock: Clock, database: Any = None) -> AuthStore:
        """Tokens in ``auth.sqlite``, or on PostgreSQL ``database`` when given."""
        db = SmallDb.for_settings(settings, "auth.sqlite", database)
        return cls(db, clock, settings.session_max_age_seconds)

    @property
    def db(self) -> SmallDatabase:
        """The database the tokens are in (single sign-on keeps its sessions there too)."""
        return self._db

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def create_token(
        self,
        role: Role,
        name: str,
        expires_in: timedelta | None = None,
        teams: Iterable[str] = (),
    ) -> str:
        """A new token for ``name`` with ``role`` (seeing ``teams``' workers where
        visibility is by team); the only time it is ever shown."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        expires = None if expires_in is None else now + expires_in.total_seconds()
        kept = json.dumps(sorted(set(teams))) if teams else ""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO tokens (hash, name, role, created_at, expires_at, teams)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (digest(token), name, role.value, now, expires, kept),
            )
        return token

    def tokens(self) -> list[TokenInfo]:
        rows = self._db.query(
            "SELECT t.hash, t.name, t.role, t.created_at, t.expires_at, u.last_used_at, t.teams"
            " FROM tokens t LEFT JOIN token_usage u ON u.hash = t.hash ORDER BY t.created_at"
        )
        return [
            TokenInfo(
                token_id_of(hash_),
                name,
                Role(role),
                _moment(created),
                _moment(expires) if expires else None,
                _moment(used) if used else None,
                tuple(sorted(_teams(teams))),
            )
            for hash_, name, role, created, expires, used, teams in rows
        ]

    def revoke(self, token_id: str) -> bool:
        """Delete the token ``token_id`` names, its sessions and its usage; whether it
        existed. It is refused from then on (callers holding it in memory drop it)."""
        key = (token_id[:TOKEN_ID_CHARS],)
        with self._db.transaction() as conn:
            found = conn.execute(
                f"SELECT hash FROM tokens WHERE substr(hash, 1, {TOKEN_ID_CHARS}) = ?", key
            ).fetchall()
            if len(found) != 1 or len(token_id) != TOKEN_ID_CHARS:
                return False
            for table, column in (("sessions", "token_hash"), ("token_usage", "hash")):
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (found[0][0],))
            conn.execute("DELETE FROM tokens WHERE hash = ?", (found[0][0],))
        return True

    def valid(self, token_id: str) -> bool:
        """Whether the token ``token_id`` names still exists and has not expired."""
        rows = self._db.query(
            f"SELECT expires_at FROM tokens WHERE substr(hash, 1, {TOKEN_ID_CHARS}) = ?",
            (token_id,),
        )
        return len(rows) == 1 and (rows[0][0] is None or rows[0][0] > self._now())

    def _used(self, token_hash: str) -> None:
        """Note a use of the token, writing it at most once a minute per token."""
        now = self._now()
        with self._use_lock:
            if now - self._written_use.get(token_hash, float("-inf")) < USAGE_EVERY_SECONDS:
                return
            self._written_use[token_hash] = now
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO token_usage VALUES (?, ?)"
                " ON CONFLICT (hash) DO UPDATE SET last_used_at = excluded.last_used_at",
                (token_hash, now),
            )

    def has_tokens(self) -> bool:
        return bool(self._db.query("SELECT 1 FROM tokens LIMIT 1"))

    def identify(self, token: str) -> Identity | None:
        """The identity of a valid, unexpired token; ``None`` otherwise."""
        rows = self._db.query(_IDENTITY_SQL, (digest(token),))
        return self._identity(rows[0] if rows else None, token)

    def _identity(
        self, row: tuple[str, str, str, float | None, str] | None, token: str
    ) -> Identity | None:
        if row is None or not same_secret(token, row[0]):
            return None
        if row[3] is not None and row[3] <= self._now():
            return None
        self._used(row[0])
        return Identity(row[1], Role(row[2]), token_id_of(row[0]), teams=_teams(row[4]))

    def open_session(self, token: str) -> Session | None:
        """A browser session for a valid token; ``None`` if the token is not valid."""
        identity = self.identify(token)
        if identity is None:
            return None
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (self._now(),))
            conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (
                    digest(session_id),
                    digest(token),
                    digest(csrf),
                    self._now() + self._session_max_age,
                ),
            )
        return Session(session_id, csrf, identity, self._session_max_age)

    def session(self, session_id: str) -> tuple[Identity, str] | None:
        """The identity and CSRF-token hash of a live session, or ``None``."""
        rows = self._db.query(_SESSION_SQL, (digest(session_id),))
        if not rows:
            return None
        session_hash, csrf_hash, session_expiry, name, role, token_expiry, token_hash, teams = rows[
            0
        ]
        now = self._now()
        if not same_secret(session_id, session_hash) or session_expiry <= now:
            return None
        if token_expiry is not None and token_expiry <= now:
            return None
        self._used(token_hash)
        return Identity(name, Role(role), token_id_of(token_hash), teams=_teams(teams)), csrf_hash

    def close_session(self, session_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE hash = ?", (digest(session_id),))

    def close(self) -> None:
        self._db.close()


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
