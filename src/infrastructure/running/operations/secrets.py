"""The in-memory hand-off of license registration tokens, from the HTTP request to
the reactor. A token is never written anywhere: it waits here, keyed by the worker and
the request's correlation id, until the reactor takes it (once: taking wipes it) or it
expires. After a restart the box is empty, and the registration fails asking for the
token again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from application.ports import Clock

Key = tuple[UUID, str]


@dataclass(eq=False)
class _Entry:
    token: str
    expires_at: datetime

    def __repr__(self) -> str:  # never show a token, even in a debugger or a log
        return f"_Entry(expires_at={self.expires_at.isoformat()})"


class Held:
    """What the HTTP endpoint holds while its command runs."""

    def __init__(self) -> None:
        self.kept = False

    def keep_if(self, accepted: bool) -> None:
        """Leave the token for the reactor only if the request was accepted."""
        self.kept = accepted


class LicenseTokenBox:
    """Tokens waiting for the reactor; ``take`` hands each out once."""

    def __init__(self, clock: Clock, ttl: timedelta = timedelta(minutes=15)) -> None:
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[Key, _Entry] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LicenseTokenBox({len(self)} waiting)"

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @contextmanager
    def holding(self, worker_id: UUID, correlation_id: str, token: str) -> Iterator[Held]:
        """Put the token before the request is recorded (the reactor may act on it at
        once) and take it back unless the request was accepted."""
        entry = self._put((worker_id, correlation_id), token)
        held = Held()
        try:
            yield held
        finally:
            if not held.kept:
                self._remove((worker_id, correlation_id), entry)

    def take(self, worker_id: UUID, correlation_id: str) -> str | None:
        now = self._clock.now()
        with self._lock:
            entry = self._entries.pop((worker_id, correlation_id), None)
            self._sweep(now)
        if entry is None or entry.expires_at <= now:
            return None
        return entry.token

    def _put(self, key: Key, token: str) -> _Entry:
        now = self._clock.now()
        entry = _Entry(token, now + self._ttl)
        with self._lock:
            self._sweep(now)
            self._entries[key] = entry
        return entry

    def _remove(self, key: Key, entry: _Entry) -> None:
        with self._lock:
            if self._entries.get(key) is entry:
                del self._entries[key]

    def _sweep(self, now: datetime) -> None:
        """Forget tokens nobody took in time (the lock is held)."""
        for key in [k for k, e in self._entries.items() if e.expires_at <= now]:
            del self._entries[key]
