"""The engine carries out provisioning, start, stop and terminate on the simulated cloud:
once, after checking the real state, retrying what is transient, recording what fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.cloud import Launch
from application.commands.lifecycle import (
    PauseWorker,
    StartWorker,
    StopWorker,
    TerminateWorker,
    pause_worker,
    start_worker,
    stop_worker,
    terminate_worker,
)
from application.commands.observations import ObserveInstance, observe_instance
from application.operations.context import OperationsConfig, Result
from application.operations.requests import INSTANCE_TAG, Operation, client_token, operation_for
from application.operations.retry import RetryPolicy
from application.ports_errors import CloudConflict, CloudThrottled, CloudTimeout
from domain.status import WorkerStatus
from infrastructure.outside.simulated import SimulatedCloud
from tests.operations_fleet import OpsFleet

S = WorkerStatus


@pytest.fixture
def fleet() -> OpsFleet:
    return OpsFleet.build(operations_enabled=False)


def requested(fleet: OpsFleet, worker_id: UUID, version: int | None = None) -> Operation:
    """The operation requested by the worker's event at ``version`` (default: the
    latest event that requests one)."""
    events = list(fleet.store.events.get(worker_id))
    ops = [operation_for(e, position=e.originator_version) for e in events]
    found = [op for op in ops if op is not None and version in (None, op.version)]
    return found[-1]


class FlakyCloud(SimulatedCloud):
    """The simulated cloud, with scripted failures of its own."""

    def __init__(self, cloud: SimulatedCloud, **failures: Sequence[Exception]) -> None:
        super().__init__(cloud.world)
        self.failures = {name: list(errors) for name, errors in failures.items()}

    def _fail(self, name: str) -> None:
        if self.failures.get(name):
            raise self.failures[name].pop(0)

    async def run_instance(self, region: str, launch: Launch) -> str:
        self._fail("before_run")
        instance_id = await super().run_instance(region, launch)
        self._fail("after_run")  # a timeout after EC2 acted: the caller cannot tell
        return instance_id

    async def start_instance(self, region: str, instance_id: str) -> str:
        self._fail("start")
        return await super().start_instance(region, instance_id)

    async def set_tags(self, region: str, instance_id: str, tags: Mapping[str, str]) -> None:
        self._fail("tags")
        await super().set_tags(region, instance_id, tags)

    async def describe_instances(
        self,
        region: str,
        instance_ids: Sequence[str] | None = None,
        filters: Mapping[str, Sequence[str]] | None = None,
    ) -> Any:
        self._fail("describe")
        return await super().describe_instances(region, instance_ids, filters)


def with_cloud(fleet: OpsFleet, cloud: SimulatedCloud) -> Any:
    engine = fleet.engine()
    engine.context.cloud = cloud
    return engine


# ------------------------------------------------------------------ provisioning


async def test_a_requested_worker_gets_exactly_one_instance_tagged_with_its_id(
    fleet: OpsFleet,
) -> None:
    worker_id = fleet.create("lab-1", tags={"team": "net"})
    engine = fleet.engine()

    first = await engine.carry_out(requested(fleet, worker_id))
    again = await engine.carry_out(requested(fleet, worker_id))  # delivered twice

    worker = fleet.worker(worker_id)
    assert (first.result, again.result) == (Result.DONE, Result.SKIPPED)
    assert worker.status is S.PROVISIONING and worker.instance_id is not None
    token = client_token(worker_id, 1)
    assert fleet.world.token_launches == {token: 1} and fleet.world.token_calls[token] == 1
    tags = fleet.instance_of(worker_id).tags
    assert tags[INSTANCE_TAG] == str(worker_id) and tags["team"] == "net"
    assert fleet.events(worker_id)[-1] == "InstanceAssigned"


async def test_a_launch_done_before_a_crash_is_found_by_its_tag_not_launched_again(
    fleet: OpsFleet,
) -> None:
    worker_id = fleet.create("lab-1")
    # The engine launched, then the process died before recording the instance.
    launched = await fleet.cloud.run_instance(
        "eu-west-1",
        Launch(
            instance_type="m5.xlarge",
            name="lab-1",
            client_token=client_token(worker_id, 1),
            ami_id=fleet.worker(worker_id).ami_id,
            tags={INSTANCE_TAG: str(worker_id)},
        ),
    )

    outcome = await fleet.engine().carry_out(requested(fleet, worker_id))

    assert outcome.result is Result.DONE
    assert fleet.worker(worker_id).instance_id == launched
    assert sum(fleet.world.token_launches.values()) == 1
    assert fleet.calls("RunInstances") == 1  # only the one before the crash


async def test_a_launch_that_timed_out_after_taking_effect_is_not_doubled(
    fleet: OpsFleet,
) -> None:
    worker_id = fleet.create("lab-1")
    cloud = FlakyCloud(fleet.cloud, after_run=[CloudTimeout("RunInstances timed out")])

    outcome = await with_cloud(fleet, cloud).carry_out(requested(fleet, worker_id))

    assert outcome.result is Result.DONE
    assert fleet.world.token_launches == {client_token(worker_id, 1): 1}
    tagged = await fleet.cloud.describe_instances(
        "eu-west-1", filters={f"tag:{INSTANCE_TAG}": [str(worker_id)]}
    )
    assert [i.instance_id for i in tagged] == [fleet.worker(worker_id).instance_id]


async def test_throttling_is_retried_with_backoff_until_the_launch_goes_through(
    fleet: OpsFleet,
) -> None:
    worker_id = fleet.create("lab-1")
    slow_down = [CloudThrottled("slow down", code="RequestLimitExceeded") for _ in range(3)]
    cloud = FlakyCloud(fleet.cloud, before_run=slow_down)
    before = fleet.clock.now()

    outcome = await with_cloud(fleet, cloud).carry_out(requested(fleet, worker_id))

    assert outcome.result is Result.DONE
    assert fleet.worker(worker_id).status is S.PROVISIONING
    waited = fleet.clock.now() - before  # backoff, in simulated time: 0.01, 0.02, 0.04 s
    assert timedelta(seconds=0.035) <= waited <= timedelta(seconds=0.07)


async def test_a_permanent_refusal_is_recorded_as_a_failure_with_its_reason(
    fleet: OpsFleet,
) -> None:
    worker_id = fleet.create("lab-1")
    refusal = CloudConflict("not enough capacity", code="InsufficientInstanceCapacity")
    cloud = FlakyCloud(fleet.cloud, before_run=[refusal])

    outcome = await with_cloud(fleet, cloud).carry_out(requested(fleet, worker_id))

    worker = fleet.worker(worker_id)
    assert outcome.result is Result.FAILED
    assert worker.status is S.FAILED
    assert worker.last_operation_error == "provision: not enough capacity"
    assert fleet.world.token_launches == {}


async def test_transient_errors_that_never_end_become_a_failure_not_a_hang(
    fleet: OpsFleet,
) -> None:
    worker_id = fleet.create("lab-1")
    cloud = FlakyCloud(fleet.cloud, describe=[CloudTimeout("no answer")] * 10)

    outcome = await with_cloud(fleet, cloud).carry_out(requested(fleet, worker_id))

    assert outcome.result is Result.FAILED
    assert fleet.worker(worker_id).last_operation_error == (
        "provision: gave up after 6 attempts: no answer"
    )


# ------------------------------------------------------------------ power


async def test_a_start_is_carried_out_once_even_when_delivered_twice(fleet: OpsFleet) -> None:
    worker_id = fleet.add("asleep", stopped=True)
    start_worker(StartWorker(worker_id, "oscar", "c-start"), fleet.store)
    engine = fleet.engine()

    first = await engine.carry_out(requested(fleet, worker_id))
    again = await engine.carry_out(requested(fleet, worker_id))

    assert (first.result, again.result) == (Result.DONE, Result.DONE)
    assert (first.detail, again.detail) == ("call", "done")  # the second found it pending
    assert fleet.calls("StartInstances") == 1
    assert fleet.instance_of(worker_id).state == "pending"


async def test_a_pause_stops_the_instance(fleet: OpsFleet) -> None:
    worker_id = fleet.add("busy")
    pause_worker(PauseWorker(worker_id, "oscar", "c-pause"), fleet.store, fleet.clock)

    outcome = await fleet.engine().carry_out(requested(fleet, worker_id))

    assert outcome.result is Result.DONE
    assert fleet.instance_of(worker_id).state == "stopping"
    assert fleet.worker(worker_id).status is S.STOPPING  # "stopped" is the job's to observe


async def test_a_stop_superseded_by_a_later_start_is_skipped(fleet: OpsFleet) -> None:
    worker_id = fleet.add("lab")
    stop_worker(StopWorker(worker_id, "oscar", "c-stop"), fleet.store)
    stale = requested(fleet, worker_id)
    await fleet.engine().carry_out(stale)
    who = ("job:metrics", "c-observe")
    observe_instance(ObserveInstance(worker_id, *who, status=S.STOPPED), fleet.store)
    start_worker(StartWorker(worker_id, "oscar", "c-start"), fleet.store)

    replayed = await fleet.engine().carry_out(stale)  # after a crash, say

    assert replayed.result is Result.SKIPPED
    assert fleet.calls("StopInstances") == 1


async def test_a_start_waits_for_an_instance_still_stopping(fleet: OpsFleet) -> None:
    worker_id = fleet.add("lab")
    fleet.cloud.console_stop(fleet.instance_of(worker_id).instance_id)  # stopping for ~40 s
    who = ("job:metrics", "c-observe")
    observe_instance(ObserveInstance(worker_id, *who, status=S.STOPPED), fleet.store)
    start_worker(StartWorker(worker_id, "oscar", "c-start"), fleet.store)
    engine = fleet.engine()
    engine.context.config = OperationsConfig(retry=RetryPolicy(attempts=12, base=4.0, cap=30.0))
    before = fleet.clock.now()

    outcome = await engine.carry_out(requested(fleet, worker_id))

    assert outcome.result is Result.DONE
    assert fleet.instance_of(worker_id).state == "pending"
    assert fleet.calls("StartInstances") == 1
    assert fleet.clock.now() - before >= timedelta(seconds=20)  # EC2 takes 20-60 s to stop


async def test_a_refused_start_leaves_the_worker_as_ec2_has_it_with_the_reason(
    fleet: OpsFleet,
) -> None:
    worker_id = fleet.add("asleep", stopped=True)
    start_worker(StartWorker(worker_id, "oscar", "c-start"), fleet.store)
    refusal = CloudConflict("InsufficientInstanceCapacity", code="InsufficientInstanceCapacity")
    cloud = FlakyCloud(fleet.cloud, start=[refusal])

    outcome = await with_cloud(fleet, cloud).carry_out(requested(fleet, worker_id))

    worker = fleet.worker(worker_id)
    assert outcome.result is Result.FAILED
    assert worker.status is S.STOPPED
    assert worker.last_operation_error == "start: InsufficientInstanceCapacity"
    assert fleet.events(worker_id)[-1] == "OperationFailed"


async def test_terminating_a_worker_never_launched_records_its_end_at_once(
    fleet: OpsFleet,
) -> None:
    worker_id = fleet.create("never")
    terminate_worker(TerminateWorker(worker_id, "alice", "c-end"), fleet.store)
    engine = fleet.engine()

    provision = await engine.carry_out(requested(fleet, worker_id, version=1))
    ended = await engine.carry_out(requested(fleet, worker_id, version=2))

    assert provision.result is Result.SKIPPED  # already terminating
    assert ended.result is Result.DONE
    assert fleet.worker(worker_id).status is S.TERMINATED
    assert fleet.calls("RunInstances") == fleet.calls("TerminateInstances") == 0


async def test_terminating_a_running_worker_calls_ec2_once(fleet: OpsFleet) -> None:
    worker_id = fleet.add("old")
    terminate_worker(TerminateWorker(worker_id, "alice", "c-end"), fleet.store)
    engine = fleet.engine()

    await engine.carry_out(requested(fleet, worker_id))
    await engine.carry_out(requested(fleet, worker_id))

    assert fleet.calls("TerminateInstances") == 1
    assert fleet.instance_of(worker_id).state == "shutting-down"
    assert fleet.worker(worker_id).status is S.TERMINATING  # the job sees "terminated"
