"""Rate limiting of failed logins: a sliding one-minute window per key.

A key is the client's address or the first characters of the presented token, so a
guesser is slowed down whether it rotates tokens from one address or one token
prefix from many. Only failures count, and only failures are refused: once a key has
``limit`` failures inside the window, every *invalid* attempt under that key gets 429
(with ``Retry-After``) until the oldest failure leaves the window. A valid credential
is looked up first and always accepted, so a guesser sharing an address (a NAT, a
proxy) never locks its users out. The address is the peer's: ``X-Forwarded-For`` only
counts from ``TRUSTED_PROXIES``. Time comes from the injected clock.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence

from application.ports import Clock

WINDOW_SECONDS = 60.0
TOKEN_PREFIX_CHARS = 8
MAX_KEYS = 10_000  # memory bound: the least recently failed keys are forgotten first


def login_keys(client_host: str | None, token: str | None) -> tuple[str, ...]:
    """The keys a login attempt counts under: its address and its token's prefix."""
    keys = [f"ip:{client_host or 'unknown'}"]
    if token:
        keys.append(f"token:{token[:TOKEN_PREFIX_CHARS]}")
    return tuple(keys)


class FailedLoginLimiter:
    """Counts failures per key; thread-safe."""

    def __init__(self, clock: Clock, limit: int, window_seconds: float = WINDOW_SECONDS) -> None:
        self._clock = clock
        self._limit = limit
        self._window = window_seconds
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, keys: Sequence[str]) -> int | None:
        """Seconds until an attempt under ``keys`` is allowed again; ``None``: allowed now."""
        now = self._clock.now().timestamp()
        waits = []
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self._limit:
                    waits.append(times[len(times) - self._limit] + self._window - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def record_failure(self, keys: Sequence[str]) -> None:
        now = self._clock.now().timestamp()
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times
