"""``GET /api/events``: the Server-Sent Events stream (see notes/SSE_EVENTS.md).

Filters: ``?worker=ID`` (repeatable) and ``?type=PREFIX``. Resume with the
``Last-Event-ID`` header (or ``?last_event_id=`` for curl and tests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

import anyio
from sse_starlette.sse import EventSourceResponse, SendTimeoutError
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from infrastructure.fanout.stream import StreamRequest, SubscriberCut, event_stream
from infrastructure.http.problems import RequestInvalid, problem
from infrastructure.http.protocol import ABORT
from infrastructure.http.stream_slots import StreamsFull, StreamSlots, TooManyStreams
from infrastructure.http.visibility import teams_seen

if TYPE_CHECKING:
    from infrastructure.http.served import Parts

log = logging.getLogger(__name__)

MAX_WORKER_FILTERS = 100
MAX_TYPE_PREFIX = 100
SHUTDOWN_GRACE_SECONDS = 1.0  # to end streams cleanly; well under uvicorn's own timeout


@requires("viewer")
async def events(request: Request) -> Response | DroppedWhenStuck:
    system: Parts = request.app.state.system
    settings = system.settings
    wanted = stream_request(request)
    if wanted.teams is not None:  # load who is in which team before the first frame
        await system.run_sync(system.read_model.teams.members, wanted.teams)
    slots: StreamSlots = request.app.state.stream_slots
    credential = str(getattr(request.user, "credential", request.user.display_name))
    shutdown = anyio.Event()  # set when the server stops, or the credential is revoked
    try:
        slots.take(credential, shutdown)
    except TooManyStreams as full:
        return problem(request, 429, str(full), kind="too-many-streams", limit=full.limit)
    except StreamsFull as full:
        return problem(request, 503, str(full), kind="streams-full", limit=full.limit)
    return DroppedWhenStuck(
        lambda: slots.give_back(credential, shutdown),
        EventSourceResponse(
            event_stream(system, wanted, shutdown),
            ping=settings.sse_heartbeat_seconds,
            send_timeout=settings.sse_send_timeout_seconds,
            headers={"Cache-Control": "no-store"},
            shutdown_event=shutdown,
            shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
        ),
    )


class DroppedWhenStuck:
    """The stream; when its client stops reading (a send times out, or it falls so far
    behind that it is cut off) the connection is dropped at once, with one WARNING
    line: a graceful close would wait for the client to read what is buffered, and it
    never will. The client resumes with ``Last-Event-ID``."""

    def __init__(self, closed: Callable[[], None], response: EventSourceResponse) -> None:
        self.closed, self.response = closed, response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.response(scope, receive, send)
        except (SendTimeoutError, SubscriberCut) as stuck:
            await self._drop(scope, stuck)
        finally:
            self.closed()

    async def _drop(self, scope: Scope, stuck: Exception) -> None:
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


def stream_request(request: Request) -> StreamRequest:
    """Parse the filters and the resume point; 422 naming the bad parameter."""
    params = request.query_params
    workers = params.getlist("worker")
    if len(workers) > MAX_WORKER_FILTERS:
        raise RequestInvalid.one("worker", f"at most {MAX_WORKER_FILTERS} worker filters")
    prefix = params.get("type") or None
    if prefix is not None and len(prefix) > MAX_TYPE_PREFIX:
        raise RequestInvalid.one("type", f"at most {MAX_TYPE_PREFIX} characters")
    last_id = request.headers.get("last-event-id") or params.get("last_event_id") or None
    return StreamRequest(
        worker_ids=tuple(_worker_id(w) for w in workers) or None,
        type_prefix=prefix,
        last_event_id=last_id,
        teams=teams_seen(request),
        admin="admin" in request.auth.scopes,
    )


def _worker_id(text: str) -> str:
    try:
        return str(UUID(text))
    except ValueError:
        raise RequestInvalid.one("worker", f"not a worker id: {text[:40]!r}") from None


def sse_routes() -> list[Route]:
    return [Route("/api/events", events, methods=["GET"])]
