"""The HTTP adapter: Starlette app, routes, auth, idempotency, OpenAPI."""
