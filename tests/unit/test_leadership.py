"""The leader gate runs the leader parts (jobs, reactor) only while its election says this
process leads: at once for the sole process, and on an election's say-so otherwise."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import anyio.to_thread

from infrastructure.running.leadership import LeaderGate, LeaderRecord, ProcessIdentity, SoleProcess
from infrastructure.shared.clock import FakeClock

WAIT = 5.0  # a bound, not a delay


class Part:
    """A leader part that remembers being started and stopped."""

    def __init__(self) -> None:
        self.running = False
        self.starts = 0

    async def start(self) -> None:
        self.running = True
        self.starts += 1

    def stop(self) -> None:
        self.running = False


class ElectionByHand:
    """An election decided by the test: ``available`` says whether the lead is free."""

    kind = "by-hand"
    retry_seconds: float | None = 0.01

    def __init__(self) -> None:
        self.available = threading.Event()
        self.held = False
        self.resigned = False

    def try_lead(self, me: ProcessIdentity) -> bool:
        self.held = self.available.is_set()
        return self.held

    def still_leading(self) -> bool:
        self.held = self.held and self.available.is_set()
        return self.held

    def resign(self) -> None:
        self.held, self.resigned = False, True

    def leader(self) -> LeaderRecord | None:
        return None


def me() -> ProcessIdentity:
    return ProcessIdentity("p1", "host", 1, datetime(2026, 3, 2, tzinfo=UTC))


async def test_the_sole_process_leads_from_the_start() -> None:
    part = Part()
    gate = LeaderGate(SoleProcess(FakeClock()), me())
    await gate.start([part, None])

    status = gate.status()
    assert part.running and gate.is_leader and gate.can_run_leader_work
    assert status.leader is not None and status.leader.process_id == "p1"

    await gate.stop()
    assert not part.running and gate.status().leader is None


async def test_parts_start_when_elected_and_stop_when_the_lead_is_lost() -> None:
    election, part = ElectionByHand(), Part()
    gate = LeaderGate(election, me())
    await gate.start([part])
    assert not part.running and not gate.can_run_leader_work

    election.available.set()
    assert await _until(gate, True)
    assert part.running

    election.available.clear()  # e.g. its database session died
    assert await _until(gate, False)
    assert not part.running

    election.available.set()
    assert await _until(gate, True)
    await gate.stop()
    assert part.starts == 2 and not part.running and election.resigned


async def _until(gate: LeaderGate, leading: bool) -> bool:
    return await anyio.to_thread.run_sync(gate.wait_until_leading, leading, WAIT)
