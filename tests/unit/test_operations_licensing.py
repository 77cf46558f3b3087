"""License registration and deregistration through the simulated CML: the token is
taken once from memory, the outcome is what CML finally says, and a timeout or an
unexpected answer is a failure, never a success."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.commands.license import (
    RequestLicenseDeregistration,
    RequestLicenseRegistration,
    request_license_deregistration,
    request_license_registration,
)
from application.commands.observations import ObserveInstance, observe_instance
from application.commands.outcomes import CompleteLicenseRegistration, complete_license_registration
from application.operations.context import OperationsConfig, Result
from application.operations.engine import OperationEngine
from application.operations.licensing import TOKEN_GONE
from application.operations.requests import Operation, operation_for
from domain.status import LicenseStatus
from tests.operations_fleet import OpsFleet

GOOD = "NmQ4YzQ2ZDMtMmQyZC00YjEzLWE5ZTYtMjcyYzM0Nzg0YzQ1"
L = LicenseStatus


@pytest.fixture
def fleet() -> OpsFleet:
    return OpsFleet.build(operations_enabled=False)


def unlicensed(fleet: OpsFleet, name: str = "lab", **options: bool) -> UUID:
    """A running worker whose CML runs in evaluation mode (not registered)."""
    worker_id = fleet.add(name, **options)
    fleet.instance_of(worker_id).cml.deregister()
    return worker_id


def register(fleet: OpsFleet, worker_id: UUID, token: str, correlation_id: str) -> Operation:
    """What the HTTP endpoint does: hand the token over in memory, record the request."""
    command = RequestLicenseRegistration(worker_id, "ada", correlation_id, token=token)
    with fleet.system.license_tokens.holding(worker_id, correlation_id, token) as held:
        result = request_license_registration(command, fleet.store)
        held.keep_if(True)
    return latest_request(fleet, worker_id, result.position)


def latest_request(fleet: OpsFleet, worker_id: UUID, position: int = 0) -> Operation:
    """The operation requested by the worker's latest requesting event."""
    events = reversed(list(fleet.store.events.get(worker_id)))
    return next(op for e in events if (op := operation_for(e, position)) is not None)


def cml_registration(fleet: OpsFleet, worker_id: UUID) -> str:
    instance = fleet.instance_of(worker_id)
    instance.cml.settle_license(fleet.clock.now())
    return str(instance.cml.registration)


async def test_a_good_token_registers_once_cml_says_completed(fleet: OpsFleet) -> None:
    worker_id = unlicensed(fleet)
    op = register(fleet, worker_id, GOOD, "c-reg")

    outcome = await fleet.engine().carry_out(op)

    worker = fleet.worker(worker_id)
    assert outcome.result is Result.DONE
    assert worker.license_status is L.REGISTERED
    assert fleet.events(worker_id)[-1] == "LicenseRegistrationCompleted"
    assert cml_registration(fleet, worker_id) == "COMPLETED"
    assert len(fleet.system.license_tokens) == 0  # taken, and so wiped


async def test_a_malformed_token_fails_cleanly_with_cml_s_reason(fleet: OpsFleet) -> None:
    worker_id = unlicensed(fleet)
    op = register(fleet, worker_id, "bad token!", "c-reg")

    outcome = await fleet.engine().carry_out(op)

    worker = fleet.worker(worker_id)
    assert outcome.result is Result.FAILED
    assert worker.license_status is L.FAILED
    assert worker.license_detail == "CML refused the registration: HTTP 400: invalid token format"
    assert "bad token!" not in repr(worker.__dict__)


async def test_a_token_smart_licensing_rejects_later_is_a_failure(fleet: OpsFleet) -> None:
    worker_id = unlicensed(fleet)
    op = register(fleet, worker_id, "badToken123", "c-reg")

    outcome = await fleet.engine().carry_out(op)

    assert outcome.result is Result.FAILED
    assert fleet.worker(worker_id).license_detail == "Invalid registration token"


async def test_without_the_token_a_registration_fails_asking_for_it_again(
    fleet: OpsFleet,
) -> None:
    worker_id = unlicensed(fleet)
    op = register(fleet, worker_id, GOOD, "c-reg")
    fleet.system.license_tokens.take(worker_id, "c-reg")  # as after a restart: memory is gone

    outcome = await fleet.engine().carry_out(op)

    worker = fleet.worker(worker_id)
    assert outcome.result is Result.FAILED
    assert (worker.license_status, worker.license_detail) == (L.FAILED, TOKEN_GONE)
    assert cml_registration(fleet, worker_id) != "IN_PROGRESS"  # CML was never asked


async def test_a_registration_still_in_progress_at_the_deadline_is_a_failure(
    fleet: OpsFleet,
) -> None:
    worker_id = unlicensed(fleet)
    op = register(fleet, worker_id, GOOD, "c-reg")
    engine = fleet.engine()
    engine.context.config = OperationsConfig(license_timeout=timedelta(seconds=5))

    outcome = await engine.carry_out(op)  # CML needs 10 to 30 s

    worker = fleet.worker(worker_id)
    assert outcome.result is Result.FAILED
    assert worker.license_status is L.FAILED
    assert worker.license_detail is not None
    assert worker.license_detail.startswith("no final answer from CML within 0.0833333 min")


async def test_an_older_request_delivered_again_does_not_touch_the_newer_one(
    fleet: OpsFleet,
) -> None:
    worker_id = unlicensed(fleet)
    first = register(fleet, worker_id, "bad token!", "c-1")
    engine = fleet.engine()
    await engine.carry_out(first)  # failed
    second = register(fleet, worker_id, GOOD, "c-2")

    replayed = await engine.carry_out(first)
    outcome = await engine.carry_out(second)

    assert replayed.result is Result.SKIPPED
    assert outcome.result is Result.DONE
    assert fleet.worker(worker_id).license_status is L.REGISTERED


async def test_a_stopped_worker_cannot_register(fleet: OpsFleet) -> None:
    worker_id = unlicensed(fleet, "asleep", stopped=True)
    op = register(fleet, worker_id, GOOD, "c-reg")

    outcome = await fleet.engine().carry_out(op)

    assert outcome.result is Result.FAILED
    assert fleet.worker(worker_id).license_detail == (
        "the worker is not running (stopped); start it and try again"
    )


async def registered(fleet: OpsFleet, engine: OperationEngine) -> UUID:
    worker_id = unlicensed(fleet)
    await engine.carry_out(register(fleet, worker_id, GOOD, "c-reg"))
    assert fleet.worker(worker_id).license_status is L.REGISTERED
    return worker_id


async def test_deregistration_releases_the_license(fleet: OpsFleet) -> None:
    engine = fleet.engine()
    worker_id = await registered(fleet, engine)
    command = RequestLicenseDeregistration(worker_id, "ada", "c-dereg")
    request_license_deregistration(command, fleet.store)

    outcome = await engine.carry_out(latest_request(fleet, worker_id))

    assert outcome.result is Result.DONE
    assert fleet.worker(worker_id).license_status is L.UNREGISTERED
    assert cml_registration(fleet, worker_id) == "UNREGISTERED"


async def test_deregistering_what_cml_already_released_completes_without_a_call(
    fleet: OpsFleet,
) -> None:
    engine = fleet.engine()
    worker_id = await registered(fleet, engine)
    fleet.instance_of(worker_id).cml.deregister()  # done elsewhere, say by hand
    request_license_deregistration(
        RequestLicenseDeregistration(worker_id, "ada", "c-dereg"), fleet.store
    )

    outcome = await engine.carry_out(latest_request(fleet, worker_id))

    assert outcome.result is Result.DONE
    assert fleet.world.count("cml:DELETE /licensing/deregistration") == 0


async def test_a_failed_deregistration_leaves_the_license_as_it_was(fleet: OpsFleet) -> None:
    engine = fleet.engine()
    worker_id = await registered(fleet, engine)
    request_license_deregistration(
        RequestLicenseDeregistration(worker_id, "ada", "c-dereg"), fleet.store
    )
    instance = fleet.instance_of(worker_id)
    seen = ObserveInstance(worker_id, "job:metrics", "c-seen", public_ip=instance.public_ip)
    observe_instance(seen, fleet.store)  # its address, as the metrics job records it
    fleet.cloud.console_stop(instance.instance_id)  # then CML goes away

    outcome = await engine.carry_out(latest_request(fleet, worker_id))

    worker = fleet.worker(worker_id)
    assert outcome.result is Result.FAILED
    assert worker.license_status is L.REGISTERED
    assert (worker.license_detail or "").startswith("CML refused the deregistration: gave up")


def test_completing_twice_is_refused_by_the_worker(fleet: OpsFleet) -> None:
    """An outcome recorded twice (a crash between the two) cannot be recorded twice."""
    worker_id = unlicensed(fleet)
    register(fleet, worker_id, GOOD, "c-reg")
    done = CompleteLicenseRegistration(worker_id, "operations", "c-reg")
    complete_license_registration(done, fleet.store)
    with pytest.raises(Exception, match="complete a registration"):
        complete_license_registration(done, fleet.store)
