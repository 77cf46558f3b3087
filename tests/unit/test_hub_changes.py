"""Settings changes between processes (PostgreSQL): the message keeps who may see the
change, and a view too large for a NOTIFY payload goes as null (the client reads it)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from application.changes import (
    CHANGE_TYPES,
    budget_changed,
    schedule_changed,
    webhook_changed,
)
from application.contracts.notifications import SETTINGS_CONTRACTS
from infrastructure.fanout.postgres import MAX_MESSAGE, ClusterHub
from infrastructure.shared.clock import FakeClock

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def frames_of(subscription: object) -> list[dict[str, object]]:
    pending = list(subscription._pending)  # type: ignore[attr-defined]
    return [json.loads(f.data.decode().split("data: ", 1)[1]) for f in pending]


async def test_a_change_crosses_to_other_processes_seen_by_the_same_people() -> None:
    sent: list[str] = []
    leader = ClusterHub(None, FakeClock(AT), 100, origin="a", announce=sent.append)
    other = ClusterHub(None, FakeClock(AT), 100, origin="b", announce=lambda _: None)
    leader.start()
    other.start()
    red = other.subscribe(teams=frozenset({"red"}))
    admin = other.subscribe(admin=True)
    viewer = other.subscribe()
    big = {"name": "office", "exceptions": [{"date": "2026-01-01"}] * 400}
    changes = [
        budget_changed("blue", "team:blue", "saved", "ada", "t", {"name": "blue"}),
        budget_changed("red", "team:red", "saved", "ada", "t", {"name": "red"}),
        webhook_changed("ops", "created", "ada", "t", {"id": "ops"}),
        schedule_changed("office", "saved", "ada", "t", big),
    ]
    for change in changes:
        leader.announce(change)
    for _ in range(20):  # the NOTIFYs are sent from a thread
        if len(sent) == len(changes):
            break
        await asyncio.sleep(0.05)
    assert len(sent) == len(changes) and all(len(m) <= MAX_MESSAGE for m in sent)
    for message in sent:
        other.on_announcement(message)
        leader.on_announcement(message)  # its own: already sent to its subscribers
    await asyncio.sleep(0)

    assert [f["subject"] for f in frames_of(red)] == ["red", "office"]
    assert [f["subject"] for f in frames_of(admin)] == ["blue", "red", "ops", "office"]
    assert [f["subject"] for f in frames_of(viewer)] == ["blue", "red", "office"]
    (schedule,) = [f for f in frames_of(viewer) if f["type"] == "schedule.changed"]
    assert schedule["data"]["schedule"] is None  # type: ignore[index]
    assert schedule["data"]["change"] == "saved"  # type: ignore[index]
    leader.stop()
    other.stop()


def test_every_kind_of_change_has_a_committed_contract() -> None:
    assert set(CHANGE_TYPES) == set(SETTINGS_CONTRACTS)
