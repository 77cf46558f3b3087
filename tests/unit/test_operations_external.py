"""Changes made outside cml-fleet (the AWS console, CML by hand) are seen by the metrics
job and recorded as such: an external pause or resume, a termination, a license status
observed; what cml-fleet asked for itself is not mistaken for one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from application.commands.license import RequestLicenseRegistration, request_license_registration
from application.commands.lifecycle import StopWorker, stop_worker
from domain.status import LicenseStatus, WorkerStatus
from infrastructure.wiring.builders import build_metrics_job
from tests.operations_fleet import OpsFleet

MINUTE = timedelta(minutes=1)
S = WorkerStatus


class Watched:
    def __init__(self) -> None:
        self.fleet = OpsFleet.build(operations_enabled=False)
        self.job = build_metrics_job(self.fleet.system)

    async def cycle(self, after: timedelta = MINUTE) -> None:
        self.fleet.clock.advance(after)
        await self.caught_up()
        await self.job.run(self.fleet.clock.now())
        await self.caught_up()

    async def caught_up(self) -> None:
        position = self.fleet.store.max_position()
        assert await self.fleet.system.read_model.wait_until(position, 5.0)


@pytest.fixture
async def watched() -> AsyncIterator[Watched]:
    rig = Watched()
    await rig.fleet.system.start()
    try:
        yield rig
    finally:
        await rig.fleet.system.stop()


async def test_a_start_in_the_console_is_an_external_resume_that_opens_the_snooze(
    watched: Watched,
) -> None:
    fleet = watched.fleet
    worker_id = fleet.add("asleep", stopped=True)
    await watched.cycle()

    fleet.cloud.console_start(fleet.instance_of(worker_id).instance_id)
    await watched.cycle()

    worker = fleet.worker(worker_id)
    assert worker.status in (S.STARTING, S.RUNNING)
    assert (worker.resume_count, worker.last_resumed_at) == (1, fleet.clock.now())
    resumes = [e for e in fleet.store.events.get(worker_id) if type(e).__name__ == "Resumed"]
    assert [(e.reason.value, e.actor) for e in resumes] == [("external", "job:metrics")]


async def test_a_stop_in_the_console_is_an_external_pause(watched: Watched) -> None:
    fleet = watched.fleet
    worker_id = fleet.add("busy")
    await watched.cycle()

    fleet.cloud.console_stop(fleet.instance_of(worker_id).instance_id)
    await watched.cycle()

    worker = fleet.worker(worker_id)
    assert worker.status in (S.STOPPING, S.STOPPED)
    assert (worker.external_pause_count, worker.manual_pause_count) == (1, 0)
    assert worker.pause_history[-1].reason == "external"


async def test_a_termination_in_the_console_ends_the_worker(watched: Watched) -> None:
    fleet = watched.fleet
    worker_id = fleet.add("doomed")
    await watched.cycle()

    fleet.cloud.console_terminate(fleet.instance_of(worker_id).instance_id)
    await watched.cycle(after=2 * MINUTE)

    assert fleet.worker(worker_id).status is S.TERMINATED
    assert fleet.events(worker_id)[-1] == "Terminated"


async def test_a_stop_cml_fleet_asked_for_is_not_an_external_pause(watched: Watched) -> None:
    fleet = watched.fleet
    worker_id = fleet.add("lab")
    await watched.cycle()
    stop_worker(StopWorker(worker_id, "oscar", "c-stop"), fleet.store)
    await fleet.cloud.stop_instance("eu-west-1", fleet.instance_of(worker_id).instance_id)

    await watched.cycle(after=2 * MINUTE)

    worker = fleet.worker(worker_id)
    assert worker.status is S.STOPPED
    assert worker.external_pause_count == 0 and "Paused" not in fleet.events(worker_id)


async def test_an_expiry_or_a_deregistration_elsewhere_shows_up_as_an_observation(
    watched: Watched,
) -> None:
    fleet = watched.fleet
    worker_id = fleet.add("licensed")
    cml = fleet.instance_of(worker_id).cml
    cml.registration, cml.authorization = "COMPLETED", "IN_COMPLIANCE"
    await watched.cycle()
    assert fleet.worker(worker_id).license_status is LicenseStatus.REGISTERED

    cml.authorization = "AUTHORIZATION_EXPIRED"
    await watched.cycle()
    expired = fleet.worker(worker_id).license_status
    cml.deregister()  # by hand, on the CML UI
    await watched.cycle()
    observed = fleet.events(worker_id).count("LicenseStatusObserved")
    await watched.cycle()  # nothing new: nothing recorded

    assert expired is LicenseStatus.EXPIRED
    assert fleet.worker(worker_id).license_status is LicenseStatus.EVALUATION
    assert observed == fleet.events(worker_id).count("LicenseStatusObserved") == 3


async def test_the_passive_sync_leaves_a_registration_in_progress_to_its_outcome(
    watched: Watched,
) -> None:
    fleet = watched.fleet
    worker_id = fleet.add("registering")
    fleet.instance_of(worker_id).cml.deregister()
    await watched.cycle()
    command = RequestLicenseRegistration(worker_id, "ada", "c-reg", token="abc")
    request_license_registration(command, fleet.store)

    await watched.cycle()

    assert fleet.worker(worker_id).license_status is LicenseStatus.REGISTERING
