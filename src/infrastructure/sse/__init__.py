"""Server-Sent Events: the hub (in-process fan-out), envelope encoding and the endpoint.

- ``envelope``: frames (CloudEvents 1.0 JSON on one ``data:`` line), encoded once;
- ``hub``: fan-out from the read model's listener to bounded per-subscriber queues;
- ``stream``: one subscriber's stream (initial state or replay, then live);
- ``endpoint``: ``GET /api/events``.
"""

from __future__ import annotations

from typing import Any

from infrastructure.sse.hub import Hub


def build_hub(system: Any) -> Hub:
    """The hub, fed by ``system.read_model`` (wired in the composition root)."""
    settings = system.settings
    return Hub(
        system.read_model,
        system.clock,
        settings.sse_queue_size,
        flush_interval=settings.sse_flush_interval_ms / 1000,
    )
