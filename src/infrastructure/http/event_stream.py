"""``GET /api/events``: the Server-Sent Events stream (see notes/SSE_EVENTS.md).

Filters: ``?worker=ID`` (repeatable) and ``?type=PREFIX``. Resume with the
``Last-Event-ID`` header (or ``?last_event_id=`` for curl and tests).
``?snapshots=batched``: the initial state in ``worker.snapshots`` frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infrastructure.fanout.stream import StreamRequest
from infrastructure.http.problems import RequestInvalid, problem
from infrastructure.http.sse_response import EventStreamResponse, StreamEnding
from infrastructure.http.stream_slots import StreamsFull, StreamSlots, TooManyStreams
from infrastructure.http.visibility import teams_seen

if TYPE_CHECKING:
    from infrastructure.http.served import Parts

MAX_WORKER_FILTERS = 100
MAX_TYPE_PREFIX = 100
SNAPSHOT_MODES = ("each", "batched")


@requires("viewer")
async def events(request: Request) -> Response | EventStreamResponse:
    system: Parts = request.app.state.system
    wanted = stream_request(request)
    if wanted.teams is not None:  # load who is in which team before the first frame
        await system.run_sync(system.read_model.teams.members, wanted.teams)
    slots: StreamSlots = request.app.state.stream_slots
    credential = str(getattr(request.user, "credential", request.user.display_name))
    ending = StreamEnding()  # set when the credential is revoked
    try:
        slots.take(credential, ending)
    except TooManyStreams as full:
        return problem(request, 429, str(full), kind="too-many-streams", limit=full.limit)
    except StreamsFull as full:
        return problem(request, 503, str(full), kind="streams-full", limit=full.limit)
    return EventStreamResponse(system, wanted, ending, lambda: slots.give_back(credential, ending))


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
    mode = params.get("snapshots", "each")
    if mode not in SNAPSHOT_MODES:
        raise RequestInvalid.one(
            "snapshots", f"one of {', '.join(SNAPSHOT_MODES)}, not {mode[:40]!r}"
        )
    return StreamRequest(
        worker_ids=tuple(_worker_id(w) for w in workers) or None,
        type_prefix=prefix,
        last_event_id=last_id,
        teams=teams_seen(request),
        admin="admin" in request.auth.scopes,
        batched=mode == "batched",
    )


def _worker_id(text: str) -> str:
    try:
        return str(UUID(text))
    except ValueError:
        raise RequestInvalid.one("worker", f"not a worker id: {text[:40]!r}") from None


def sse_routes() -> list[Route]:
    return [Route("/api/events", events, methods=["GET"])]
