"""Pure ASGI middleware: correlation id (plus the access log) and the body size limit."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.http.problems import BodyTooLarge, problem
from infrastructure.logs import correlation_id_var

CORRELATION_HEADER = "X-Correlation-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
access_log = logging.getLogger("cml_fleet.http")


def correlation_id_from(value: str | None) -> str:
    """The client's id when it is sane (short, plain characters), else a new uuid4."""
    if value is not None and _SANE.match(value):
        return value
    return str(uuid.uuid4())


class CorrelationIdMiddleware:
    """Gives every request a correlation id: in ``request.state``, the log context and
    the response header. Logs one line per request (path only: query strings may
    carry a login token)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = correlation_id_from(HTTPConnection(scope).headers.get(CORRELATION_HEADER))
        scope.setdefault("state", {})["correlation_id"] = cid
        token = correlation_id_var.set(cid)
        started, status = time.perf_counter(), [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = cid
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status[0],
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status[0],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            correlation_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413: at once when Content-Length says so,
    else while the body is read (the endpoint's read raises :class:`BodyTooLarge`)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        declared = conn.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = problem(
                conn,
                413,
                str(BodyTooLarge(self.max_bytes)),
                kind="body-too-large",
                max_bytes=self.max_bytes,
            )
            await response(scope, receive, send)
            return
        received = [0]

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                if received[0] > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted_receive, send)
