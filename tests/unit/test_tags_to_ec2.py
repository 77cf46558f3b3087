"""Tags are carried out: a change asked for reaches the instance in EC2 (once, even
when the operation runs again), a change made in EC2 directly is seen and recorded,
and ``Name``, ``cml-fleet:*`` and ``aws:*`` are never touched through cml-fleet."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.commands.settings import ChangeTags, change_tags
from application.operations.context import Result
from application.operations.requests import operation_for
from application.ports_errors import CloudUnauthorized
from domain.cause import Cause
from domain.errors import InvalidValue
from domain.tags import TagLimitReached
from infrastructure.wiring.builders import build_metrics_job
from tests.operations_fleet import OpsFleet
from tests.unit.test_operations_power import FlakyCloud, requested, with_cloud


def tag(fleet: OpsFleet, worker_id: UUID, *remove: str, **add: str) -> None:
    command = ChangeTags(worker_id, "alice", "c-tags", add=add, remove=remove)
    change_tags(command, fleet.store)


def ec2_tags(fleet: OpsFleet, worker_id: UUID) -> dict[str, str]:
    return dict(fleet.instance_of(worker_id).info().tags)


async def test_a_tag_change_reaches_the_instance_in_ec2_once() -> None:
    fleet = OpsFleet.build(operations_enabled=False)
    worker_id = fleet.add("lab", tags={"team": "net"})
    fleet.world.retag(fleet.instance_of(worker_id), {"team": "net"}, ())
    tag(fleet, worker_id, "team", owner="bob")
    engine = fleet.engine()

    first = await engine.carry_out(requested(fleet, worker_id))
    again = await engine.carry_out(requested(fleet, worker_id))  # delivered twice

    tags = ec2_tags(fleet, worker_id)
    assert tags.get("owner") == "bob" and "team" not in tags
    assert (first.result, again.result) == (Result.DONE, Result.SKIPPED)
    assert fleet.calls("CreateTags") == 1 and fleet.calls("DeleteTags") == 1
    assert fleet.events(worker_id)[-2:] == ["TagsChanged", "TagsApplied"]
    assert fleet.worker(worker_id).tags_pending_version is None


async def test_the_reactor_writes_what_the_api_asks_as_the_api_is_used() -> None:
    fleet = OpsFleet.build()  # the reactor follows the log, as in the server
    await fleet.system.start()
    try:
        worker_id = fleet.add("lab")
        tag(fleet, worker_id, owner="carol", course="ccna")
        await fleet.settled()
    finally:
        await fleet.system.stop()
    tags = ec2_tags(fleet, worker_id)
    assert (tags.get("owner"), tags.get("course")) == ("carol", "ccna")
    assert fleet.events(worker_id)[-1] == "TagsApplied"


async def test_a_tag_write_refused_by_ec2_is_recorded_and_ec2s_tags_win_again() -> None:
    fleet = OpsFleet.build(operations_enabled=False)
    worker_id = fleet.add("lab")
    tag(fleet, worker_id, owner="mallory")
    denied = CloudUnauthorized("not allowed", code="UnauthorizedOperation")
    engine = with_cloud(fleet, FlakyCloud(fleet.cloud, tags=[denied]))

    outcome = await engine.carry_out(requested(fleet, worker_id))

    worker = fleet.worker(worker_id)
    assert outcome.result is Result.FAILED
    assert worker.last_operation_error == "tags: not allowed"
    assert worker.tags_pending_version is None  # EC2's tags are observed again
    assert "owner" not in ec2_tags(fleet, worker_id)


async def test_tags_changed_in_ec2_directly_are_observed_and_recorded() -> None:
    fleet = OpsFleet.build(operations_enabled=False)
    await fleet.system.start()
    try:
        worker_id = fleet.add("lab")
        await fleet.dto(worker_id)  # the job reads the fleet from the read model
        job = build_metrics_job(fleet.system)
        await job.run(fleet.clock.now())
        fleet.world.retag(fleet.instance_of(worker_id), {"cost-center": "42"}, ())

        fleet.clock.advance(timedelta(minutes=1))
        await job.run(fleet.clock.now())
        dto = await fleet.dto(worker_id)
    finally:
        await fleet.system.stop()
    assert dto.tags.get("cost-center") == "42"
    events = list(fleet.store.events.get(worker_id))
    observed = [e for e in events if type(e).__name__ == "TagsChanged"]
    assert observed[-1].observed and observed[-1].added == {"cost-center": "42"}
    assert observed[-1].actor == "job:metrics"


async def test_a_change_on_its_way_to_ec2_is_not_undone_by_an_observation() -> None:
    fleet = OpsFleet.build(operations_enabled=False)
    await fleet.system.start()
    try:
        worker_id = fleet.add("lab")
        await fleet.dto(worker_id)  # the job reads the fleet from the read model
        job = build_metrics_job(fleet.system)
        await job.run(fleet.clock.now())
        tag(fleet, worker_id, owner="bob")  # recorded; not yet in EC2

        fleet.clock.advance(timedelta(minutes=1))
        await job.run(fleet.clock.now())
        before_write = fleet.worker(worker_id).tags
        await fleet.engine().carry_out(requested(fleet, worker_id))
    finally:
        await fleet.system.stop()
    assert before_write.get("owner") == "bob"
    assert ec2_tags(fleet, worker_id).get("owner") == "bob"


@pytest.mark.parametrize("key", ["Name", "cml-fleet:worker-id", "cml-fleet:client-token", "aws:x"])
def test_protected_tags_are_refused_whether_set_or_removed(key: str) -> None:
    fleet = OpsFleet.build(operations_enabled=False)
    worker_id = fleet.add("lab")
    with pytest.raises(InvalidValue, match="protected"):
        tag(fleet, worker_id, **{key: "x"})
    with pytest.raises(InvalidValue, match="protected"):
        tag(fleet, worker_id, key)
    assert fleet.events(worker_id)[-1] != "TagsChanged"


def test_more_tags_than_ec2_allows_are_refused() -> None:
    fleet = OpsFleet.build(operations_enabled=False)
    worker_id = fleet.add("lab")
    tag(fleet, worker_id, **{f"k{n}": "v" for n in range(50)})
    with pytest.raises(TagLimitReached, match="at most 50"):  # 409: for the worker's tags
        tag(fleet, worker_id, one_more="v")
    tag(fleet, worker_id, "k0", replaced="v")  # one out, one in: still 50


def test_a_key_both_added_and_removed_is_set() -> None:
    """The document cannot say "keys of add are not in remove", so the rule is one
    every well-formed patch satisfies: the addition wins."""
    fleet = OpsFleet.build(operations_enabled=False)
    worker_id = fleet.add("lab")
    tag(fleet, worker_id, owner="ann")
    tag(fleet, worker_id, "owner", owner="bob")
    assert fleet.worker(worker_id).tags["owner"] == "bob"


def test_a_tag_change_stored_before_tags_reached_ec2_leaves_nothing_pending() -> None:
    """Events of the previous release (no ``to_ec2``): they were never written to EC2 and
    nothing will write them now, so EC2's tags must go on being observed."""
    fleet = OpsFleet.build(operations_enabled=False)
    worker_id = fleet.add("lab")
    worker = fleet.worker(worker_id)
    worker.trigger_event(  # as the previous release recorded an operator's change
        worker.TagsChanged, added={"old": "x"}, removed=(), actor="alice", correlation_id="c"
    )
    fleet.store.save(worker)
    replayed = fleet.worker(worker_id)
    old_event = list(fleet.store.events.get(worker_id))[-1]

    assert replayed.tags_pending_version is None
    assert operation_for(old_event, position=1) is None  # nothing to carry out
    assert replayed.observe_tags({}, cause=Cause("job:metrics", "c2"))  # EC2 wins


async def test_outcomes_settling_together_are_saved_together_not_one_write_each() -> None:
    fleet = OpsFleet.build()  # the reactor and the operator commands' group commit
    workers = [fleet.add(f"lab-{n}") for n in range(24)]
    for worker_id in workers:
        tag(fleet, worker_id, owner="carol")
    writes: list[int] = []  # how many outcomes each write of the store held
    store, save, save_each = fleet.store, fleet.store.save, fleet.store.save_each

    def outcomes(workers: tuple[object, ...]) -> int:
        events = [e for w in workers for e in getattr(w, "pending_events", ())]
        return sum(type(e).__name__ == "TagsApplied" for e in events)

    def counted(write: Any) -> Any:
        def wrapper(*workers: Any) -> Any:
            if found := outcomes(workers):
                writes.append(found)
            return write(*workers)

        return wrapper

    store.save, store.save_each = counted(save), counted(save_each)  # type: ignore[method-assign]
    await fleet.system.start()
    try:
        await fleet.settled()
    finally:
        await fleet.system.stop()
    assert all(fleet.events(w)[-1] == "TagsApplied" for w in workers)
    assert sum(writes) == len(workers)
    assert len(writes) < len(workers) / 2, writes  # shared transactions
