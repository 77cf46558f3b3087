"""Per worker: a pooled ``httpx.AsyncClient``, the cached token and a circuit breaker."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from application.ports import Clock
from infrastructure.outside.cml_http.breaker import CircuitBreaker
from infrastructure.outside.cml_http.config import CmlHttpConfig

USER_AGENT = "cml-fleet"


@dataclass
class HostSession:
    """What is kept per worker: its connection pool, token and breaker."""

    host: str
    client: httpx.AsyncClient
    breaker: CircuitBreaker
    token: str | None = field(default=None, repr=False)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SessionPool:
    """One session per worker, created on first use, most recently used last."""

    def __init__(self, config: CmlHttpConfig, clock: Clock) -> None:
        self.config, self.clock = config, clock
        self._sessions: dict[str, HostSession] = {}
        self._tls: ssl.SSLContext | None = None

    def find(self, host: str) -> HostSession | None:
        return self._sessions.get(host)

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.client.aclose()

    async def get(self, host: str) -> HostSession:
        """The worker's session, most recently used last. Workers get new addresses
        when they restart, so the least recently used beyond ``max_hosts`` are closed."""
        session = self._sessions.pop(host, None)
        if session is None:
            session = HostSession(host, self._client(), self._breaker())
        self._sessions[host] = session
        while len(self._sessions) > self.config.max_hosts:
            stale = self._sessions.pop(next(iter(self._sessions)))
            await stale.client.aclose()
        return session

    def _client(self) -> httpx.AsyncClient:
        config = self.config
        if self._tls is None:
            self._tls = config.tls()
        limits = httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
            keepalive_expiry=config.keepalive_seconds,
        )
        return httpx.AsyncClient(
            verify=self._tls,
            timeout=httpx.Timeout(config.timeout_seconds),
            limits=limits,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        )

    def _breaker(self) -> CircuitBreaker:
        cooldown = timedelta(seconds=self.config.breaker_cooldown_seconds)
        return CircuitBreaker(self.clock, threshold=self.config.breaker_failures, cooldown=cooldown)
