"""Every process projects the shared log into the shared tables (decision record 0003):
however their batches interleave, each event counts once — rows, counters and cost
ledgers equal a single rebuild — the tracked position never moves back, and each
process's listeners (its SSE hub) hear every position once, in order."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from application.commands.common import change_worker
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import PauseReason, WorkerStatus
from domain.worker import CMLWorker
from infrastructure.read_model import ProjectedEvent
from infrastructure.read_model.costs import decode
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.postgres_support import pg_settings

pytestmark = pytest.mark.postgres
WAIT = 30.0  # a bound, not a delay
CAUSE = Cause("ops", "c")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AUDIT = """
    CREATE TABLE cml_fleet.tracking_audit (old BIGINT, new BIGINT NOT NULL);
    CREATE FUNCTION cml_fleet.audit_tracking() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO cml_fleet.tracking_audit VALUES (
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.notification_id END, NEW.notification_id);
        RETURN NEW;
    END $$;
    CREATE TRIGGER audit AFTER INSERT OR UPDATE ON cml_fleet.workers_tracking
        FOR EACH ROW EXECUTE FUNCTION cml_fleet.audit_tracking();
"""


class Heard:
    """A read-model listener: every position it was told about, in order."""

    def __init__(self) -> None:
        self.positions: list[int] = []

    def __call__(self, batch: Sequence[ProjectedEvent]) -> None:
        self.positions.extend(p.position for p in batch)


@pytest.fixture
def processes(pg_dsn: str, tmp_path: Path) -> Iterator[list[System]]:
    """Three processes' systems on one database (built, not started)."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(AUDIT)
    with ExitStack() as stack:
        systems = []
        for n in range(3):
            system = bootstrap(pg_settings(pg_dsn, tmp_path / f"p{n}"))
            stack.callback(system.close)
            stack.callback(system.read_model.stop)
            systems.append(system)
        yield systems


def imported(n: int) -> CMLWorker:
    return CMLWorker.import_instance(
        WorkerSpec(name=f"w{n:04d}", region="eu-west-1", instance_type="m5.xlarge"),
        instance_id=f"i-{n}",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )


def idle_cycles(system: System, worker: UUID, cycles: int) -> None:
    """Paused for idleness, stopped, resumed, running again: running and saved time."""
    for c in range(cycles):
        at = T0 + timedelta(hours=c)
        for change in (
            lambda w, at=at: w.pause(PauseReason.IDLE_TIMEOUT, at=at, cause=CAUSE),
            lambda w: w.observe_status(WorkerStatus.STOPPED, cause=CAUSE),
            lambda w, at=at: w.resume(PauseReason.MANUAL, at=at, cause=CAUSE),
            lambda w: w.observe_status(WorkerStatus.RUNNING, cause=CAUSE),
        ):
            change_worker(system.store, worker, change, "c")


def busy_log(system: System, workers: Sequence[UUID], cycles: int) -> None:
    """Several threads changing their own workers at once."""
    threads = [
        threading.Thread(
            target=lambda ws=workers[k::4]: [idle_cycles(system, w, cycles) for w in ws]
        )
        for k in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)


def everything(system: System) -> tuple[Any, ...]:
    """The shared tables through the read model: rows, cost ledgers, position."""
    model = system.read_model
    ledgers, position = model.view.all_ledgers()
    return model.all_workers(include_terminated=True), sorted(ledgers), position


def rebuilt(system: System) -> tuple[Any, ...]:
    """What a single process replaying the whole log alone produces."""
    system.read_model.rebuild()
    return everything(system)


def tracked_changes(dsn: str) -> list[tuple[int | None, int]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT old, new FROM cml_fleet.tracking_audit").fetchall()


def counted_time(state: tuple[Any, ...]) -> tuple[float, float]:
    ledgers = [decode(text) for text in state[1]]
    return sum(x.running_seconds for x in ledgers), sum(x.saved_seconds for x in ledgers)


def test_two_processes_projecting_at_once_count_each_event_once(
    processes: list[System], pg_dsn: str
) -> None:
    a, b, single = processes
    heard = [Heard(), Heard()]
    for system, listener in zip((a, b), heard, strict=True):
        system.read_model.add_listener(listener)
        system.read_model.start()
    workers = [imported(n) for n in range(400)]
    a.store.save(*workers)  # one save: batches of 500 that both processes race for
    busy_log(a, [w.id for w in workers[:12]], cycles=5)
    last = a.store.max_position()
    assert a.read_model.wait_until_blocking(last, WAIT)
    assert b.read_model.wait_until_blocking(last, WAIT)
    for system in (a, b):
        system.read_model.stop()
    shared = everything(a)

    assert rebuilt(single) == shared
    assert min(counted_time(shared)) > 0  # time was counted, so double counting would show
    assert heard[0].positions == heard[1].positions == list(range(1, last + 1))
    changes = tracked_changes(pg_dsn)
    assert changes and all(old is None or new > old for old, new in changes)
    views = [a.read_model.view, b.read_model.view]
    assert sum(v.batches_written for v in views) >= 1


def test_a_process_far_behind_catches_up_without_counting_twice(
    processes: list[System], pg_dsn: str
) -> None:
    ahead, behind, single = processes  # all built before any event: every follower at 0
    workers = [imported(n) for n in range(6)]
    ahead.read_model.start()
    ahead.store.save(*workers)
    busy_log(ahead, [w.id for w in workers], cycles=2)
    assert ahead.read_model.wait_until_blocking(ahead.store.max_position(), WAIT)
    ahead.read_model.stop()
    # More happens while only the process far behind projects: its first batch spans
    # what the other already wrote and what nobody has.
    busy_log(behind, [w.id for w in workers], cycles=2)
    last = behind.store.max_position()
    heard = Heard()
    behind.read_model.add_listener(heard)
    behind.read_model.start()
    assert behind.read_model.wait_until_blocking(last, WAIT)
    behind.read_model.stop()
    shared = everything(behind)

    assert rebuilt(single) == shared
    assert min(counted_time(shared)) > 0
    assert heard.positions == list(range(1, last + 1))
    assert all(old is None or new > old for old, new in tracked_changes(pg_dsn))
