"""After a restart on the same data dir the simulated fleet is still there: the demo
workers keep their instances and nothing is mistaken for terminated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.demo import seed_demo_fleet
from tests.jobs_fleet import JobsFleet


def system_on(data_dir: Path, clock: FakeClock) -> System:
    settings = Settings(data_dir=data_dir, demo_workers=6, scheduler_enabled=False)
    return bootstrap(settings, clock=clock)


async def fleet_view(fleet: JobsFleet) -> dict[str, tuple[str | None, str]]:
    await fleet.cycle(after=timedelta(minutes=1))
    await fleet.caught_up()
    workers = fleet.system.read_model.all_workers(include_terminated=True)
    return {w.name: (w.instance_id, w.status) for w in workers}


async def test_the_demo_fleet_is_the_same_after_a_restart(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    first = system_on(tmp_path, clock)
    assert seed_demo_fleet(first) == 6
    await first.start()
    try:
        before = await fleet_view(JobsFleet(first))
    finally:
        await first.stop()

    clock.advance(timedelta(minutes=5))
    second = system_on(tmp_path, clock)
    assert seed_demo_fleet(second) == 0  # the store has workers: no second demo fleet
    await second.start()
    try:
        after = await fleet_view(JobsFleet(second))
    finally:
        await second.stop()

    assert after == before
    assert {status for _, status in after.values()} == {"running", "stopped"}
