"""Security headers on every HTTP response, unless the endpoint chose its own.

The dashboard's policy allows scripts, styles and connections only from this origin
(no inline script or style), images also as ``data:`` URIs, and no framing. API
answers are not cached (``no-store``): they carry live fleet state; the dashboard's
files set their own cache policy. Requests with headers
larger than :data:`MAX_HEADER_BYTES` in all are refused with 431.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.http.problems import problem

MAX_HEADER_BYTES = 32 * 1024  # generous: a browser's cookies plus a token fit many times

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
NOT_CACHED = {"Cache-Control": "no-store"}


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store``) where missing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (SECURITY_HEADERS | NOT_CACHED).items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeaderSizeLimitMiddleware:
    """Refuses requests whose headers together exceed ``max_bytes`` (431), before
    anything reads them: uvicorn's parser takes headers of any size."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                detail = f"the request's headers exceed {self.max_bytes} bytes"
                response = problem(
                    HTTPConnection(scope),
                    431,
                    detail,
                    kind="headers-too-large",
                    max_bytes=self.max_bytes,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
