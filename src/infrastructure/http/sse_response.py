"""The ASGI response of ``GET /api/events``: one subscriber's stream.

It sends the headers and the initial state (or the replay) through the ASGI ``send``,
then hands the connection's :class:`~infrastructure.http.protocol.ConnectionWriter` to
its subscription, whose frames the hub's flush wheel then writes directly (pushed).
Under a server without that writer it sends them itself (pulled). Heartbeats are the
hub's (one timer for every stream, not a task per stream).

A client that stops reading (a send times out, its bytes pile up, or it falls so far
behind that it is cut off) has its connection dropped at once, with one WARNING line:
a graceful close would wait for the client to read what is buffered, and it never
will. The client resumes with ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from infrastructure.fanout.stream import StreamRequest, SubscriberCut, catch_up, live
from infrastructure.fanout.subscription import Subscription
from infrastructure.http.protocol import ABORT, WRITER

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 1.0  # to end streams cleanly; well under uvicorn's own timeout
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # a proxy in front must not buffer the stream
]


class SendTimedOut(Exception):
    """The client stopped reading: a send did not finish in time, or its bytes piled up."""


class StreamEnding:
    """Ends a stream from outside (its credential revoked): :meth:`set` closes it."""

    __slots__ = ("_subscription", "is_set")

    def __init__(self) -> None:
        self.is_set = False
        self._subscription: Subscription | None = None

    def set(self) -> None:
        self.is_set = True
        if self._subscription is not None:
            self._subscription.close()

    def watch(self, subscription: Subscription) -> None:
        self._subscription = subscription
        if self.is_set:
            subscription.close()


class EventStreamResponse:
    """One subscriber's stream; ``closed`` is called when it ends, however it ends."""

    __slots__ = ("closed", "ending", "send_timeout", "system", "wanted")

    def __init__(
        self,
        system: Any,
        wanted: StreamRequest,
        ending: StreamEnding,
        closed: Callable[[], None],
    ) -> None:
        self.system, self.wanted, self.ending, self.closed = system, wanted, ending, closed
        self.send_timeout = system.settings.sse_send_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub, wanted = self.system.hub, self.wanted
        subscription = hub.subscribe(
            wanted.worker_ids, wanted.type_prefix, teams=wanted.teams, admin=wanted.admin
        )
        self.ending.watch(subscription)
        # Without our protocol's writer, nothing else tells the stream its client left.
        watcher = None
        if WRITER not in scope.get("extensions", {}):
            watcher = asyncio.create_task(_close_on_disconnect(receive, subscription))
        try:
            await self._stream(scope, send, subscription)
        except (SendTimedOut, SubscriberCut) as stuck:
            await _drop(scope, stuck)
        finally:
            hub.unsubscribe(subscription)
            self.closed()
            if watcher is not None:
                watcher.cancel()

    async def _stream(self, scope: Scope, send: Send, subscription: Subscription) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await self._catch_up(send, subscription)
        writer = scope.get("extensions", {}).get(WRITER)
        if writer is not None:
            writer.on_end(subscription.close)  # the client went away, the server stops
        if writer is not None and writer.usable():
            subscription.attach(writer, self.send_timeout)
            await subscription.ended()
        else:
            async for chunk in live(subscription):
                await self._send(send, _chunk(chunk))
        if subscription.stuck:
            raise SendTimedOut()
        if subscription.overflowed:
            raise SubscriberCut()
        try:  # end the response cleanly: the client reconnects with its Last-Event-ID
            async with asyncio.timeout(SHUTDOWN_GRACE_SECONDS):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            raise SendTimedOut() from None

    async def _catch_up(self, send: Send, subscription: Subscription) -> None:
        """The initial state (or the replay). Its own frame: the chunks are not kept
        alive for as long as the stream lasts (35 KB for a fleet of 20 workers)."""
        async for chunk in catch_up(self.system, self.wanted, subscription):
            await self._send(send, _chunk(chunk))

    async def _send(self, send: Send, message: Message) -> None:
        try:
            async with asyncio.timeout(self.send_timeout):
                await send(message)
        except TimeoutError:
            raise SendTimedOut() from None


async def _close_on_disconnect(receive: Receive, subscription: Subscription) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    subscription.close()


def _chunk(data: bytes) -> Message:
    return {"type": "http.response.body", "body": data, "more_body": True}


async def _drop(scope: Scope, stuck: Exception) -> None:
    why = "fell too far behind" if isinstance(stuck, SubscriberCut) else "timed out"
    client = scope.get("client") or ("?", 0)
    log.warning(
        "sse: the client at %s:%s stopped reading (%s); its connection is dropped",
        *client[:2],
        why,
    )
    abort = scope.get("extensions", {}).get(ABORT)
    if abort is not None:
        abort()
        await asyncio.sleep(0)  # let the server see the connection go
        await asyncio.sleep(0)
