"""Retries with exponential backoff and jitter, for errors worth another try."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from application.ports_errors import CloudTransient, CmlError, CmlUnreachable

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[object]]
Random = Callable[[], float]


class NotYet(Exception):
    """The real state does not allow the call yet (e.g. an instance still stopping)."""


class GaveUp(Exception):
    """Every attempt failed with a transient error; ``last`` is the last one."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        self.attempts = attempts
        self.last = last
        super().__init__(f"gave up after {attempts} attempts: {describe(last)}")


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries; before try ``n + 1`` wait about ``base * 2**n`` s (at most
    ``cap``), half of it fixed and half random, so retries of many operations spread."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 30.0

    def delay(self, attempt: int, rand: float) -> float:
        ceiling = min(self.cap, self.base * float(1 << min(attempt, 30)))
        return ceiling / 2 + rand * ceiling / 2


def is_transient(error: BaseException) -> bool:
    """Worth retrying: throttling, server errors, timeouts, no answer, a state in transit."""
    if isinstance(error, CloudTransient | CmlUnreachable | NotYet):
        return True
    if isinstance(error, CmlError):
        return error.status is not None and (error.status >= 500 or error.status == 429)
    return False


def describe(error: BaseException) -> str:
    """A short reason for a failure event (CML errors without the host prefix)."""
    if isinstance(error, CmlError):
        return error.reason
    return str(error) or type(error).__name__


async def retrying(
    attempt: Callable[[int], Awaitable[T]], policy: RetryPolicy, sleep: Sleep, rand: Random
) -> T:
    """Run ``attempt(n)`` until it succeeds; re-raise a permanent error at once, raise
    :class:`GaveUp` when every attempt failed with a transient one. Each attempt is
    told its number so it can re-check the real state before acting again."""
    for n in range(policy.attempts):
        try:
            return await attempt(n)
        except Exception as error:
            if not is_transient(error):
                raise
            if n + 1 == policy.attempts:
                raise GaveUp(policy.attempts, error) from error
            await sleep(policy.delay(n, rand()))
    raise AssertionError("unreachable")  # pragma: no cover
