"""Per-worker exponential back-off, held by the job object (never module state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Retry:
    failures: int
    not_before: datetime


class Backoff:
    """After ``n`` failures in a row, wait ``base * 2**(n-1)`` (at most ``cap``)."""

    def __init__(self, base: timedelta, cap: timedelta) -> None:
        self.base = base
        self.cap = cap
        self._retries: dict[str, Retry] = {}

    def ready(self, key: str, now: datetime) -> bool:
        retry = self._retries.get(key)
        return retry is None or now >= retry.not_before

    def failed(self, key: str, now: datetime) -> timedelta:
        """Record a failure; returns how long to leave ``key`` alone."""
        failures = self._retries[key].failures + 1 if key in self._retries else 1
        delay = min(self.cap, self.base * (1 << min(failures - 1, 30)))
        self._retries[key] = Retry(failures, now + delay)
        return delay

    def succeeded(self, key: str) -> None:
        self._retries.pop(key, None)

    def retry_at(self, key: str) -> datetime | None:
        """When ``key`` may be tried again; ``None`` when it is not backed off."""
        retry = self._retries.get(key)
        return None if retry is None else retry.not_before

    def failures(self, key: str) -> int:
        retry = self._retries.get(key)
        return 0 if retry is None else retry.failures

    def forget_all_but(self, keys: set[str]) -> None:
        for key in set(self._retries) - keys:
            del self._retries[key]
