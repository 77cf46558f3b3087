"""A circuit breaker per worker, so a worker that does not answer costs one fast
failure per call instead of a timeout per call.

closed --(``threshold`` failures in a row)--> open --(``cooldown`` passed)--> half-open:
one trial call goes through; its success closes the circuit, its failure opens it
again for another cool-down. Time comes from the injected clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from application.ports import Clock


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Counts failures in a row; refuses calls while open. Used on one event loop."""

    def __init__(self, clock: Clock, *, threshold: int, cooldown: timedelta) -> None:
        self.clock, self.threshold, self.cooldown = clock, threshold, cooldown
        self.failures = 0
        self.last_failure = ""
        self._opened_at: datetime | None = None
        self._trial = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self.clock.now() - self._opened_at < self.cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def allow(self) -> bool:
        """May a call go out now? In half-open, only one (the trial) at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._trial:
            return False
        self._trial = True
        return True

    def succeeded(self) -> None:
        self.failures, self._opened_at, self._trial = 0, None, False

    def failed(self, reason: str) -> None:
        self.failures += 1
        self.last_failure = reason
        if self._trial or self.failures >= self.threshold:
            self._opened_at, self._trial = self.clock.now(), False

    def release_trial(self) -> None:
        """The trial call ended without an outcome (it was cancelled): allow another."""
        self._trial = False
