"""``worker.labs.changed`` through the hub: to this process's subscribers that want it,
and, on PostgreSQL, to every other process's (the changes in messages under the
NOTIFY payload limit)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from application.cml import CmlLab
from application.labs import LabsChanged
from infrastructure.fanout.hub import Hub
from infrastructure.fanout.postgres import MAX_MESSAGE, ClusterHub, _lab_messages
from infrastructure.shared.clock import FakeClock

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def change(worker_id: str, labs: int = 1) -> LabsChanged:
    added = tuple(
        CmlLab(
            id=str(uuid4()),
            title=f"lab {n} " + "x" * 40,
            state="STARTED",
            node_count=4,
            running_nodes=4,
        )
        for n in range(labs)
    )
    return LabsChanged(worker_id, AT, added, (), ())


def frames_of(subscription: object) -> list[dict[str, object]]:
    pending = list(subscription._pending)  # type: ignore[attr-defined]
    return [json.loads(f.data.decode().split("data: ", 1)[1]) for f in pending]


async def test_a_labs_change_reaches_the_subscribers_that_want_it() -> None:
    hub = Hub(None, FakeClock(AT), queue_size=100)
    hub.start()
    everyone = hub.subscribe()
    mine, theirs = str(uuid4()), str(uuid4())
    one_worker = hub.subscribe(worker_ids=[mine])
    other_types = hub.subscribe(type_prefix="worker.paused")

    queued = hub.broadcast_labs([change(mine), change(theirs)])
    assert queued is not None
    await queued

    assert [f["subject"] for f in frames_of(everyone)] == [mine, theirs]
    (frame,) = frames_of(one_worker)
    assert frame["type"] == "worker.labs.changed" and frame["time"] == "2026-03-02T09:00:00Z"
    assert frame["data"]["added"][0]["state"] == "STARTED"  # type: ignore[index]
    assert frames_of(other_types) == []
    hub.stop()


async def test_other_processes_hear_every_change_in_messages_that_fit_a_notify() -> None:
    other = ClusterHub(None, FakeClock(AT), 100, origin="other", announce=lambda _: None)
    other.start()
    listening = other.subscribe()
    huge = str(uuid4())
    changes = [change(str(uuid4()), labs=3) for _ in range(40)] + [change(huge, labs=200)]
    payloads = [c.payload() for c in changes]

    messages = _lab_messages("leader", payloads)
    queued: list[Any] = []
    relay = other.publish_labs
    other.publish_labs = lambda p: queued.append(relay(p))  # type: ignore[method-assign]
    for message in messages:
        other.on_announcement(message)
    await asyncio.sleep(0)  # the listener thread's hand-over to the loop runs
    await asyncio.gather(*queued)  # and the frames, encoded in a thread, are queued

    assert len(messages) > 2 and all(len(m) <= MAX_MESSAGE for m in messages)
    heard = frames_of(listening)
    small = [f for f in heard if f["subject"] != huge]
    assert [f["subject"] for f in small] == [c.worker_id for c in changes[:-1]]
    assert small[0]["data"] == json.loads(json.dumps(payloads[0]))  # whole, titles and all
    parts = [f["data"] for f in heard if f["subject"] == huge]
    assert sum(len(p["added"]) for p in parts) == 200  # type: ignore[arg-type]
    assert all(lab["title"] == "" for p in parts for lab in p["added"])  # type: ignore[attr-defined]
    other.on_announcement(messages[0].replace('"leader"', '"other"'))  # its own: ignored
    await asyncio.sleep(0)
    assert len(queued) == len(messages)
    assert len(frames_of(listening)) == len(heard)
    other.stop()


class TeamsOf:
    """A read model's team index (``read_model.teams``), as the hub asks it."""

    def __init__(self, teams: dict[str, str | None]) -> None:
        self.teams = self
        self._teams = teams

    def team_of(self, worker_id: str) -> object:
        from infrastructure.read_model.teams import UNKNOWN

        return self._teams.get(worker_id, UNKNOWN)

    def add_listener(self, listener: object) -> object:
        return lambda: None


async def test_lab_frames_reach_only_subscribers_who_see_the_workers_team() -> None:
    red, blue, unknown = str(uuid4()), str(uuid4()), str(uuid4())
    hub = Hub(TeamsOf({red: "red", blue: "blue"}), FakeClock(AT), queue_size=100)
    hub.start()
    reds = hub.subscribe(teams=frozenset({"red"}))
    nobody = hub.subscribe(teams=frozenset())
    everyone = hub.subscribe()

    queued = hub.broadcast_labs([change(red), change(blue), change(unknown)])
    assert queued is not None
    await queued

    assert [f["subject"] for f in frames_of(reds)] == [red]
    assert frames_of(nobody) == []
    assert [f["subject"] for f in frames_of(everyone)] == [red, blue, unknown]
    hub.stop()
