"""The Starlette app: ``create_app(system)``.

Middleware, outermost first: the edge (correlation id, access log, security headers,
header and body size limits, command metrics: ``http.edge``), authentication (Bearer
token or session cookie + CSRF, with failed logins rate-limited), deny-by-default; then
the exception handlers that turn every known error into problem details. ``GET /metrics`` serves
Prometheus figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import BaseRoute

from infrastructure.http.access.sso import Sso
from infrastructure.http.edge import EdgeMiddleware
from infrastructure.http.event_stream import sse_routes
from infrastructure.http.job_endpoints import job_routes
from infrastructure.http.metrics_endpoint import (
    FleetMetrics,
    command_names,
    metrics_routes,
)
from infrastructure.http.openapi import openapi_routes
from infrastructure.http.problems import EXCEPTION_HANDLERS
from infrastructure.http.ratelimit import FailedLoginLimiter
from infrastructure.http.routes import OPERATIONS, operation_routes
from infrastructure.http.security import (
    RequireAuthentication,
    TokenBackend,
    on_auth_error,
    session_routes,
)
from infrastructure.http.served import Served
from infrastructure.http.sso_endpoints import sso_routes
from infrastructure.http.stream_slots import StreamSlots
from infrastructure.http.tokens_api import token_routes, watch_credentials
from infrastructure.http.web.routes import web_routes


def all_routes() -> list[BaseRoute]:
    """Everything the app serves: the operations table, the document of it and of the
    rest, login/logout, tokens, the stream, jobs, the dashboard and /metrics."""
    return [
        *operation_routes(),
        *openapi_routes(),
        *session_routes(),
        *sso_routes(),
        *token_routes(),
        *sse_routes(),
        *job_routes(),
        *web_routes(),
        *metrics_routes(),
    ]


def create_app(system: Served) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await system.start()
        app.state.started = True
        every = system.settings.sse_heartbeat_seconds
        watch = asyncio.create_task(watch_credentials(slots, system.auth, every, sso))
        try:
            yield
        finally:
            watch.cancel()
            if sso is not None:
                await sso.close()
            app.state.started = False
            await system.stop()

    limiter = FailedLoginLimiter(system.clock, system.settings.login_failures_per_minute)
    sso = Sso.build(system.settings, system.auth.db, system.clock, system.run_sync)
    backend = TokenBackend(system.auth, limiter, sso)
    slots = StreamSlots(  # open event streams, in total and per credential
        system.settings.sse_max_streams, system.settings.sse_max_streams_per_credential
    )
    metrics = FleetMetrics(system)
    if sso is not None:
        metrics.watch_sso(sso.counts)
    app = Starlette(
        routes=all_routes(),
        middleware=[
            Middleware(
                EdgeMiddleware,
                max_body_bytes=system.settings.max_body_bytes,
                upload_bytes=system.settings.lab_import_max_bytes,
                metrics=metrics,
                commands=command_names(OPERATIONS),
            ),
            Middleware(
                AuthenticationMiddleware,
                backend=backend,
                on_error=on_auth_error,
            ),
            Middleware(RequireAuthentication),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.system = system
    app.state.metrics = metrics  # Prometheus: this app's own registry
    app.state.login_limiter = limiter  # failed logins, shared by /login and Bearer tokens
    app.state.token_backend = backend  # what it remembers of a revoked token is dropped
    app.state.stream_slots = slots
    app.state.sso = sso  # single sign-on, when OIDC_ISSUER is set
    app.state.started = False
    return app
