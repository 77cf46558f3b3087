"""The Starlette app: ``create_app(system)``.

Middleware, outermost first: correlation id (and access log), security headers, header
size limit, command metrics, body size limit, authentication (Bearer token or session
cookie + CSRF, with failed logins rate-limited), deny-by-default; then the exception
handlers that turn every known error into problem details. ``GET /metrics`` serves
Prometheus figures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware

from infrastructure.bootstrap import System
from infrastructure.http.headers import HeaderSizeLimitMiddleware, SecurityHeadersMiddleware
from infrastructure.http.middleware import BodySizeLimitMiddleware, CorrelationIdMiddleware
from infrastructure.http.problems import EXCEPTION_HANDLERS
from infrastructure.http.ratelimit import FailedLoginLimiter
from infrastructure.http.routes import OPERATIONS, all_routes
from infrastructure.http.security import RequireAuthentication, TokenBackend, on_auth_error
from infrastructure.observability import (
    CommandMetricsMiddleware,
    FleetMetrics,
    command_names,
    metrics_routes,
)


def create_app(system: System) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await system.start()
        app.state.started = True
        try:
            yield
        finally:
            app.state.started = False
            await system.stop()

    limiter = FailedLoginLimiter(system.clock, system.settings.login_failures_per_minute)
    metrics = FleetMetrics(system)
    app = Starlette(
        routes=[*all_routes(), *metrics_routes()],
        middleware=[
            Middleware(CorrelationIdMiddleware),
            Middleware(SecurityHeadersMiddleware),
            Middleware(HeaderSizeLimitMiddleware),
            Middleware(
                CommandMetricsMiddleware, metrics=metrics, commands=command_names(OPERATIONS)
            ),
            Middleware(BodySizeLimitMiddleware, max_bytes=system.settings.max_body_bytes),
            Middleware(
                AuthenticationMiddleware,
                backend=TokenBackend(system.auth, limiter),
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
    app.state.started = False
    return app
