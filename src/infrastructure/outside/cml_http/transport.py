"""Calls to the CML REST API of many workers: one pooled httpx client per worker,
the bearer token cached per worker, retries for GETs, a circuit breaker per worker.

Every failure becomes ``CmlUnreachable`` (no answer) or ``CmlError`` (an error
answer, with its status). Neither ever carries the password or a token: messages are
built here from the status, the server's short description and the failure kind,
with any secret of the call replaced by ``***``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx

from application.ports import Clock
from application.ports_errors import CmlError, CmlUnreachable
from infrastructure.outside.cml_http.breaker import BreakerState
from infrastructure.outside.cml_http.config import CmlHttpConfig
from infrastructure.outside.cml_http.errors import json_or_none, status_error, transport_reason
from infrastructure.outside.cml_http.sessions import HostSession, SessionPool

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({502, 503, 504})


class Call(NamedTuple):
    """One request as sent, and the key it is counted under (``GET /labs/{lab_id}``)."""

    key: str
    method: str
    url: str
    params: Mapping[str, str] | None
    json: Any


@dataclass(frozen=True)
class NoAnswer:
    """One attempt got no answer (or was refused by the breaker)."""

    reason: str
    retry: bool


class CmlTransport:
    """Sends the calls of :class:`~infrastructure.outside.cml_http.adapter.HttpCml`.

    ``base_url(host)`` gives a worker's API root (``https://{host}/api/v0`` by
    default); it is asked on every call. ``calls`` counts the requests sent per
    ``"METHOD /path"`` of the spec; ``fast_failures`` the calls an open circuit
    refused, per worker.
    """

    def __init__(
        self,
        config: CmlHttpConfig,
        clock: Clock,
        *,
        base_url: Callable[[str], str] | None = None,
    ) -> None:
        self.config, self.clock = config, clock
        self.base_url = base_url or config.base_url
        self.calls: Counter[str] = Counter()
        self.fast_failures: Counter[str] = Counter()
        self.sessions = SessionPool(config, clock)

    # ------------------------------------------------------------- the API

    async def request(
        self,
        host: str,
        method: str,
        template: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        auth: bool = True,
        redact: Sequence[str] = (),
    ) -> httpx.Response:
        """A successful (2xx) answer to ``method template``, authenticated if ``auth``."""
        session = await self.sessions.get(host)
        url = self.base_url(host) + _fill(template, path or {})
        call = Call(f"{method} {template}", method, url, params, json)
        token = await self.token(session) if auth else None
        response = await self._exchange(session, call, token)
        if auth and response.status_code == 401:  # expired: log in again, once
            token = await self.token(session, stale=token)
            response = await self._exchange(session, call, token)
        if response.is_success:
            return response
        raise status_error(host, response, redact)

    async def get_json(self, host: str, template: str, **options: Any) -> Any:
        response = await self.request(host, "GET", template, **options)
        try:
            return response.json()
        except ValueError:
            raise CmlError(host, f"GET {template}: the answer is not JSON", status=200) from None

    def breaker_state(self, host: str) -> BreakerState:
        session = self.sessions.find(host)
        return BreakerState.CLOSED if session is None else session.breaker.state

    async def aclose(self) -> None:
        """Close every worker's connections (and forget their tokens)."""
        await self.sessions.aclose()

    # ------------------------------------------------------------ the token

    async def token(self, session: HostSession, stale: str | None = None) -> str:
        """The cached token; a new one if there is none or ``stale`` was refused.
        Concurrent callers wait for one authentication instead of each logging in."""
        async with session.lock:
            if session.token is None or session.token == stale:
                session.token = await self.authenticate(session)
            return session.token

    async def authenticate(self, session: HostSession) -> str:
        """``POST /authenticate`` with the configured user; the answer is the token."""
        password = self.config.read_password().get_secret_value()
        body = {"username": self.config.username, "password": password}
        url = self.base_url(session.host) + "/authenticate"
        call = Call("POST /authenticate", "POST", url, None, body)
        response = await self._exchange(session, call, None)
        if response.status_code in (401, 403):
            message = "authentication refused: check cml_username and the password"
            raise CmlError(session.host, message, status=response.status_code)
        if not response.is_success:
            raise status_error(session.host, response, (password,))
        token = json_or_none(response)
        if not isinstance(token, str) or not token:
            raise CmlError(session.host, "authentication answered without a token", status=200)
        return token

    # ------------------------------------------------- attempts and retries

    async def _exchange(
        self, session: HostSession, call: Call, token: str | None
    ) -> httpx.Response:
        """Send, retrying a GET after a quick failure or a 502/503/504 (backing off)."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        attempts = 1 + (self.config.retries if call.method == "GET" else 0)
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self._delay(attempt))
            answer = await self._attempt(session, call, headers)
            last = attempt + 1 == attempts or session.breaker.state is not BreakerState.CLOSED
            if isinstance(answer, NoAnswer):
                if last or not answer.retry:
                    raise CmlUnreachable(session.host, answer.reason)
            elif last or answer.status_code not in RETRYABLE_STATUS:
                return answer
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _attempt(
        self, session: HostSession, call: Call, headers: dict[str, str] | None
    ) -> httpx.Response | NoAnswer:
        """One request through the worker's breaker."""
        breaker = session.breaker
        trial = breaker.state is BreakerState.HALF_OPEN
        if not breaker.allow():
            self.fast_failures[session.host] += 1
            # The last real failure, word for word: the reason stays the same from one
            # cycle to the next, so a worker that stays down records nothing new.
            return NoAnswer(breaker.last_failure or "not answering", retry=False)
        self.calls[call.key] += 1
        try:
            response = await session.client.request(
                call.method, call.url, params=call.params, json=call.json, headers=headers
            )
        except httpx.TransportError as error:
            reason = transport_reason(error)
            self._failed(session, reason)
            return NoAnswer(reason, retry=not isinstance(error, httpx.TimeoutException))
        except (httpx.HTTPError, httpx.InvalidURL) as error:  # a bad URL, not the network
            if trial:
                breaker.release_trial()
            raise CmlError(session.host, f"{type(error).__name__}: {error}") from None
        except BaseException:  # cancelled: neither a success nor a failure
            if trial:
                breaker.release_trial()
            raise
        if response.status_code in RETRYABLE_STATUS:
            self._failed(session, f"HTTP {response.status_code}")
        else:
            breaker.succeeded()
        return response

    def _failed(self, session: HostSession, reason: str) -> None:
        was_open = session.breaker.state is not BreakerState.CLOSED
        session.breaker.failed(reason)
        if not was_open and session.breaker.state is BreakerState.OPEN:
            log.warning(
                "CML circuit opened for %s after %d failures: %s",
                session.host,
                session.breaker.failures,
                reason,
                extra={"cml_host": session.host},
            )

    def _delay(self, attempt: int) -> float:
        """Exponential back-off with jitter (half to full delay)."""
        config = self.config
        delay = min(config.backoff_max_seconds, config.backoff_seconds * 2.0 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.0)


def _fill(template: str, path: Mapping[str, str]) -> str:
    return template.format_map({name: quote(value, safe="") for name, value in path.items()})
