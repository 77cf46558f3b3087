"""The Starlette app: ``create_app(system)``.

Middleware, outermost first: correlation id (and access log), body size limit,
authentication (Bearer token or session cookie + CSRF), deny-by-default; then the
exception handlers that turn every known error into problem details.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware

from infrastructure.bootstrap import System
from infrastructure.http.middleware import BodySizeLimitMiddleware, CorrelationIdMiddleware
from infrastructure.http.problems import EXCEPTION_HANDLERS
from infrastructure.http.routes import all_routes
from infrastructure.http.security import RequireAuthentication, TokenBackend, on_auth_error


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

    app = Starlette(
        routes=all_routes(),
        middleware=[
            Middleware(CorrelationIdMiddleware),
            Middleware(BodySizeLimitMiddleware, max_bytes=system.settings.max_body_bytes),
            Middleware(
                AuthenticationMiddleware, backend=TokenBackend(system.auth), on_error=on_auth_error
            ),
            Middleware(RequireAuthentication),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.system = system
    app.state.started = False
    return app
