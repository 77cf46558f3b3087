"""How the metrics job stores what it saw: each worker loaded and saved once per cycle,
workers probed together saved together, and an operator's command that races the
job's batch is kept along with the job's recordings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import pytest

from application.commands.settings import ChangeTags, change_tags
from application.jobs.metrics import MetricsJob
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.configs import metrics_job_config
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.jobs_fleet import JobsFleet
from tests.store_spy import SpyStore

FIRST_CYCLE_OF_A_BUSY_WORKER = [
    "ServiceStatusChanged",
    "EndpointChanged",
    "LicenseStatusObserved",
    "MetricsRecorded",
    "ActivityRecorded",
]


class SpiedFleet(JobsFleet):
    """The job fleet, its metrics job seeing the store through a spy."""

    def __init__(self, system: System) -> None:
        super().__init__(system)
        self.spy = SpyStore(system.store)
        self.job = MetricsJob(
            store=self.spy,
            read_model=system.read_model,
            cloud=system.cloud,
            cml=system.cml,
            run_sync=system.run_sync,
            hub=self.hub,
            history=system.metrics_history,
            config=metrics_job_config(system.settings),
        )

    def event_types(self, worker_id: str, after: int) -> list[str]:
        log = self.system.store.read_log(after, 10_000)
        return [n.topic.rsplit(".", 1)[-1] for n in log if str(n.originator_id) == worker_id]


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[SpiedFleet]:
    quiet = Settings(persistence="memory", scheduler_enabled=False, demo_workers=0)
    system = bootstrap(quiet, clock=clock)
    await system.start()
    try:
        yield SpiedFleet(system)
    finally:
        await system.stop()


async def test_a_fresh_worker_records_every_kind_of_change_in_one_load_and_one_save(
    fleet: SpiedFleet,
) -> None:
    busy = fleet.add("classroom", busy=True, age=timedelta(hours=4))
    imported = fleet.events()

    report = await fleet.cycle()

    assert fleet.event_types(busy, imported) == FIRST_CYCLE_OF_A_BUSY_WORKER
    assert report.changes_recorded == 4  # observe, license, metrics, activity
    assert fleet.spy.loads == [UUID(busy)] and fleet.spy.saves == [(UUID(busy),)]


async def test_workers_probed_together_are_saved_together_each_once(fleet: SpiedFleet) -> None:
    workers = {UUID(fleet.add(f"lab-{n}")) for n in range(20)}

    await fleet.cycle()

    saved = [w for save in fleet.spy.saves for w in save]
    assert sorted(saved) == sorted(workers)  # each worker in exactly one save
    assert len(fleet.spy.saves) < len(workers)  # and several workers per transaction


async def test_an_operator_command_racing_the_jobs_save_is_kept_with_the_jobs_changes(
    fleet: SpiedFleet,
) -> None:
    raced, other = fleet.add("raced"), fleet.add("other")
    fleet.spy.race_on = UUID(raced)
    fleet.spy.race = lambda: change_tags(  # lands between the job's load and its save
        ChangeTags(UUID(raced), "alice", "c-op", add={"owner": "alice"}), fleet.system.store
    )

    report = await fleet.cycle()

    assert fleet.spy.race is None and report.failures == 0  # the race happened, and was won
    dto = await fleet.worker(raced)
    assert dto.tags == {"owner": "alice"}
    # the job's own changes, saved after the operator's (the operations engine may
    # have written the tag to EC2 since, so the last actor is not asserted)
    assert dto.service_status == "ready" and dto.service_detail is None
    assert dto.cpu_percent is not None and dto.public_ip
    assert (await fleet.worker(other)).service_status == "ready"
