"""Adapters and wiring: event store, read model, HTTP/SSE, scheduler, clouds, CLI."""
