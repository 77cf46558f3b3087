"""How failed CML calls are told: short messages without URLs, headers or secrets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from application.ports_errors import CmlError


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def transport_reason(error: httpx.TransportError) -> str:
    """A short, stable reason (no URL, no headers)."""
    if isinstance(error, httpx.TimeoutException):
        return "no answer in time"
    text = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError):
        return f"cannot connect: {text}"
    return f"connection failed: {text}"


def status_error(host: str, response: httpx.Response, redact: Sequence[str]) -> CmlError:
    """``CmlError`` for an error answer: its status and CML's description (``Error``)."""
    body = json_or_none(response)
    detail = body.get("description") if isinstance(body, dict) else None
    if not isinstance(detail, str) or not detail:
        detail = response.reason_phrase
    for secret in redact:
        if secret:
            detail = detail.replace(secret, "***")
    status = response.status_code
    return CmlError(host, f"HTTP {status}: {detail[:200]}", status=status)
