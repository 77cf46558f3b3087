"""The schedule job on a real system (SQLite, fake clock): a worker that follows a
schedule is stopped after hours and started before the next, each time as the worker's
own command caused by ``schedule:<name>``; a lab in use holds the stop for the grace
time; a worker of an unknown schedule is left alone and named in the report."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from application.commands.lifecycle import CreateWorker, create_worker
from application.commands.observations import ObserveInstance, observe_instance
from application.queries import GetWorker
from domain.schedules import Period, Schedule, parse_days
from domain.status import WorkerStatus as S
from domain.tags import SCHEDULE_TAG
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.builders import build_schedule_job
from tests.integration.test_http_api import settings_for

FRIDAY_5PM = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # 17:00 in Amsterdam
OFFICE = Schedule(
    "office", "Europe/Amsterdam", (Period(parse_days("mon-fri"), time(8), time(18)),),
    lead_minutes=15, grace_minutes=30,
)  # fmt: skip


@pytest.fixture
def fleet(tmp_path: Path) -> System:
    system = bootstrap(settings_for(tmp_path), clock=FakeClock(FRIDAY_5PM))
    system.schedules.put(OFFICE, "ada")
    return system


def running_worker(system: System, name: str, schedule: str) -> UUID:
    command = CreateWorker(
        name, "eu-west-1", "m5.xlarge", "ada", "c", ami_id="ami-0123456789abcdef0",
        tags={SCHEDULE_TAG: schedule},
    )  # fmt: skip
    created = create_worker(command, system.store)
    seen = ObserveInstance(created.worker_id, "job:metrics", "m", status=S.RUNNING)
    observe_instance(seen, system.store)
    return created.worker_id


def cycle(system: System, at: datetime) -> object:
    system.read_model.catch_up()
    return asyncio.run(build_schedule_job(system).run(at))


def status(system: System, worker: UUID) -> str:
    system.read_model.catch_up()
    return system.read_model.get_worker(GetWorker(worker)).status


def history(system: System, worker: UUID) -> list[tuple[str, str]]:
    from application.history import GetWorkerHistory, get_worker_history

    page = get_worker_history(GetWorkerHistory(worker, limit=50), system.store)
    return [(item.type, item.actor) for item in page.items]


def test_after_hours_the_worker_is_stopped_and_before_hours_started_by_the_schedule(
    fleet: System,
) -> None:
    worker = running_worker(fleet, "lab-1", "office")

    within = cycle(fleet, FRIDAY_5PM)
    after = cycle(fleet, FRIDAY_5PM + timedelta(hours=1, minutes=1))

    assert within.actions == ()  # type: ignore[attr-defined]
    assert len(after.actions) == 1 and "hours over" in after.actions[0]  # type: ignore[attr-defined]
    assert status(fleet, worker) == "stopping"
    assert ("worker.stop.requested", "schedule:office") in history(fleet, worker)
    assert cycle(fleet, FRIDAY_5PM + timedelta(hours=1, minutes=2)).actions == ()  # type: ignore[attr-defined]

    observe_instance(ObserveInstance(worker, "job:metrics", "m", status=S.STOPPED), fleet.store)
    monday_745 = datetime(2026, 12, 7, 6, 45, tzinfo=UTC)
    assert cycle(fleet, monday_745 - timedelta(minutes=1)).actions == ()  # type: ignore[attr-defined]
    started = cycle(fleet, monday_745)
    assert len(started.actions) == 1 and "start" in started.actions[0]  # type: ignore[attr-defined]
    assert history(fleet, worker)[0] == ("worker.start.requested", "schedule:office")


def test_a_worker_of_an_unknown_schedule_is_left_alone_and_named(fleet: System) -> None:
    worker = running_worker(fleet, "lab-2", "evenings")

    report = cycle(fleet, FRIDAY_5PM + timedelta(hours=3))

    assert report.unknown_schedules == ("evenings",)  # type: ignore[attr-defined]
    assert report.actions == () and status(fleet, worker) == "running"  # type: ignore[attr-defined]


def test_an_operators_override_keeps_the_worker_running_until_it_expires(fleet: System) -> None:
    from application.commands.settings import OverrideSchedule, override_schedule

    worker = running_worker(fleet, "lab-3", "office")
    nine_pm = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)  # 21:00 in Amsterdam
    command = OverrideSchedule(worker, "Olga Operator <olga>", "o", until=nine_pm)
    override_schedule(command, fleet.store, fleet.clock)

    assert cycle(fleet, FRIDAY_5PM + timedelta(hours=2)).actions == ()  # type: ignore[attr-defined]
    assert status(fleet, worker) == "running"
    later = cycle(fleet, nine_pm + timedelta(minutes=1))
    assert len(later.actions) == 1 and status(fleet, worker) == "stopping"  # type: ignore[attr-defined]


def test_a_schedule_that_pauses_records_the_schedule_as_the_pause_reason(fleet: System) -> None:
    fleet.schedules.put(Schedule("nights", "UTC", OFFICE.periods, off="pause"), "ada")
    worker = running_worker(fleet, "lab-4", "nights")

    cycle(fleet, FRIDAY_5PM + timedelta(hours=2))

    fleet.read_model.catch_up()
    view = fleet.read_model.get_worker(GetWorker(worker))
    assert (view.status, view.scheduled_pause_count, view.manual_pause_count) == ("stopping", 1, 0)
    assert (view.pause_history[-1].reason, view.pause_history[-1].actor) == (
        "schedule",
        "schedule:nights",
    )


def test_a_worker_started_after_hours_is_kept_up_its_keep_alive_window(tmp_path: Path) -> None:
    # Event times are the wall clock's, so this test's schedule is placed around it: its
    # hours ended two hours ago, and the worker comes up (by hand) now.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    hours = Period(parse_days("mon-sun"), (now - timedelta(hours=3)).time(),
                   (now - timedelta(hours=2)).time())  # fmt: skip
    system = bootstrap(settings_for(tmp_path), clock=FakeClock(now))
    system.schedules.put(Schedule("late", "UTC", (hours,), keep_alive_minutes=45), "ada")
    worker = running_worker(system, "lab-5", "late")

    kept = cycle(system, now + timedelta(minutes=44))
    assert kept.actions == () and status(system, worker) == "running"  # type: ignore[attr-defined]
    ended = cycle(system, now + timedelta(minutes=46))
    assert len(ended.actions) == 1 and status(system, worker) == "stopping"  # type: ignore[attr-defined]
