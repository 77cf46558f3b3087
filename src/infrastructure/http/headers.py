"""Security headers for every HTTP response, unless the endpoint chose its own.

The dashboard's policy allows scripts, styles and connections only from this origin
(no inline script or style), images also as ``data:`` URIs, and no framing. API
answers are not cached (``no-store``): they carry live fleet state; the dashboard's
files set their own cache policy. Requests with headers
larger than :data:`MAX_HEADER_BYTES` in all are refused with 431 (``http.edge`` applies both).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import Scope

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
ALWAYS = SECURITY_HEADERS | NOT_CACHED


def add_security_headers(headers: MutableHeaders) -> None:
    """:data:`SECURITY_HEADERS` and ``Cache-Control: no-store``, where the endpoint set none."""
    for name, value in ALWAYS.items():
        if name not in headers:
            headers[name] = value


def headers_size(scope: Scope) -> int:
    """The request's headers' size in bytes, as sent (name, ": ", value, CRLF)."""
    return sum(len(name) + len(value) + 4 for name, value in scope["headers"])
