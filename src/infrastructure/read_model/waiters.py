"""Waiting for the read model to reach a log position, from threads and from asyncio.

The projection thread calls :meth:`PositionWaiters.advance` after each commit; async
waiters are resolved on their own loop with ``call_soon_threadsafe`` (no polling), and
blocking waiters through a condition variable.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass


@dataclass(frozen=True, eq=False)
class _Waiter:
    position: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # it may have timed out meanwhile
        future.set_result(None)


class PositionWaiters:
    """The highest committed position, and whoever waits for a higher one."""

    def __init__(self, reached: int = 0) -> None:
        self._reached = reached
        self._changed = threading.Condition()
        self._waiting: list[_Waiter] = []

    @property
    def reached(self) -> int:
        return self._reached

    @property
    def waiting(self) -> int:
        """How many async waiters are registered."""
        with self._changed:
            return len(self._waiting)

    def advance(self, position: int) -> None:
        """Record a committed position and release the waiters it satisfies."""
        with self._changed:
            if position <= self._reached:
                return
            self._reached = position
            self._changed.notify_all()
            ready = [w for w in self._waiting if w.position <= position]
            self._waiting = [w for w in self._waiting if w.position > position]
        for waiter in ready:
            # A closed loop raises RuntimeError: nobody waits there any more.
            with contextlib.suppress(RuntimeError):
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future)

    async def wait(self, position: int, timeout: float) -> bool:
        """True once ``position`` is reached, False after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        with self._changed:
            if self._reached >= position:
                return True
            waiter = _Waiter(position, loop, loop.create_future())
            self._waiting.append(waiter)
        try:
            await asyncio.wait_for(waiter.future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._changed:
                if waiter in self._waiting:
                    self._waiting.remove(waiter)

    def wait_blocking(self, position: int, timeout: float) -> bool:
        """Like :meth:`wait`, for threads."""
        with self._changed:
            return self._changed.wait_for(lambda: self._reached >= position, timeout)
