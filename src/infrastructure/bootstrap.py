"""The one composition root. The HTTP app, the CLI, the jobs and the tests build the
system here; tests pass fakes (clock, cloud, CML) and settings.

Each component is built in ``bootstrap`` and started/stopped in ``System.start`` /
``System.stop`` (called by the app's lifespan, or by tests directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from application.ports import Clock
from infrastructure.clock import SystemClock
from infrastructure.event_store import FleetEventStore
from infrastructure.settings import Settings


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for the configured persistence."""
    if settings.persistence == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if settings.persistence == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.data_dir / "events.sqlite"),
        }
    raise NotImplementedError("postgres persistence is wired by the scale-out work")


@dataclass
class System:
    """Everything the entry points need, built once."""

    settings: Settings
    clock: Clock
    store: FleetEventStore
    extras: dict[str, Any] = field(default_factory=dict)

    async def start(self) -> None:
        """Start background parts (followers, hub, scheduler). Needs a running loop."""

    async def stop(self) -> None:
        """Stop background parts, newest first."""


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None) -> System:
    settings = settings or Settings()
    store = FleetEventStore(event_store_env(settings))
    return System(settings=settings, clock=clock or SystemClock(), store=store)
