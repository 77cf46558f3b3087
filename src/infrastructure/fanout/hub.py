"""The hub: in-process fan-out of encoded frames to SSE subscribers.

Fed by the read model's listener, which the projection thread calls *after* it has
committed a batch, so a client that receives a frame and then queries sees data at
least as new. Each frame is encoded once, whatever the number of subscribers; every
subscriber has a bounded queue, and one whose queue would overflow is cut off (its
stream ends and it resumes by ``Last-Event-ID``) instead of slowing anyone down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from application.changes import SettingsChange
from application.dto import CMLWorkerDto
from application.labs import LabsChanged
from application.notifications import to_notification
from application.ports import Clock
from domain.worker import CMLWorker
from infrastructure.fanout.envelope import (
    SNAPSHOT,
    Frame,
    change_frame,
    event_frame,
    labs_frame,
    snapshot_frame,
)
from infrastructure.fanout.subscription import FlushWheel, Subscription, no_team

log = logging.getLogger(__name__)


def frame_of(projected: Any) -> Frame:
    """The frame of a ``ProjectedEvent`` (position + event), via the catalogue; about
    the worker's team after the event (a move: the team before too)."""
    frame = event_frame(to_notification(projected.event), projected.position)
    teams: set[str | None] = {projected.team}
    if isinstance(projected.event, CMLWorker.TeamChanged):
        teams.add(projected.event.previous)
    return replace(frame, teams=frozenset(teams))


class Hub:
    """Fan-out of notifications and snapshots to the subscribers of this process."""

    def __init__(
        self,
        read_model: Any,
        clock: Clock,
        queue_size: int,
        to_frame: Callable[[Any], Frame] = frame_of,
        flush_interval: float = 0.0,
        heartbeat: float = 15.0,
        writes_per_second: float | None = None,
    ) -> None:
        self._read_model = read_model
        self._clock = clock
        self._queue_size = queue_size
        self._wheel = FlushWheel(flush_interval, writes_per_second)
        self._heartbeat = heartbeat
        self._sweeper: asyncio.TimerHandle | None = None
        self._to_frame = to_frame
        self._subscribers: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_listening: Callable[[], object] | None = None
        self._labs_in_order: deque[tuple[asyncio.Future[list[Frame]], asyncio.Future[None]]]
        self._labs_in_order = deque()
        self.cut_off = 0

    @property
    def flush_interval(self) -> float:
        """How long a busy stream waits between writes now (seconds)."""
        return self._wheel.interval

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def start(self) -> None:
        """Capture the running loop and listen to the read model. Call on the loop."""
        self._loop = asyncio.get_running_loop()
        if self._read_model is not None and self._stop_listening is None:
            self._stop_listening = self._read_model.add_listener(self.on_batch)
        if self._sweeper is None and self._heartbeat > 0:
            self._sweeper = self._loop.call_later(self._sweep_every, self._sweep)

    def stop(self) -> None:
        """Stop listening and end every stream now (graceful shutdown)."""
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        self._loop = None
        self._wheel.stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for subscription in self._subscribers:
            subscription.close()
        self._subscribers.clear()

    def subscribe(
        self,
        worker_ids: Iterable[str] | None = None,
        type_prefix: str | None = None,
        capacity: int | None = None,
        teams: frozenset[str] | None = None,
        admin: bool = False,
    ) -> Subscription:
        ids = None if worker_ids is None else frozenset(worker_ids)
        index = getattr(self._read_model, "teams", None)
        subscription = Subscription(
            capacity or self._queue_size,
            ids,
            type_prefix,
            self._wheel.next_slot(),
            teams,
            no_team if index is None else index.team_of,
            admin,
        )
        subscription.on_cut = self._count_cut  # it says so once, as it drops the connection
        if self._loop is None:  # stopped (or never started): nothing will ever come
            subscription.close()
        else:
            subscription.opened = self._loop.time()
            self._subscribers.add(subscription)
            self._wheel.resize(len(self._subscribers))
        return subscription

    def _count_cut(self) -> None:
        self.cut_off += 1

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        self._wheel.resize(len(self._subscribers))
        subscription.close()

    # -- heartbeats and stalled clients -------------------------------------------

    @property
    def _sweep_every(self) -> float:
        return min(1.0, self._heartbeat / 2)

    def _sweep(self) -> None:
        """Every second or so, on the loop: a heartbeat comment for each stream that
        wrote nothing for ``heartbeat`` seconds (it keeps proxies from closing it), and
        a look at pushed streams whose client had stopped reading."""
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        for subscription in tuple(self._subscribers):
            if now - max(subscription.last_write, subscription.opened) >= self._heartbeat:
                subscription.last_write = now  # one ping per heartbeat, even while queued
                self._deliver(subscription, [PING])
            elif subscription.backlog_since is not None:
                held = subscription.held()
                if held is None:
                    subscription.close()
                else:
                    subscription.check_backlog(held, now)
            if subscription.closed:
                self._subscribers.discard(subscription)
        self._sweeper = loop.call_later(self._sweep_every, self._sweep)

    # -- feeding -----------------------------------------------------------------

    def on_batch(self, batch: Sequence[Any]) -> None:
        """Listener, called from the projection thread after a committed batch.

        Frames are encoded here, off the event loop, then handed to the loop. With no
        subscriber nothing is encoded: whoever subscribes later reads the state (or
        the log) after this batch was committed, so it still sees these events.
        """
        loop = self._loop
        if loop is None or not self._subscribers:
            return
        frames = [self._to_frame(projected) for projected in batch]
        try:
            loop.call_soon_threadsafe(self.publish, frames)
        except RuntimeError:  # the loop closed while shutting down
            log.debug("hub: loop closed, %d frames not delivered", len(frames))

    def publish(self, frames: Sequence[Frame]) -> None:
        """Queue each frame for every subscriber that wants it. On the loop.

        Most subscribers (the dashboard) want everything: they share ``frames`` as is.
        """
        for subscription in tuple(self._subscribers):
            if subscription.wants_all:
                self._deliver(subscription, frames)
                continue
            chosen = [f for f in frames if subscription.takes(f)]
            if chosen:
                self._deliver(subscription, chosen)

    def announce(self, change: SettingsChange) -> None:
        """Send a settings change (``schedule.changed`` …) to the subscribers that may
        see it. On the loop."""
        if self._loop is None:
            return
        frame = change_frame(change, self._clock.now())
        for subscription in tuple(self._subscribers):
            if subscription.takes(frame):
                self._deliver(subscription, [frame])

    def broadcast_snapshots(self, dtos: Sequence[CMLWorkerDto], position: int) -> None:
        """Send a full ``worker.snapshot`` of each DTO (metrics job). Call on the loop.

        The frames are encoded in a worker thread (a whole fleet would block the loop
        for a while) and queued once encoded. A subscriber to the whole fleet gets them
        as one joined frame (one queue slot, one write); one limited to some workers
        gets just theirs.
        """
        loop = self._loop
        if loop is None or not dtos or not any(s.wants_type(SNAPSHOT) for s in self._subscribers):
            return
        now = self._clock.now()
        encoding = loop.run_in_executor(None, _snapshot_batch, tuple(dtos), position, now)
        encoding.add_done_callback(self._send_snapshots)

    def broadcast_labs(self, changes: Sequence[LabsChanged]) -> asyncio.Future[None] | None:
        """Send ``worker.labs.changed`` for each change (metrics job). Call on the loop."""
        return self.publish_labs([change.payload() for change in changes])

    def publish_labs(self, payloads: Sequence[Mapping[str, Any]]) -> asyncio.Future[None] | None:
        """Encoded in a worker thread (a first cycle changes every worker's labs), then
        queued in the order given; the answer is done once they are (``None``: nobody to
        send to). Call on the loop."""
        loop = self._loop
        if loop is None or not payloads or not self._subscribers:
            return None
        encoding = loop.run_in_executor(None, _labs_frames, tuple(payloads))
        queued: asyncio.Future[None] = loop.create_future()
        self._labs_in_order.append((encoding, queued))
        encoding.add_done_callback(self._send_labs)
        return queued

    def _send_labs(self, _: object) -> None:
        """Queue every encoded batch whose turn it is (the earlier ones first)."""
        waiting = self._labs_in_order
        while waiting and waiting[0][0].done():
            encoding, queued = waiting.popleft()
            if not encoding.cancelled() and encoding.exception() is None:
                self.publish(encoding.result())
            queued.set_result(None)

    def _send_snapshots(self, encoding: asyncio.Future[tuple[list[Frame], Frame]]) -> None:
        if encoding.cancelled():
            return
        frames, joined = encoding.result()
        for subscription in [s for s in self._subscribers if s.wants_type(SNAPSHOT)]:
            if subscription.worker_ids is None and subscription.teams is None:
                self._deliver(subscription, [joined])
                continue
            mine = [f for f in frames if subscription.takes(f)]
            if mine:
                self._deliver(subscription, mine)

    def _deliver(self, subscription: Subscription, frames: Sequence[Frame]) -> None:
        was_waiting = subscription.has_pending  # then it is already due
        if not subscription.offer(frames):
            self._subscribers.discard(subscription)
        elif not was_waiting:
            self._wheel.due(subscription)


PING = Frame("ping", None, None, b": ping\n\n")
"""A heartbeat: an SSE comment, which clients ignore."""


def _labs_frames(payloads: Sequence[Mapping[str, Any]]) -> list[Frame]:
    return [labs_frame(payload) for payload in payloads]


def _snapshot_batch(
    dtos: Sequence[CMLWorkerDto], position: int, now: datetime
) -> tuple[list[Frame], Frame]:
    """Each DTO's snapshot frame, and all of them joined (for whole-fleet subscribers)."""
    frames = [snapshot_frame(dto, position, now) for dto in dtos]
    return frames, Frame(SNAPSHOT, None, None, b"".join(f.data for f in frames))
