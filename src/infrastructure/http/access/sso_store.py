"""Single sign-on state kept by the server (backend-for-frontend): logins under way and
signed-in sessions, in the token store's database (``auth.sqlite`` or PostgreSQL, so
every process of a cluster shares them).

The browser holds only the session cookie (and the CSRF cookie). The provider's tokens
stay here, sealed with AES-GCM under a key derived from the client secret, so a copy of
the database alone reveals none of them; the session id, CSRF token and login state are
stored as SHA-256 hashes, like our own tokens.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from application.ports import Clock
from infrastructure.http.access.auth import Identity, Role, digest, same_secret
from infrastructure.http.access.sqlite import SmallDatabase
from infrastructure.shared.sso_tables import SCHEMA

LOGIN_SECONDS = 600
"""A login must come back from the provider within this."""
REFRESH_CLAIM_SECONDS = 30
"""A process refreshing a session holds it this long; others keep using it meanwhile."""


class Sealer:
    """AES-GCM under a key derived (HKDF-SHA256) from the client secret."""

    def __init__(self, secret: str) -> None:
        key = HKDF(hashes.SHA256(), 32, salt=None, info=b"cml-fleet sso tokens").derive(
            secret.encode()
        )
        self._aead = AESGCM(key)

    def seal(self, value: Mapping[str, Any]) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, json.dumps(dict(value)).encode(), None)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, text: str) -> dict[str, Any] | None:
        """The sealed value, or ``None`` when it was sealed under another secret."""
        try:
            raw = base64.urlsafe_b64decode(text.encode())
            value = json.loads(self._aead.decrypt(raw[:12], raw[12:], None))
        except (InvalidTag, ValueError):
            return None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class PendingLogin:
    """What the callback needs to finish a login it started (PKCE verifier, nonce)."""

    verifier: str
    nonce: str


@dataclass(frozen=True)
class SsoSession:
    """A live signed-in session: who, the CSRF hash, the sealed provider tokens."""

    identity: Identity
    csrf_hash: str
    tokens: dict[str, Any]
    refresh_at: float
    expires_at: float


class SsoStore:
    """Logins and sessions. Thread-safe; call it off the event loop."""

    def __init__(self, db: SmallDatabase, clock: Clock, sealer: Sealer) -> None:
        self._db = db
        self._clock = clock
        self._sealer = sealer
        self._db.ensure_schema(list(SCHEMA))

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def begin_login(self, state: str, pending: PendingLogin) -> None:
        sealed = self._sealer.seal({"verifier": pending.verifier, "nonce": pending.nonce})
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sso_logins WHERE expires_at <= ?", (self._now(),))
            conn.execute(
                "INSERT INTO sso_logins VALUES (?, ?, ?)",
                (digest(state), sealed, self._now() + LOGIN_SECONDS),
            )

    def take_login(self, state: str) -> PendingLogin | None:
        """The login ``state`` names, once (a replayed callback finds nothing)."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT sealed, expires_at FROM sso_logins WHERE state_hash = ?", (digest(state),)
            ).fetchall()
            conn.execute("DELETE FROM sso_logins WHERE state_hash = ?", (digest(state),))
        if not rows or rows[0][1] <= self._now():
            return None
        found = self._sealer.open(rows[0][0])
        return None if found is None else PendingLogin(found["verifier"], found["nonce"])

    def open_session(
        self, identity: Identity, tokens: Mapping[str, Any], refresh_at: float, max_age: int
    ) -> tuple[str, str]:
        """A new session; returns its id and CSRF token (only their hashes are kept)."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._now()
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sso_sessions WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT INTO sso_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    digest(session_id),
                    digest(csrf),
                    identity.subject,
                    identity.name,
                    identity.role.value,
                    json.dumps(sorted(identity.teams)),
                    self._sealer.seal(tokens),
                    refresh_at,
                    now + max_age,
                ),
            )
        return session_id, csrf

    def session(self, session_id: str) -> SsoSession | None:
        rows = self._db.query(
            "SELECT hash, csrf_hash, subject, name, role, teams, sealed, refresh_at, expires_at"
            " FROM sso_sessions WHERE hash = ?",
            (digest(session_id),),
        )
        if not rows:
            return None
        hash_, csrf_hash, subject, name, role, teams, sealed, refresh_at, expires_at = rows[0]
        if not same_secret(session_id, hash_) or expires_at <= self._now():
            return None
        tokens = self._sealer.open(sealed)
        if tokens is None:  # sealed under a former client secret: sign in again
            return None
        identity = Identity(
            name, Role(role), "sso:" + hash_[:12], subject, frozenset(json.loads(teams))
        )
        return SsoSession(identity, csrf_hash, tokens, refresh_at, expires_at)

    def claim_refresh(self, session_id: str, seen_refresh_at: float) -> bool:
        """Whether this caller may refresh the session now (one process at a time)."""
        with self._db.transaction() as conn:
            changed = conn.execute(
                "UPDATE sso_sessions SET refresh_at = ? WHERE hash = ? AND refresh_at = ?",
                (self._now() + REFRESH_CLAIM_SECONDS, digest(session_id), seen_refresh_at),
            ).rowcount
        return bool(changed)

    def refreshed(
        self, session_id: str, identity: Identity, tokens: Mapping[str, Any], refresh_at: float
    ) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE sso_sessions SET name = ?, role = ?, teams = ?, sealed = ?, refresh_at = ?"
                " WHERE hash = ?",
                (
                    identity.name,
                    identity.role.value,
                    json.dumps(sorted(identity.teams)),
                    self._sealer.seal(tokens),
                    refresh_at,
                    digest(session_id),
                ),
            )

    def close_session(self, session_id: str) -> dict[str, Any] | None:
        """End the session; returns its tokens (to revoke them), if it existed."""
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT sealed FROM sso_sessions WHERE hash = ?", (digest(session_id),)
            ).fetchall()
            conn.execute("DELETE FROM sso_sessions WHERE hash = ?", (digest(session_id),))
        return self._sealer.open(rows[0][0]) if rows else None

    def live(self, hash_prefix: str) -> bool:
        """Whether the session whose hash starts with ``hash_prefix`` is still open."""
        rows = self._db.query(
            "SELECT 1 FROM sso_sessions WHERE substr(hash, 1, 12) = ? AND expires_at > ?",
            (hash_prefix[:12], self._now()),
        )
        return bool(rows) and len(hash_prefix) == 12
