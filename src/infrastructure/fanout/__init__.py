"""Server-Sent Events: the hub (in-process fan-out), envelope encoding and the endpoint.

- ``envelope``: frames (CloudEvents 1.0 JSON on one ``data:`` line), encoded once;
- ``hub``: fan-out from the read model's listener to bounded per-subscriber queues;
- ``stream``: one subscriber's stream (initial state or replay, then live);
- ``endpoint``: ``GET /api/events``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from application.ports import Clock
from infrastructure.fanout.hub import Hub

if TYPE_CHECKING:
    from infrastructure.read_model.model import ReadModel
    from infrastructure.shared.settings import Settings


def build_hub(settings: Settings, read_model: ReadModel, clock: Clock) -> Hub:
    """The in-process hub, fed by the read model's listener."""
    return Hub(
        read_model,
        clock,
        settings.sse_queue_size,
        flush_interval=settings.sse_flush_interval_ms / 1000,
        heartbeat=settings.sse_heartbeat_seconds,
        writes_per_second=settings.sse_writes_per_second,
    )
