"""The cost model: hours running and hours saved by auto-pause, from event timestamps,
and the money they represent at the configured prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from application.costs import CostLedger, Prices, fleet_cost
from domain.status import PauseReason, WorkerStatus
from domain.worker import CMLWorker

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ID = uuid4()
WHO = {"actor": "alice", "correlation_id": "c-1"}
S = WorkerStatus


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def status(hours: float, new: WorkerStatus) -> CMLWorker.Event:
    return CMLWorker.StatusChanged(
        originator_id=ID, originator_version=2, timestamp=at(hours),
        previous=S.UNKNOWN, status=new, **WHO,
    )  # fmt: skip


def paused(hours: float, reason: PauseReason) -> CMLWorker.Event:
    return CMLWorker.Paused(
        originator_id=ID, originator_version=2, timestamp=at(hours),
        reason=reason, at=at(hours), idle_minutes=None, **WHO,
    )  # fmt: skip


def resumed(hours: float) -> CMLWorker.Event:
    return CMLWorker.Resumed(
        originator_id=ID, originator_version=2, timestamp=at(hours),
        reason=PauseReason.MANUAL, at=at(hours), **WHO,
    )  # fmt: skip


def fold(*steps: tuple[CMLWorker.Event, WorkerStatus]) -> CostLedger:
    ledger = CostLedger(str(ID), "lab", "m5.xlarge")
    for event, after in steps:
        ledger = ledger.after(event, after.value, "lab")
    return ledger


def test_running_hours_are_the_time_spent_in_running() -> None:
    ledger = fold(
        (status(0, S.RUNNING), S.RUNNING),
        (status(2, S.STOPPED), S.STOPPED),
        (status(5, S.RUNNING), S.RUNNING),
    )
    assert ledger.hours_at(at(6)) == (3.0, 0.0)  # 2 h, then 1 h still running


def test_hours_saved_run_from_an_idle_pause_until_the_next_resume() -> None:
    ledger = fold(
        (status(0, S.RUNNING), S.RUNNING),
        (paused(1, PauseReason.IDLE_TIMEOUT), S.STOPPING),
        (status(1.1, S.STOPPED), S.STOPPED),
        (resumed(4), S.STARTING),
        (status(4.1, S.RUNNING), S.RUNNING),
        (paused(5, PauseReason.IDLE_TIMEOUT), S.STOPPING),
    )
    running, saved = ledger.hours_at(at(7))
    assert round(running, 6) == 1.9  # 0-1 and 4.1-5
    assert round(saved, 6) == 5.0  # 1-4 closed, 5-7 still open


def test_a_manual_pause_or_an_outside_stop_saves_nothing_by_auto_pause() -> None:
    ledger = fold(
        (status(0, S.RUNNING), S.RUNNING),
        (paused(1, PauseReason.MANUAL), S.STOPPING),
        (paused(1, PauseReason.EXTERNAL), S.STOPPED),
    )
    assert ledger.hours_at(at(3)) == (1.0, 0.0)


def test_a_worker_started_without_a_resume_stops_saving_and_termination_ends_everything() -> None:
    ledger = fold(
        (status(0, S.RUNNING), S.RUNNING),
        (paused(1, PauseReason.IDLE_TIMEOUT), S.STOPPING),
        (status(2, S.STARTING), S.STARTING),  # started in the console: no resume event
        (status(2.5, S.RUNNING), S.RUNNING),
        (status(3.5, S.TERMINATED), S.TERMINATED),
    )
    assert ledger.hours_at(at(10)) == (2.0, 1.0)


def test_money_is_hours_times_the_price_of_the_instance_type() -> None:
    cheap = fold(
        (status(0, S.RUNNING), S.RUNNING), (paused(2, PauseReason.IDLE_TIMEOUT), S.STOPPING)
    )
    big: Any = CostLedger("w2", "big", "c5.9xlarge", running_seconds=3600.0)
    prices = Prices({"m5.xlarge": 0.2}, default=1.5, currency="EUR")

    cost = fleet_cost([cheap, big], prices, at(4), per_worker=True)

    assert (cost.currency, cost.as_of) == ("EUR", "2026-03-02T12:00:00.000Z")
    assert (cost.running_hours, cost.running_cost) == (3.0, 1.9)  # 2 h x 0.2 + 1 h x 1.5
    assert (cost.saved_hours, cost.saved_cost) == (2.0, 0.4)
    assert cost.workers is not None
    assert [w.name for w in cost.workers] == ["big", "lab"]  # most expensive first
    assert fleet_cost([cheap], prices, at(4)).workers is None
