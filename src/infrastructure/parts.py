"""The parts of a built system that builders of jobs and engines read, as a protocol:
``bootstrap.System`` has them, and builders depend on this, not on the composition root
(which imports them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from application.ports import Clock
from infrastructure.event_store import FleetEventStore
from infrastructure.settings import Settings

T = TypeVar("T")


class FleetParts(Protocol):
    settings: Settings
    clock: Clock
    store: FleetEventStore
    read_model: Any
    hub: Any
    cloud: Any
    cml: Any
    database: Any
    metrics_history: Any
    license_tokens: Any

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T: ...
