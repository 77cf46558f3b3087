"""What every endpoint shares: parse the request, run a handler off the loop, answer.

Commands go through :func:`run_command` (on an existing worker, saved together with
others arriving at the same time) or :func:`run_creation`; both apply ``Idempotency-Key``
on POST.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import anyio
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from application.commands.common import CommandResult
from application.contracts.responses import CommandAccepted
from application.errors import PositionNotInLog, ReadModelBehind, WorkerNotFound
from application.ports import WorkerStore
from infrastructure.http.idempotency import ClaimState, StoredAnswer, request_fingerprint
from infrastructure.http.problems import (
    KNOWN_ERRORS,
    RETRY_SOON,
    RequestInvalid,
    UnsupportedMediaType,
    problem,
    problem_for,
)
from infrastructure.http.served import Acting, Administering, Guarding, Observed, Parts, Reading

M = TypeVar("M", bound=BaseModel)
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY = re.compile(IDEMPOTENCY_PATTERN)


def _system(request: Request) -> Any:
    return request.app.state.system


# The system as each kind of endpoint may use it: its narrow façade (``served``).
reading: Callable[[Request], Reading] = _system  # queries, history, health
acting: Callable[[Request], Acting] = _system  # commands
administering: Callable[[Request], Administering] = _system  # jobs, leadership, discovery
observing: Callable[[Request], Observed] = _system  # readiness, /metrics
guarding: Callable[[Request], Guarding] = _system  # tokens, sessions
outside: Callable[[Request], Parts] = _system  # what reaches the cloud and CML


def actor(request: Request) -> str:
    """Who is recorded on the events a request causes (``Identity.actor``)."""
    who = getattr(request.user, "who", None)
    return str(who.actor if who is not None else request.user.display_name)


def correlation_id(request: Request) -> str:
    return str(request.state.correlation_id)


def worker_id(request: Request) -> UUID:
    """The ``{id}`` path parameter. Not a UUID names no worker: 404, like an unknown id."""
    raw = request.path_params["id"]
    if isinstance(raw, UUID):  # the route's convertor checked it
        return raw
    try:
        return UUID(raw)
    except ValueError:
        raise WorkerNotFound(raw) from None


async def parse_body(request: Request, contract: type[M]) -> M:
    """The body as ``contract``: 415 unless it is sent as JSON, 422 naming the field
    when it is malformed or invalid."""
    body = await request.body()
    if body and not is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType("send the body as JSON: Content-Type: application/json")
    try:
        return contract.model_validate_json(body or b"null")
    except ValidationError as exc:
        raise RequestInvalid.from_validation(exc) from None


def is_json(content_type: str | None) -> bool:
    """``application/json`` (with any parameters) or a ``+json`` type."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


INT64_MAX = 2**63 - 1  # the databases' integers are 64-bit
_INTEGER = re.compile(r"^-?[0-9]{1,19}$")
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


def int_param(
    request: Request, name: str, default: int | None, lowest: int, highest: int = INT64_MAX
) -> int | None:
    """``?name=`` as an integer from ``lowest`` to ``highest`` (ASCII digits), else 422."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _INTEGER.match(raw) or not lowest <= int(raw) <= highest:
        raise RequestInvalid.one(name, f"must be an integer from {lowest} to {highest}")
    return int(raw)


def bool_param(request: Request, name: str) -> bool:
    """``?name=`` as true (true, 1, yes) or false (false, 0, no; absent), else 422
    (exactly these spellings: the document's enum)."""
    raw = request.query_params.get(name)
    if raw is None or raw in FALSE:
        return False
    if raw in TRUE:
        return True
    raise RequestInvalid.one(name, "must be true or false")


async def wait_for_min_position(request: Request) -> None:
    """``?min_position=P``: wait (bounded) until the read model has applied P, else 503;
    409 at once when the event log itself has not reached P (nothing to wait for)."""
    wanted = int_param(request, "min_position", None, 0)
    if wanted is None:
        return
    system = reading(request)
    if await system.read_model.wait_until(wanted, 0):
        return
    head = await system.run_sync(system.store.max_position)
    if wanted > head:
        raise PositionNotInLog(wanted, head)
    timeout = system.settings.read_wait_timeout_seconds
    if not await system.read_model.wait_until(wanted, timeout):
        raise ReadModelBehind(wanted, await system.run_sync(system.read_model.position))


Execute = Callable[[], Awaitable[CommandResult]]


async def run_command(
    request: Request, status: int, handler: Callable[..., CommandResult], cmd: Any, *extras: Any
) -> Response:
    """A command on an existing worker (``cmd.worker_id``): ``handler(cmd, store, *extras)``.

    It goes through the operator commands' group commit (``System.commands``): commands
    arriving together are saved in one transaction, each still run by its own handler
    and refused or retried alone. Answers ``{worker_id, position, correlation_id}``.
    """
    system = acting(request)

    def recording(store: WorkerStore) -> list[CommandResult]:
        return [handler(cmd, store, *extras)]

    async def execute() -> CommandResult:
        results: list[CommandResult] = await system.commands.record(cmd.worker_id, recording)
        return results[0]

    return await _run(request, status, execute)


async def run_creation(request: Request, status: int, execute: Execute) -> Response:
    """A command that adds a worker: ``execute()`` checks what it must ask the cloud
    (inside the idempotency guard, so a replayed request is answered as the first
    was) and saves the new worker on its own."""
    return await _run(request, status, execute)


async def _run(request: Request, status: int, execute: Execute) -> Response:
    """Applies ``Idempotency-Key`` on POST."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None or request.method != "POST":
        return await _answer(request, status, execute)
    if not _KEY.match(key):
        raise RequestInvalid.one(IDEMPOTENCY_HEADER, "must be 1 to 255 visible ASCII characters")
    return await _answer_once(request, key, status, execute)


async def _answer(request: Request, status: int, execute: Execute) -> Response:
    try:
        result = await execute()
    except KNOWN_ERRORS as exc:
        return problem_for(request, exc)
    accepted = CommandAccepted(
        worker_id=result.worker_id, position=result.position, correlation_id=result.correlation_id
    )
    return json_response(accepted.model_dump_json().encode(), status)


async def _answer_once(request: Request, key: str, status: int, execute: Execute) -> Response:
    system, who = acting(request), actor(request)
    store = system.idempotency
    fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
    claim = await system.run_sync(store.claim, who, key, fingerprint)
    if claim.state is ClaimState.REPLAY:
        stored = claim.answer
        assert stored is not None  # a replay has its answer
        replay = Response(stored.body, status_code=stored.status, media_type=stored.media_type)
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    if claim.state is ClaimState.MISMATCH:
        raise RequestInvalid.one(IDEMPOTENCY_HEADER, "already used for a different request")
    if claim.state is ClaimState.BUSY:
        detail = "a request with this Idempotency-Key is still being processed"
        return problem(request, 409, detail, kind="idempotency-key-busy", headers=RETRY_SOON)
    stored_answer = False
    try:
        # Shielded: once the command runs, its answer must be stored even if the
        # client goes away, or a retry would apply it twice.
        with anyio.CancelScope(shield=True):
            response = await _answer(request, status, execute)
            answer = StoredAnswer(
                response.status_code, response.media_type or "", bytes(response.body)
            )
            await system.run_sync(store.complete, who, key, answer)
            stored_answer = True
        return response
    finally:
        if not stored_answer:
            with anyio.CancelScope(shield=True):
                await system.run_sync(store.release, who, key)
