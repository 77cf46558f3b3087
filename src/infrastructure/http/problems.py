"""Errors as RFC 9457 problem details (``application/problem+json``).

Every known error maps to one status here, so no domain or application error ever
becomes a 500. Handlers are registered by type; Starlette picks the closest in the MRO.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from application.errors import (
    ApplicationError,
    CloudUnavailable,
    ConcurrencyConflict,
    ImportMismatch,
    InstanceAlreadyManaged,
    InstanceNotFound,
    PositionNotInLog,
    ReadModelBehind,
    UnknownRegion,
    WorkerNotFound,
)
from domain.errors import DomainError, IllegalTransition, InvalidValue
from domain.labs import NotReadyForLabs

PROBLEM_TYPE = "urn:cml-fleet:problem:"


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


class RequestInvalid(Exception):
    """A request's body, path or query parameters are invalid (422, naming the fields)."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors))

    @classmethod
    def one(cls, field: str, message: str) -> RequestInvalid:
        return cls([(field, message)])

    @classmethod
    def from_validation(cls, exc: ValidationError) -> RequestInvalid:
        return cls([(_dotted(e["loc"]), e["msg"]) for e in exc.errors(include_input=False)])


class UnsupportedMediaType(Exception):
    """A body sent as something else than the JSON the endpoint reads (415)."""


class BodyTooLarge(Exception):
    """The request body is over ``settings.max_body_bytes``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the request body is larger than {limit} bytes")


def _dotted(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def problem(
    conn: HTTPConnection,
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extras: Any,
) -> ProblemResponse:
    """A problem response; ``kind`` names the problem type (defaults from the status)."""
    title = HTTPStatus(status).phrase
    body = {
        "type": PROBLEM_TYPE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": conn.url.path,
        "correlation_id": conn.scope.get("state", {}).get("correlation_id"),
        **extras,
    }
    if status in (429, 503) and "Retry-After" not in (headers or {}):
        headers = {**(headers or {}), **RETRY_LATER}  # every refusal of the moment says when
    return ProblemResponse(body, status_code=status, headers=headers)


KNOWN_ERRORS = (DomainError, ApplicationError, RequestInvalid, BodyTooLarge, UnsupportedMediaType)


def problem_for(conn: HTTPConnection, exc: Exception) -> ProblemResponse:
    """The problem response for a known error (see :data:`KNOWN_ERRORS`)."""
    match exc:
        case WorkerNotFound():
            return problem(conn, 404, str(exc), kind="worker-not-found", worker_id=exc.worker_id)
        case IllegalTransition():
            return problem(
                conn,
                409,
                str(exc),
                kind="illegal-transition",
                current_status=exc.current,
                allowed_from=list(exc.allowed),
            )
        case NotReadyForLabs():
            return problem(
                conn,
                409,
                str(exc),
                kind="not-ready-for-labs",
                worker_status=exc.status,
                service_status=exc.service_status,
            )
        case ConcurrencyConflict():
            return problem(conn, 409, str(exc), kind="concurrent-change", headers=RETRY_SOON)
        case ReadModelBehind():
            return problem(conn, 503, str(exc), kind="read-model-behind", headers=RETRY_SOON)
        case PositionNotInLog():
            return problem(conn, 409, str(exc), kind="position-not-in-log", log_position=exc.head)
        case UnknownRegion():
            return _invalid(conn, [("region", str(exc))])
        case InstanceNotFound():
            return problem(conn, 404, str(exc), kind="instance-not-found")
        case ImportMismatch():
            return problem(conn, 409, str(exc), kind="import-mismatch", field=exc.field)
        case InstanceAlreadyManaged():
            return problem(conn, 409, str(exc), kind="already-managed", worker_id=exc.worker_id)
        case CloudUnavailable():
            return problem(conn, 503, str(exc), kind="cloud-unavailable", headers=RETRY_LATER)
        case InvalidValue():
            return _invalid(conn, [(exc.field, str(exc).removeprefix(f"{exc.field}: "))])
        case RequestInvalid():
            return _invalid(conn, exc.errors)
        case BodyTooLarge():
            return problem(conn, 413, str(exc), kind="body-too-large", max_bytes=exc.limit)
        case UnsupportedMediaType():
            return problem(conn, 415, str(exc), kind="unsupported-media-type")
        case DomainError():
            return problem(conn, 409, str(exc), kind="refused")
        case _:
            return problem(conn, 400, str(exc), kind="bad-request")


RETRY_SOON = {"Retry-After": "1"}
RETRY_LATER = {"Retry-After": "30"}


def _invalid(conn: HTTPConnection, errors: Sequence[tuple[str, str]]) -> ProblemResponse:
    detail = "invalid request: " + "; ".join(f"{f}: {m}" for f, m in errors)
    return problem(
        conn,
        422,
        detail,
        kind="invalid-request",
        errors=[{"field": f, "message": m} for f, m in errors],
    )


async def handle_known_error(request: Request, exc: Exception) -> Response:
    return problem_for(request, exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status, path = exc.status_code, request.url.path
    detail = {
        404: f"nothing at {path}",
        405: f"{request.method} is not allowed on {path}",
        403: f"the role of {request.user.display_name!r} does not allow {request.method} {path}"
        if "user" in request.scope
        else "forbidden",
    }.get(status, str(exc.detail))
    return problem(request, status, detail, headers=exc.headers)


async def handle_client_gone(request: Request, exc: Exception) -> Response:
    """The client left before its request was whole (it closed, or the read deadline
    dropped it): no one to answer, nothing to log but the access line."""
    return problem(request, 400, "the client left before sending its whole request")


async def handle_server_error(request: Request, exc: Exception) -> Response:
    return problem(request, 500, "an unexpected error occurred; it has been logged")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: handle_known_error,
    ApplicationError: handle_known_error,
    RequestInvalid: handle_known_error,
    BodyTooLarge: handle_known_error,
    UnsupportedMediaType: handle_known_error,
    HTTPException: handle_http_exception,
    ClientDisconnect: handle_client_gone,
    500: handle_server_error,
}
