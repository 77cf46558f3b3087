"""The server's HTTP API as the command line uses it: answers, or a :class:`Failed`
that says what went wrong and the exit code scripts can test."""

from __future__ import annotations

from typing import Any

import httpx

from infrastructure.console.connection import Connection

OK, REFUSED, USAGE, DENIED, UNREACHABLE = 0, 1, 2, 3, 4
EXIT_CODES = {
    OK: "done",
    REFUSED: "the server refused it (no such worker, not allowed in its state, bad input)",
    USAGE: "wrong usage, or no server or token configured",
    DENIED: "the token was refused (401) or lacks the role (403)",
    UNREACHABLE: "the server could not be reached, or failed (5xx)",
}


class Failed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def exit_code(status: int) -> int:
    if status in (401, 403):
        return DENIED
    return UNREACHABLE if status >= 500 else REFUSED


class Api:
    def __init__(self, connection: Connection, timeout: float = 10.0, version: str = "") -> None:
        self.url = connection.url
        self.http = httpx.Client(
            base_url=connection.url,
            headers={
                "Authorization": f"Bearer {connection.token}",
                "User-Agent": f"cml-fleet-cli/{version}",
            },
            timeout=timeout,
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise Failed(UNREACHABLE, f"cannot reach {self.url}: {_why(error)}") from None
        return answer_of(answer)


def answer_of(answer: httpx.Response) -> Any:
    if answer.is_success:
        return answer.json() if answer.content else None
    raise Failed(exit_code(answer.status_code), problem_text(answer))


def problem_text(answer: httpx.Response) -> str:
    """``404 Not Found: no worker …`` from a problem+json answer (or its status)."""
    try:
        body = answer.json()
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    head = f"{answer.status_code} {answer.reason_phrase}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        detail = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
    return f"{head}: {detail}" if detail else head


def _why(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectError):
        return "connection refused or no such host (is it running? is the URL right?)"
    if isinstance(error, httpx.TimeoutException):
        return "no answer in time"
    return type(error).__name__
