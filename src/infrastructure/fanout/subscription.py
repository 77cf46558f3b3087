"""One subscriber: its filters, its bounded queue, and how its frames reach the client.

Two ways to write, the same frames:

- **pushed** (the product's server): once the stream has sent its initial state, it
  attaches a :class:`BodyWriter` and the hub's flush wheel writes the queued frames
  straight to the connection, on the loop, with no task switch and no ASGI ``send``
  (a write is then one ``transport.write``: ~6x cheaper than through the stream's
  task and the ASGI send path; see notes/PERFORMANCE.md);
- **pulled** (any other ASGI server, and the unit tests): the stream's task
  :meth:`Subscription.take`\\ s what is queued when woken and sends it.

A client that stops reading: pulled, its ``send`` times out; pushed, the bytes the
process holds for it stay above :data:`HIGH_WATER` for ``send_timeout`` seconds, or
pass :data:`MOST_BUFFERED` while it reads nothing (one big write to a client that is
reading, e.g. a whole fleet's snapshots, gets the timeout to drain). Either way the
stream is cut and the connection dropped (the client resumes with ``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from infrastructure.fanout.envelope import Frame
from infrastructure.read_model.teams import UNKNOWN

HIGH_WATER = 64 * 1024
"""Bytes held for a client above which it is not keeping up (uvicorn's own mark)."""
MOST_BUFFERED = 8 * 1024 * 1024
"""Bytes held for one client beyond which it is cut at once, if it has read nothing
since the previous write."""


class BodyWriter(Protocol):
    """Writes a started streaming response's body straight to its connection."""

    def write(self, data: bytes) -> int | None:
        """Write ``data``; the bytes still held for the client (``None``: it is gone)."""

    def held(self) -> int | None:
        """The bytes still held for the client (``None``: it is gone)."""

    def on_end(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the connection is lost or the server stops (at once
        if that already happened)."""


def no_team(_: str) -> object:
    return UNKNOWN


class Subscription:
    """One subscriber: its filters and its bounded queue of frames."""

    __slots__ = (  # no per-instance dict: ~1 KB less for each of 10,000 idle streams
        "_pending",
        "_ready",
        "_send_timeout",
        "_team_of",
        "_waiter",
        "_writer",
        "admin",
        "backlog_since",
        "capacity",
        "closed",
        "floor",
        "held_before",
        "last_write",
        "on_cut",
        "opened",
        "overflowed",
        "slot",
        "stuck",
        "teams",
        "type_prefix",
        "wants_all",
        "worker_ids",
    )  # fmt: skip

    def __init__(
        self,
        capacity: int,
        worker_ids: frozenset[str] | None,
        type_prefix: str | None,
        slot: int = 0,
        teams: frozenset[str] | None = None,
        team_of: Callable[[str], object] = no_team,
        admin: bool = False,
    ) -> None:
        self.capacity = capacity
        self.admin = admin
        self.slot = slot
        self.last_write = float("-inf")
        self.opened = float("-inf")
        """When the stream opened (loop time): no heartbeat is due for a while after."""
        self.worker_ids = worker_ids
        self.type_prefix = type_prefix
        self.teams = teams
        """Only frames about workers of these teams (``None``: any worker)."""
        self._team_of = team_of
        self.wants_all = worker_ids is None and type_prefix is None and teams is None
        self.floor = -1
        """Frames at or below this log position were sent with the initial state."""
        self.closed = False
        self.overflowed = False
        self.stuck = False
        """Pushed: the client stopped reading (its bytes piled up)."""
        # A list and a future made only while waiting, not a deque and an asyncio.Event:
        # ~1.5 KB less per idle stream (10,000 of them: 15 MB).
        self._pending: list[Frame] = []
        self._ready = False
        self._waiter: asyncio.Future[None] | None = None
        self._writer: BodyWriter | None = None
        self.on_cut: Callable[[], object] = lambda: None
        """Called once if the subscriber is cut off (overflowed, or stuck)."""
        self._send_timeout = 0.0
        self.backlog_since: float | None = None
        self.held_before = 0
        """Bytes held for the client just after the previous write."""

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def wants_type(self, frame_type: str) -> bool:
        return self.type_prefix is None or frame_type.startswith(self.type_prefix)

    def wants(self, frame_type: str, worker_id: str | None) -> bool:
        if not self.wants_type(frame_type):
            return False
        return self.worker_ids is None or worker_id in self.worker_ids

    def sees(self, frame: Frame) -> bool:
        """Whether the frame is about a worker (or a setting) this subscriber may see."""
        if frame.admins_only and not self.admin:
            return False
        if self.teams is None:
            return True
        if frame.worker_id is None:  # a setting's change says who sees it
            return frame.teams is None or any(team in self.teams for team in frame.teams)
        about = frame.teams if frame.teams is not None else (self._team_of(frame.worker_id),)
        return any(team in self.teams for team in about)

    def takes(self, frame: Frame) -> bool:
        return self.wants(frame.type, frame.worker_id) and self.sees(frame)

    def offer(self, frames: Sequence[Frame]) -> bool:
        """Queue ``frames``; if they do not fit, cut the subscriber off and say so."""
        if self.closed:
            return False
        if len(self._pending) + len(frames) > self.capacity:
            self.overflowed = True
            self.close()
            self.on_cut()
            return False
        self._pending.extend(frames)
        return True

    def wake(self) -> None:
        """Its turn to write what is queued: now (pushed), or by its stream's task."""
        if self._writer is not None:
            self.flush()
        else:
            self._signal()

    def close(self) -> None:
        """End the stream: frames still queued are dropped (resume replays them)."""
        self.closed = True
        self._pending = []
        self._signal()

    def _signal(self) -> None:
        self._ready = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        """Until signalled (at once if it was since the last wait)."""
        if not self._ready:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        self._ready = False

    # -- pulled ----------------------------------------------------------------------

    async def take(self) -> list[Frame] | None:
        """Everything queued once woken, at least one frame; ``None`` once the stream
        must end."""
        while not self.closed:
            await self._wait()
            if self._pending and not self.closed:
                frames, self._pending = self._pending, []
                self.last_write = asyncio.get_running_loop().time()
                return frames
        return None

    def fresh(self, frames: Sequence[Frame]) -> bytes:
        """The bytes of ``frames`` not already sent with the initial state, joined."""
        floor = self.floor
        data = [f.data for f in frames if f.position is None or f.position > floor]
        self.floor = max([floor, *(f.position for f in frames if f.position is not None)])
        return b"".join(data)

    # -- pushed ----------------------------------------------------------------------

    def attach(self, writer: BodyWriter, send_timeout: float) -> None:
        """From now on the wheel writes to ``writer``; what is queued goes out now."""
        self._writer, self._send_timeout = writer, send_timeout
        writer.on_end(self.close)
        if self._pending:
            self.flush()
        else:  # the initial state was just written: no heartbeat is due yet
            self.last_write = asyncio.get_running_loop().time()

    async def ended(self) -> None:
        """Until the stream must end (server stopping, client gone, cut off)."""
        while not self.closed:
            await self._wait()

    def flush(self) -> None:
        """Write what is queued to the connection, now. On the loop."""
        writer = self._writer
        if writer is None or self.closed or not self._pending:
            return
        frames, self._pending = self._pending, []
        now = asyncio.get_running_loop().time()
        self.last_write = now
        data = self.fresh(frames)
        if not data:
            return
        held = writer.write(data)
        if held is None:  # the connection is gone
            self.close()
            return
        self.check_backlog(held, now, written=len(data))

    def check_backlog(self, held: int, now: float, written: int | None = None) -> None:
        """Cut the subscriber if its client has stopped reading: ``held`` bytes are
        waiting for it, ``written`` of them just now (``None``: a check between writes,
        which only looks at how long the backlog has lasted)."""
        # Behind since the last write and has read nothing of it: not reading at all.
        behind = self.held_before > HIGH_WATER
        reading = written is None or not behind or held < self.held_before + written
        if written is not None:
            self.held_before = held
        if held <= HIGH_WATER:
            self.backlog_since = None
            return
        if self.backlog_since is None:
            self.backlog_since = now
        # At once only for a client that is not reading: one big write (a whole fleet's
        # snapshots) to a client that was keeping up gets the timeout to drain it.
        too_much = held > MOST_BUFFERED and not reading
        if too_much or now - self.backlog_since >= self._send_timeout:
            self.stuck = True
            self.close()
            self.on_cut()

    def held(self) -> int | None:
        """Bytes the process holds for the client (pushed; ``None`` when pulled)."""
        writer = self._writer
        return None if writer is None else writer.held()


class FlushWheel:
    """When each subscriber writes: at once when it is quiet, else in its own slot.

    A write costs the same (syscall, bookkeeping) for one frame or fifty, so a busy
    stream is written at most once per ``interval``, with everything queued since.
    Subscribers are spread over ``SLOTS`` slots of the interval, so a thousand busy
    streams write a tenth at a time, every tenth of the interval, instead of all at
    once: the event loop stays responsive and no frame waits longer than the interval.
    A stream that has not written for an interval (a quiet one) is woken at once; when
    it turns busy, its next write comes at its slot, then one per interval.

    With ``writes_per_second``, the interval adapts to the number of subscribers
    (:meth:`resize`): ``subscribers / writes_per_second``, at most ``interval``. The
    writes of all streams together then stay within that budget (CPU), while a few
    streams are written almost at once and a thousand within a few tens of ms.
    """

    SLOTS = 10

    def __init__(self, interval: float, writes_per_second: float | None = None) -> None:
        self.ceiling = interval
        self.writes_per_second = writes_per_second
        self.interval = interval if writes_per_second is None else 0.0
        self._buckets: list[set[Subscription]] = [set() for _ in range(self.SLOTS)]
        self._turn = 0
        self._timer: asyncio.TimerHandle | None = None
        self._next_at = 0.0
        self._assigned = 0

    def resize(self, subscribers: int) -> None:
        """The number of subscribers changed: adapt the interval (if adaptive)."""
        if self.writes_per_second:
            self.interval = min(self.ceiling, subscribers / self.writes_per_second)

    def next_slot(self) -> int:
        self._assigned += 1
        return self._assigned % self.SLOTS

    def due(self, subscription: Subscription) -> None:
        """``subscription`` has frames queued: wake it now or in its slot. On the loop."""
        loop = asyncio.get_running_loop()
        if self.interval <= 0 or loop.time() - subscription.last_write >= self.interval:
            subscription.wake()
            return
        self._buckets[subscription.slot].add(subscription)
        if self._timer is None:
            self._next_at = loop.time() + self.interval / self.SLOTS
            self._timer = loop.call_at(self._next_at, self._tick)

    def _tick(self) -> None:
        bucket = self._buckets[self._turn]
        self._turn = (self._turn + 1) % self.SLOTS
        for subscription in bucket:
            subscription.wake()
        bucket.clear()
        if any(self._buckets):
            # The next tick a slot after this one was due, not after this one's writes
            # (a thousand of them take ~10 ms): the wheel turns once per interval.
            loop = asyncio.get_running_loop()
            self._next_at = max(self._next_at + self.interval / self.SLOTS, loop.time())
            self._timer = loop.call_at(self._next_at, self._tick)
        else:
            self._timer = None

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for bucket in self._buckets:
            bucket.clear()
