"""One subscriber's stream: initial state or replay, then live frames, without gap or
duplicate.

The subscription is registered *before* the initial state (or the log) is read, so
nothing falls in between; frames it queued meanwhile are dropped if their position
is not beyond what was already sent (dedupe by position).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from application.notifications import to_notification
from infrastructure.fanout.envelope import (
    HELLO,
    RESYNC,
    SNAPSHOT,
    control_frame,
    event_frame,
    retry_hint,
    snapshot_batches_of,
    snapshot_frames_of,
)
from infrastructure.fanout.subscription import Subscription

REPLAY_PAGE = 500
PIECE = 256 * 1024
"""The initial state is sent in pieces of this size: each one's send waits until the
connection has room (flow control), so a big fleet's state is not all held by the
server at once for a client that reads it slowly (18 MB for 10,000 workers)."""


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """What a subscriber asked for: filters and where to resume from."""

    worker_ids: tuple[str, ...] | None = None
    type_prefix: str | None = None
    last_event_id: str | None = None
    teams: frozenset[str] | None = None
    """Only workers of these teams (``None``: any): what the subscriber may see."""
    admin: bool = False
    """Whether the subscriber is an admin (who alone hears of webhook subscriptions)."""
    batched: bool = False
    """The initial state as ``worker.snapshots`` frames (``?snapshots=batched``)."""

    def wants_type(self, frame_type: str) -> bool:
        return self.type_prefix is None or frame_type.startswith(self.type_prefix)

    def wants(self, frame_type: str, worker_id: str | None) -> bool:
        return self.wants_type(frame_type) and (
            self.worker_ids is None or worker_id in self.worker_ids
        )


async def catch_up(
    system: Any, request: StreamRequest, subscription: Subscription
) -> AsyncIterator[bytes]:
    """The retry hint, then the initial state (or the replay, or a resync): the bytes
    to send before live frames. ``subscription`` (registered first) learns the position
    they reach, so live frames at or below it are not sent twice."""
    yield retry_hint(system.settings.sse_retry_ms)
    async for chunk, position in _catch_up(system, request):
        subscription.floor = position
        for start in range(0, len(chunk), PIECE):
            yield chunk[start : start + PIECE]


async def event_stream(system: Any, request: StreamRequest) -> AsyncIterator[bytes]:
    """The bytes of the whole stream, pulled (:mod:`infrastructure.http.sse_response`
    pushes live frames instead where the server allows); unsubscribes at the end."""
    hub = system.hub
    subscription = hub.subscribe(
        request.worker_ids, request.type_prefix, teams=request.teams, admin=request.admin
    )
    try:
        async for chunk in catch_up(system, request, subscription):
            yield chunk
        async for chunk in live(subscription):
            yield chunk
    finally:
        hub.unsubscribe(subscription)


async def _catch_up(system: Any, request: StreamRequest) -> AsyncIterator[tuple[bytes, int]]:
    """Initial state, replay or resync; each chunk with the position it brings us to."""
    if request.last_event_id is None:
        yield await system.run_sync(_initial_state, system, request, HELLO, {})
        return
    end = await system.run_sync(system.store.max_position)
    start = _parse_id(request.last_event_id)
    if start is None or start > end:
        yield await system.run_sync(_resync, system, request, "unknown_id")
        return
    if end - start > system.settings.sse_max_replay:
        yield await system.run_sync(_resync, system, request, "gap_too_large")
        return
    after, done = start, False
    while not done:
        chunk, after, done = await system.run_sync(_replay_page, system, request, after)
        if chunk:
            yield chunk, after
    yield b"", after


class SubscriberCut(Exception):
    """The subscriber fell too far behind and was cut off: its client must reconnect
    and resume (``Last-Event-ID``); the connection is dropped, not drained."""


async def live(subscription: Subscription) -> AsyncIterator[bytes]:
    """Queued frames not sent with the initial state, all that are queued in one write
    each time (pulled)."""
    while (frames := await subscription.take()) is not None:
        fresh = subscription.fresh(frames)
        if fresh:
            yield fresh
    if subscription.overflowed:
        raise SubscriberCut()


# -- run in the thread pool (they call the synchronous store and read model) ----


def _initial_state(
    system: Any, request: StreamRequest, kind: str, extra: dict[str, Any]
) -> tuple[bytes, int]:
    ids = None if request.worker_ids is None else list(request.worker_ids)
    teams = request.teams
    found, position = system.read_model.snapshot_documents(ids, teams=teams is not None)
    documents = [(i, text) for i, team, text in found if teams is None or team in teams]
    if not request.wants_type(SNAPSHOT):
        documents = []
    now = system.clock.now()
    data = {**extra, "position": position, "workers": len(documents)}
    if kind == HELLO:
        data |= {"worker_filter": ids, "type_filter": request.type_prefix}
    encode = snapshot_batches_of if request.batched else snapshot_frames_of
    frames = encode(documents, position, now)
    return control_frame(kind, data, now) + frames, position


def _resync(system: Any, request: StreamRequest, reason: str) -> tuple[bytes, int]:
    extra = {"reason": reason, "last_event_id": request.last_event_id}
    return _initial_state(system, request, RESYNC, extra)


def _replay_page(system: Any, request: StreamRequest, after: int) -> tuple[bytes, int, bool]:
    """Stored events after ``after`` (one page) encoded like live frames; done when short."""
    notifications: Sequence[Any] = system.store.read_log(after, REPLAY_PAGE)
    chunks = []
    for notification in notifications:
        note = to_notification(system.store.to_domain_event(notification))
        if request.wants(note.type, note.worker_id) and _sees(system, request, note):
            chunks.append(event_frame(note, notification.id).data)
    last = notifications[-1].id if notifications else after
    return b"".join(chunks), last, len(notifications) < REPLAY_PAGE


def _sees(system: Any, request: StreamRequest, note: Any) -> bool:
    """Whether a replayed event is about a worker the subscriber sees: one of its teams
    now, or, for a move, before it too (so a team hears its worker leave)."""
    if request.teams is None:
        return True
    about = {system.read_model.teams.team_of(note.worker_id)}
    if note.type == TEAM_CHANGED:
        about |= {note.payload.get("team"), note.payload.get("previous")}
    return any(team in request.teams for team in about)


TEAM_CHANGED = "worker.team.changed"


def _parse_id(text: str) -> int | None:
    text = text.strip()
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)
