"""The metrics job keeps each worker's labs on the read side: rows that say what CML
says, one call per steady worker, changes told live, nothing added to the event log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from application.cml import LabAction
from infrastructure.outside.simulated.instance import SimInstance
from infrastructure.shared.clock import FakeClock
from tests.contract.test_cml_port import TOPOLOGY
from tests.jobs_fleet import JobsFleet, started_fleet

MINUTE = timedelta(minutes=1)
DETAILS = "cml:GET /labs/{lab_id}"


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[JobsFleet]:
    async with started_fleet(clock, labs_refresh_every_n_cycles=5) as started:
        yield started


def instance_of(fleet: JobsFleet, worker_id: str) -> SimInstance:
    found = fleet.world.find(fleet.instances[worker_id])
    assert found is not None
    return found


async def truth(fleet: JobsFleet, worker_id: str) -> dict[str, tuple[str, str, int | None]]:
    host = instance_of(fleet, worker_id).public_ip
    assert host is not None
    labs = await fleet.system.cml.labs(host)
    return {lab.id: (lab.title, lab.state, lab.running_nodes) for lab in labs}


def rows(fleet: JobsFleet, worker_id: str) -> dict[str, tuple[str, str, int | None]]:
    return {
        r.lab.id: (r.lab.title, r.lab.state, r.lab.running_nodes)
        for r in fleet.system.labs.labs_of(worker_id)
    }


async def a_worker_with_labs(fleet: JobsFleet, name: str = "lab") -> str:
    worker_id = fleet.add(name)
    instance = instance_of(fleet, worker_id)
    for _ in range(2):
        fleet.world.import_lab(instance, TOPOLOGY, None)
    return worker_id


async def test_the_first_cycle_writes_every_workers_labs_as_cml_has_them(
    fleet: JobsFleet,
) -> None:
    workers = [await a_worker_with_labs(fleet, f"lab-{n}") for n in range(3)]
    asleep = fleet.add("asleep", stopped=True)

    report = await fleet.cycle()

    for worker_id in workers:
        assert rows(fleet, worker_id) == await truth(fleet, worker_id) != {}
    assert rows(fleet, asleep) == {}
    assert report.labs_changed == 3
    assert {c.worker_id for c in fleet.hub.labs} == set(workers)
    assert all(len(c.added) == len(rows(fleet, c.worker_id)) for c in fleet.hub.labs)


async def test_a_steady_worker_costs_one_lab_call_and_nothing_is_written_or_sent(
    fleet: JobsFleet,
) -> None:
    worker_id = await a_worker_with_labs(fleet)
    await fleet.cycle()
    events, listed, details = (
        fleet.events(),
        fleet.world.count("cml:GET /labs"),
        fleet.world.count(DETAILS),
    )
    sent = len(fleet.hub.labs)

    for _ in range(3):  # under the full-refresh interval (5)
        report = await fleet.cycle(MINUTE)
        assert report.labs_changed == 0

    assert fleet.world.count(DETAILS) == details  # no lab read again
    assert fleet.world.count("cml:GET /labs") == listed + 3  # one listing a cycle
    assert len(fleet.hub.labs) == sent
    assert rows(fleet, worker_id) == await truth(fleet, worker_id)
    assert fleet.events() - events <= 3  # labs add nothing to the log


async def test_a_lab_started_on_cml_shows_on_the_next_cycle_and_is_told_live(
    fleet: JobsFleet,
) -> None:
    worker_id = await a_worker_with_labs(fleet)
    await fleet.cycle()
    lab_id = next(iter(rows(fleet, worker_id)))
    fleet.world.lab(instance_of(fleet, worker_id), lab_id, LabAction.START.value)  # a user

    report = await fleet.cycle(MINUTE)

    assert rows(fleet, worker_id)[lab_id][1:] == ("STARTED", 2)
    assert report.labs_changed == 1
    (change,) = fleet.hub.labs[-1:]
    assert [lab.id for lab in change.changed] == [lab_id] and not change.added
    dto = await fleet.worker(worker_id)
    assert dto.running_labs_count == 1  # the same facts feed the worker's telemetry


async def test_an_edit_telemetry_does_not_report_shows_at_the_full_refresh(
    fleet: JobsFleet,
) -> None:
    worker_id = await a_worker_with_labs(fleet)
    await fleet.cycle()
    lab_id = next(iter(rows(fleet, worker_id)))
    with fleet.world.lock:  # a user renames the lab: CML's telemetry says nothing
        lab = next(x for x in instance_of(fleet, worker_id).cml.labs if x.id == lab_id)
        lab.title = "Renamed by a user"

    seen_at = []
    for _ in range(5):
        await fleet.cycle(MINUTE)
        seen_at.append(rows(fleet, worker_id)[lab_id][0] == "Renamed by a user")
    assert seen_at.index(True) == 4  # read again 5 cycles after the last full read
    assert rows(fleet, worker_id) == await truth(fleet, worker_id)


async def test_new_and_deleted_labs_show_without_a_telemetry_event(fleet: JobsFleet) -> None:
    worker_id = await a_worker_with_labs(fleet)
    await fleet.cycle()
    instance = instance_of(fleet, worker_id)
    gone = next(iter(rows(fleet, worker_id)))
    with fleet.world.lock:
        instance.cml.labs = [lab for lab in instance.cml.labs if lab.id != gone]
        instance.cml.events.clear()  # no event says so either
    fleet.world.import_lab(instance, TOPOLOGY, "new one")
    with fleet.world.lock:
        instance.cml.events.clear()

    report = await fleet.cycle(MINUTE)

    assert rows(fleet, worker_id) == await truth(fleet, worker_id)
    assert gone not in rows(fleet, worker_id)
    change = fleet.hub.labs[-1]
    assert change.removed == (gone,) and [lab.title for lab in change.added] == ["new one"]
    assert report.labs_changed == 1


async def test_a_stopped_worker_has_no_labs_running_and_a_gone_one_no_rows(
    fleet: JobsFleet,
) -> None:
    stopping, ending = await a_worker_with_labs(fleet, "a"), await a_worker_with_labs(fleet, "b")
    await fleet.cycle()
    await fleet.cloud.stop_instance("eu-west-1", fleet.instances[stopping])
    await fleet.cloud.terminate_instance("eu-west-1", fleet.instances[ending])
    fleet.clock.advance(10 * MINUTE)

    await fleet.cycle()  # sees them stopped and terminated
    await fleet.cycle(MINUTE)  # the terminated worker is no longer managed

    assert rows(fleet, stopping) == {} and rows(fleet, ending) == {}
