"""The idle detection job on a simulated fleet: a worker nobody uses is paused on its
own after its timeout; activity, running labs, a resume's snooze period or idle
detection switched off keep it running."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.commands.lifecycle import ResumeWorker, resume_worker
from application.commands.observations import (
    ObserveInstance,
    RecordActivity,
    observe_instance,
    record_activity,
)
from application.commands.settings import ConfigureIdleDetection, configure_idle_detection
from application.jobs.idle import IdleReport
from domain.status import WorkerStatus
from domain.values import ActivityRecord
from infrastructure.outside.simulated.cml_host import SimLab
from infrastructure.wiring.builders import build_idle_job, build_metrics_job
from tests.operations_fleet import OpsFleet

MINUTE = timedelta(minutes=1)


class IdleRig:
    def __init__(self, **settings: Any) -> None:
        self.fleet = OpsFleet.build(operations_enabled=False, **settings)
        self.metrics = build_metrics_job(self.fleet.system)
        self.idle = build_idle_job(self.fleet.system)

    async def start(self) -> None:
        await self.fleet.system.start()

    async def stop(self) -> None:
        await self.fleet.system.stop()

    async def after(self, delta: timedelta) -> IdleReport:
        """Let time pass, refresh the fleet like the metrics job does, run the idle job."""
        self.fleet.clock.advance(delta)
        await self.caught_up()
        await self.metrics.run(self.fleet.clock.now())
        await self.caught_up()
        report = await self.idle.run(self.fleet.clock.now())
        await self.caught_up()
        return report

    async def caught_up(self) -> None:
        position = self.fleet.store.max_position()
        assert await self.fleet.system.read_model.wait_until(position, 5.0)

    def now(self) -> datetime:
        return self.fleet.clock.now()


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> Any:
    rig = IdleRig(**getattr(request, "param", {}))
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()


async def test_an_idle_worker_is_paused_after_its_timeout_counted_as_automatic(
    rig: IdleRig,
) -> None:
    worker_id = rig.fleet.add("quiet")
    first = await rig.after(MINUTE)
    dto = await rig.fleet.dto(worker_id)
    assert first.paused == 0
    assert dto.idle_since is not None and dto.auto_pause_due_at is not None
    due = datetime.fromisoformat(dto.auto_pause_due_at)
    assert due - datetime.fromisoformat(dto.idle_since) == timedelta(minutes=60)

    report = await rig.after(due - rig.now() + MINUTE)

    assert report.paused_workers == (str(worker_id),)
    worker = rig.fleet.worker(worker_id)
    assert worker.status is WorkerStatus.STOPPING
    assert (worker.auto_pause_count, worker.manual_pause_count) == (1, 0)
    pause = worker.pause_history[-1]
    assert (pause.reason, pause.actor) == ("idle_timeout", "job:idle")
    assert pause.idle_minutes is not None and 61 <= pause.idle_minutes <= 63


async def test_recent_activity_moves_the_countdown(rig: IdleRig) -> None:
    worker_id = rig.fleet.add("used")
    await rig.after(50 * MINUTE)
    someone = ActivityRecord(rig.now(), "start_lab", "lab A")
    record_activity(RecordActivity(worker_id, "test", "c", records=(someone,)), rig.fleet.store)

    report = await rig.after(20 * MINUTE)  # 70 min after creation, 20 after the activity

    assert report.paused == 0
    dto = await rig.fleet.dto(worker_id)
    assert dto.auto_pause_due_at is not None
    assert datetime.fromisoformat(dto.auto_pause_due_at) == someone.at + 60 * MINUTE


async def test_activity_since_the_last_metrics_cycle_is_found_before_pausing(
    rig: IdleRig,
) -> None:
    worker_id = rig.fleet.add("caught-in-time")
    await rig.after(MINUTE)
    rig.fleet.clock.advance(61 * MINUTE)
    await rig.metrics.run(rig.now())
    await rig.caught_up()
    # A user imports a lab after that metrics cycle, just before the idle job runs.
    rig.fleet.instance_of(worker_id).cml._event(rig.now(), "import_lab", {"user_name": "bob"})

    report = await rig.idle.run(rig.now())

    assert (report.due, report.checked, report.activity_recorded, report.paused) == (1, 1, 1, 0)
    worker = rig.fleet.worker(worker_id)
    assert worker.status is WorkerStatus.RUNNING
    assert worker.recent_activity[-1].kind == "import_lab"


async def test_our_own_service_account_is_not_somebody_using_the_worker(rig: IdleRig) -> None:
    worker_id = rig.fleet.add("quiet")
    await rig.after(MINUTE)
    cml = rig.fleet.instance_of(worker_id).cml
    cml._event(rig.now(), "user_activity", {"user_name": "cml-fleet", "action": "login"})

    report = await rig.after(61 * MINUTE)

    assert report.paused_workers == (str(worker_id),)


async def test_running_labs_count_as_activity(rig: IdleRig) -> None:
    worker_id = rig.fleet.add("lab-left-running")
    # A lab started long ago and left running: no event says anything since.
    lab = SimLab("lab-x", "OSPF areas", "alice", 4, rig.now(), rig.now(), state="STARTED")
    rig.fleet.instance_of(worker_id).cml.labs.append(lab)

    report = await rig.after(61 * MINUTE)

    assert report.paused == 0 and report.activity_recorded == 1
    worker = rig.fleet.worker(worker_id)
    assert worker.status is WorkerStatus.RUNNING
    assert worker.recent_activity[-1].kind == "labs_running"
    again = await rig.after(5 * MINUTE)  # recorded again only after the refresh period
    assert again.activity_recorded == 0


async def test_a_resume_opens_a_snooze_period_longer_than_a_short_timeout(
    rig: IdleRig,
) -> None:
    worker_id = rig.fleet.add("short-timeout")
    who = ("oscar", "c")
    configure_idle_detection(ConfigureIdleDetection(worker_id, *who, True, 15), rig.fleet.store)
    assert (await rig.after(16 * MINUTE)).paused == 1
    observe_instance(ObserveInstance(worker_id, *who, status=WorkerStatus.STOPPED), rig.fleet.store)
    resume_worker(ResumeWorker(worker_id, *who), rig.fleet.store, rig.fleet.clock)
    resumed_at = rig.now()
    observe_instance(ObserveInstance(worker_id, *who, status=WorkerStatus.RUNNING), rig.fleet.store)

    snoozing = await rig.after(20 * MINUTE)  # idle 20 min > 15, but within 30 min of snooze
    dto = await rig.fleet.dto(worker_id)
    paused = await rig.after(11 * MINUTE)

    assert snoozing.paused == 0
    assert dto.auto_pause_due_at is not None
    assert datetime.fromisoformat(dto.auto_pause_due_at) == resumed_at + 30 * MINUTE
    assert paused.paused_workers == (str(worker_id),)
    assert rig.fleet.worker(worker_id).auto_pause_count == 2


async def test_a_worker_with_idle_detection_off_is_left_alone(rig: IdleRig) -> None:
    worker_id = rig.fleet.add("keep-me")
    who = ("oscar", "c")
    configure_idle_detection(ConfigureIdleDetection(worker_id, *who, False), rig.fleet.store)

    report = await rig.after(3 * 60 * MINUTE)

    assert (report.watched, report.paused) == (0, 0)
    assert (await rig.fleet.dto(worker_id)).auto_pause_due_at is None


@pytest.mark.parametrize("rig", [{"idle_detection_enabled": False}], indirect=True)
async def test_idle_detection_off_for_the_fleet_pauses_nobody(rig: IdleRig) -> None:
    rig.fleet.add("quiet")

    report = await rig.after(3 * 60 * MINUTE)

    assert (report.workers, report.watched, report.paused) == (1, 0, 0)


async def test_a_stopped_worker_is_not_watched(rig: IdleRig) -> None:
    stopped: UUID = rig.fleet.add("asleep", stopped=True)

    report = await rig.after(3 * 60 * MINUTE)

    assert (report.watched, report.paused) == (0, 0)
    assert rig.fleet.worker(stopped).auto_pause_count == 0


async def test_the_look_before_pausing_reads_the_labs_the_metrics_job_keeps_not_cml(
    rig: IdleRig,
) -> None:
    worker_id = rig.fleet.add("quiet")
    await rig.after(MINUTE)
    rig.fleet.clock.advance(61 * MINUTE)
    await rig.metrics.run(rig.now())
    await rig.caught_up()
    world = rig.fleet.world
    lab_calls = world.count("cml:GET /labs") + world.count("cml:GET /labs/{lab_id}")

    report = await rig.idle.run(rig.now())

    assert (report.checked, report.paused) == (1, 1)  # it looked (telemetry), then paused
    assert world.count("cml:GET /labs") + world.count("cml:GET /labs/{lab_id}") == lab_calls
    assert rig.fleet.worker(worker_id).status is not WorkerStatus.RUNNING


async def test_its_cml_users_are_warned_once_before_the_idle_pause(rig: IdleRig) -> None:
    worker_id = rig.fleet.add("quiet")
    await rig.after(MINUTE)
    dto = await rig.fleet.dto(worker_id)
    assert dto.auto_pause_due_at is not None
    due = datetime.fromisoformat(dto.auto_pause_due_at)
    notices = rig.fleet.instance_of(worker_id).cml.notices

    early = await rig.after(due - rig.now() - 11 * MINUTE)  # 11 min ahead: not yet
    warned = await rig.after(2 * MINUTE)  # 9 min ahead
    again = await rig.after(MINUTE)

    assert (early.warned, warned.warned, again.warned) == (0, 1, 0)
    (notice,) = notices
    assert notice["level"] == "WARNING" and notice["enabled"] is True
    assert notice["label"] == f"This idle worker is paused at {due:%H:%M} UTC"
    dto = await rig.fleet.dto(worker_id)
    assert dto.notice_down_at == dto.auto_pause_due_at
    paused = await rig.after(due - rig.now() + MINUTE)
    assert paused.paused_workers == (str(worker_id),) and len(notices) == 1


@pytest.mark.parametrize("rig", [{"notice_minutes": 0}], indirect=True)
async def test_no_notice_when_the_notice_time_is_zero(rig: IdleRig) -> None:
    worker_id = rig.fleet.add("quiet")
    await rig.after(55 * MINUTE)
    await rig.after(MINUTE)

    assert rig.fleet.instance_of(worker_id).cml.notices == []
