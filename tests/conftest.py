"""Fixtures shared by every test layer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infrastructure.shared.clock import FakeClock
from infrastructure.store.event_store import FleetEventStore

# PostgreSQL fixtures (skip with a reason, or fail under CML_FLEET_REQUIRE_POSTGRES=1).
pytest_plugins = ("tests.postgres_support",)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def memory_store() -> FleetEventStore:
    """The real event store on eventsourcing's in-memory (POPO) persistence."""
    return FleetEventStore({"PERSISTENCE_MODULE": "eventsourcing.popo"})
