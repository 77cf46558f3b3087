"""Before its schedule takes a worker down, the worker's CML users are warned by a
system notice, once, ``notice_minutes`` ahead, in the schedule's own time zone; the
notice is in the worker's history as the schedule's act. A worker kept up past the end
(an override, or hours that go on) is not warned; one whose CML does not answer is
not warned and the others are."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.commands.settings import OverrideSchedule, override_schedule
from domain.schedules import Period, Schedule, parse_days
from domain.tags import SCHEDULE_TAG
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.builders import build_metrics_job, build_schedule_job
from tests.operations_fleet import OpsFleet

MONDAY_1735 = datetime(2026, 12, 7, 16, 35, tzinfo=UTC)  # 17:35 in Amsterdam
OFFICE = Schedule("office", "Europe/Amsterdam", (Period(parse_days("mon-fri"), time(8), time(18)),))
MINUTE = timedelta(minutes=1)


class Rig:
    def __init__(self) -> None:
        self.fleet = OpsFleet.build(clock=FakeClock(MONDAY_1735), operations_enabled=False)
        self.fleet.system.schedules.put(OFFICE, "ada")
        self.metrics = build_metrics_job(self.fleet.system)
        self.job = build_schedule_job(self.fleet.system)

    def add(self, name: str) -> UUID:
        """A running worker following "office", tagged so in EC2 too (the metrics job
        brings EC2's tags in)."""
        worker = self.fleet.add(name, tags={SCHEDULE_TAG: "office"})
        self.fleet.world.retag(self.fleet.instance_of(worker), {SCHEDULE_TAG: "office"}, [])
        return worker

    async def at(self, moment: datetime) -> Any:
        self.fleet.clock.set(moment)
        await self.caught_up()
        await self.metrics.run(moment)
        await self.caught_up()
        report = await self.job.run(moment)
        await self.caught_up()
        return report

    async def caught_up(self) -> None:
        position = self.fleet.store.max_position()
        assert await self.fleet.system.read_model.wait_until(position, 5.0)

    def notices(self, worker: UUID) -> list[dict[str, Any]]:
        return list(self.fleet.instance_of(worker).cml.notices)


@pytest.fixture
async def rig() -> Any:
    rig = Rig()
    await rig.fleet.system.start()
    try:
        yield rig
    finally:
        await rig.fleet.system.stop()


async def test_users_are_warned_once_ten_minutes_before_the_schedule_stops_it(rig: Rig) -> None:
    worker = rig.add("lab-1")

    early = await rig.at(MONDAY_1735)
    warned = await rig.at(MONDAY_1735 + 16 * MINUTE)  # 17:51
    again = await rig.at(MONDAY_1735 + 20 * MINUTE)

    assert (early.warned, warned.warned, again.warned) == (0, 1, 0)
    (notice,) = rig.notices(worker)
    assert notice["label"] == "This worker stops at 18:00 (Europe/Amsterdam)"
    assert "schedule 'office'" in notice["content"] and notice["enabled"] is True
    history = rig.fleet.system.store.worker_events(worker, before_version=None, limit=100)
    posted = [e for e in history if type(e).__name__ == "NoticePosted"]
    assert [(e.actor, e.action, e.down_at) for e in posted] == [
        ("schedule:office", "stop", datetime(2026, 12, 7, 17, 0, tzinfo=UTC))
    ]


async def test_a_worker_kept_running_past_the_end_is_not_warned(rig: Rig) -> None:
    kept, other = rig.add("kept"), rig.add("other")
    until = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
    override_schedule(OverrideSchedule(kept, "olga", "o", until=until), rig.fleet.store,
                      rig.fleet.clock)  # fmt: skip

    report = await rig.at(MONDAY_1735 + 20 * MINUTE)

    assert report.warned == 1
    assert rig.notices(kept) == [] and len(rig.notices(other)) == 1


async def test_a_worker_whose_cml_fails_is_not_warned_and_the_others_are(rig: Rig) -> None:
    failing, fine = rig.add("failing"), rig.add("fine")
    await rig.at(MONDAY_1735)
    rig.fleet.instance_of(failing).state = "stopping"  # its CML stops answering

    report = await rig.job.run(MONDAY_1735 + 20 * MINUTE)

    assert report.warned == 1
    assert len(rig.notices(fine)) == 1 and rig.notices(failing) == []
