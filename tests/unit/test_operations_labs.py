"""Lab operations through the engine, on the simulated CML: done once, as CML says,
refused with CML's reason, safe to run again, and an import made exactly once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import pytest

from application.commands.common import change_worker
from application.commands.labs import RequestLabOperation, request_lab_operation
from application.operations.context import Result
from application.operations.labs import TOPOLOGY_GONE, topology_key
from application.operations.requests import Operation, operation_for
from application.ports_errors import CmlError, CmlUnreachable
from domain.cause import Cause
from domain.labs import LabImport, LabOperation, NotReadyForLabs
from domain.status import ServiceStatus
from infrastructure.outside.simulated import SimulatedCml
from tests.contract.test_cml_port import TOPOLOGY
from tests.operations_fleet import OpsFleet

W = "alice"


@pytest.fixture
def fleet() -> OpsFleet:
    return OpsFleet.build(operations_enabled=False)


def ready(fleet: OpsFleet, name: str = "lab") -> UUID:
    """A running worker whose CML the metrics job has seen ready, with two labs."""
    worker_id = fleet.add(name)
    cause = Cause("job:metrics", "metrics-1")
    change_worker(
        fleet.store,
        worker_id,
        lambda w: w.change_service_status(ServiceStatus.READY, detail=None, cause=cause),
        "metrics-1",
    )
    for title in ("first", "second"):
        fleet.world.import_lab(fleet.instance_of(worker_id), TOPOLOGY, title)
    return worker_id


def labs(fleet: OpsFleet, worker_id: UUID) -> dict[str, str]:
    return {lab.title: lab.state for lab in fleet.instance_of(worker_id).cml.labs}


def lab_id(fleet: OpsFleet, worker_id: UUID, title: str) -> str:
    return next(lab.id for lab in fleet.instance_of(worker_id).cml.labs if lab.title == title)


def request(
    fleet: OpsFleet, worker_id: UUID, kind: str, lab: str | None, correlation_id: str = "r-1",
    **more: Any,
) -> Operation:  # fmt: skip
    command = RequestLabOperation(worker_id, W, correlation_id, LabOperation(kind, lab), **more)
    result = request_lab_operation(command, fleet.store)
    events = reversed(list(fleet.store.events.get(worker_id)))
    return next(op for e in events if (op := operation_for(e, result.position)) is not None)


def ask_import(
    fleet: OpsFleet, worker_id: UUID, topology: Mapping[str, Any], title: str | None = None
) -> Operation:
    """What the HTTP endpoint does: keep the topology beside the log, record the request."""
    text = json.dumps(topology).encode()
    digest = "sha256:" + hashlib.sha256(text).hexdigest()
    key = topology_key(worker_id, "imp-1", digest)
    fleet.system.labs.keep_topology(key, topology, fleet.clock.now().replace(year=2100))
    return request(fleet, worker_id, "import", None, "imp-1",
                   import_of=LabImport(len(text), digest, title))  # fmt: skip


def last_event(fleet: OpsFleet, worker_id: UUID) -> Any:
    return list(fleet.store.events.get(worker_id))[-1]


async def test_a_lab_is_started_and_stopped_and_the_outcome_says_its_state(
    fleet: OpsFleet,
) -> None:
    worker_id = ready(fleet)
    first = lab_id(fleet, worker_id, "first")
    engine = fleet.engine()

    outcome = await engine.carry_out(request(fleet, worker_id, "start", first))
    assert (outcome.result, labs(fleet, worker_id)["first"]) == (Result.DONE, "STARTED")
    done = last_event(fleet, worker_id)
    assert (type(done).__name__, done.lab_id, done.lab_state) == (
        "LabOperationDone",
        first,
        "STARTED",
    )
    row = {r.lab.id: r.lab for r in fleet.system.labs.labs_of(str(worker_id))}[first]
    assert (row.state, row.running_nodes) == ("STARTED", 2)  # the row at once

    stop = request(fleet, worker_id, "stop", first, "r-2")
    assert (await engine.carry_out(stop)).result is Result.DONE
    assert labs(fleet, worker_id)["first"] == "STOPPED"
    assert fleet.worker(worker_id).lab_operations_pending == ()


async def test_an_operation_run_again_after_a_crash_does_nothing_twice(fleet: OpsFleet) -> None:
    worker_id = ready(fleet)
    op = request(fleet, worker_id, "start", lab_id(fleet, worker_id, "first"))
    engine = fleet.engine()
    await engine.carry_out(op)
    events, calls = fleet.store.max_position(), fleet.world.count("cml:PUT /labs/{lab_id}/start")

    again = await engine.carry_out(op)

    assert again.result is Result.SKIPPED
    assert fleet.store.max_position() == events
    assert fleet.world.count("cml:PUT /labs/{lab_id}/start") == calls


async def test_wiping_a_running_lab_fails_with_cmls_reason_and_changes_nothing(
    fleet: OpsFleet,
) -> None:
    worker_id = ready(fleet)
    first = lab_id(fleet, worker_id, "first")
    engine = fleet.engine()
    await engine.carry_out(request(fleet, worker_id, "start", first))

    outcome = await engine.carry_out(request(fleet, worker_id, "wipe", first, "r-2"))

    assert outcome.result is Result.FAILED
    failed = last_event(fleet, worker_id)
    assert type(failed).__name__ == "LabOperationFailed"
    assert "HTTP 400" in failed.reason and "stop it first" in failed.reason
    assert labs(fleet, worker_id)["first"] == "STARTED"
    assert fleet.worker(worker_id).lab_operations_pending == ()


async def test_a_deleted_lab_is_gone_from_cml_and_its_row_and_deleting_it_again_is_done(
    fleet: OpsFleet,
) -> None:
    worker_id = ready(fleet)
    second = lab_id(fleet, worker_id, "second")
    engine = fleet.engine()
    await engine.carry_out(request(fleet, worker_id, "delete", second))
    assert "second" not in labs(fleet, worker_id)
    assert second not in {r.lab.id for r in fleet.system.labs.labs_of(str(worker_id))}
    assert last_event(fleet, worker_id).lab_state is None

    again = await engine.carry_out(request(fleet, worker_id, "delete", second, "r-2"))
    assert again.result is Result.DONE  # gone, as asked


async def test_transient_cml_errors_are_retried(fleet: OpsFleet) -> None:
    worker_id = ready(fleet)
    engine = fleet.engine()
    engine.context.cml = Flaky(SimulatedCml(fleet.world), fail="act_on_lab", times=2)

    outcome = await engine.carry_out(
        request(fleet, worker_id, "start", lab_id(fleet, worker_id, "first"))
    )

    assert outcome.result is Result.DONE and labs(fleet, worker_id)["first"] == "STARTED"


async def test_an_import_makes_one_lab_and_takes_its_topology(fleet: OpsFleet) -> None:
    worker_id = ready(fleet)
    op = ask_import(fleet, worker_id, TOPOLOGY, "from the API")

    outcome = await fleet.engine().carry_out(op)

    assert outcome.result is Result.DONE
    done = last_event(fleet, worker_id)
    assert labs(fleet, worker_id)["from the API"] == done.lab_state
    assert done.lab_id == lab_id(fleet, worker_id, "from the API")
    assert fleet.system.labs.take_topology(op_key(worker_id, op), fleet.clock.now()) is None
    assert "from the API" in {r.lab.title for r in fleet.system.labs.labs_of(str(worker_id))}


async def test_an_import_whose_answer_was_lost_is_not_made_twice(fleet: OpsFleet) -> None:
    worker_id = ready(fleet)
    engine = fleet.engine()
    engine.context.cml = Flaky(SimulatedCml(fleet.world), fail="import_lab", times=1, after=True)
    before = len(fleet.instance_of(worker_id).cml.labs)

    outcome = await engine.carry_out(ask_import(fleet, worker_id, TOPOLOGY, "only once"))

    assert outcome.result is Result.DONE
    titles = [lab.title for lab in fleet.instance_of(worker_id).cml.labs]
    assert len(titles) == before + 1 and titles.count("only once") == 1


async def test_an_import_whose_topology_is_gone_after_a_restart_fails_asking_again(
    fleet: OpsFleet,
) -> None:
    worker_id = ready(fleet)
    op = ask_import(fleet, worker_id, TOPOLOGY)
    fleet.system.labs.take_topology(op_key(worker_id, op), fleet.clock.now())  # lost
    before = labs(fleet, worker_id)

    outcome = await fleet.engine().carry_out(op)

    assert (outcome.result, outcome.detail) == (Result.FAILED, TOPOLOGY_GONE)
    assert labs(fleet, worker_id) == before


def test_labs_are_acted_on_only_through_a_running_worker_with_cml_ready(
    fleet: OpsFleet,
) -> None:
    fresh = fleet.add("fresh")  # running, CML not yet seen ready
    with pytest.raises(NotReadyForLabs, match="its CML is unknown, not ready"):
        request(fleet, fresh, "stop", "90f84e38-a71c-4d57-8d90-00fa8a197385")
    stopped = fleet.add("asleep", stopped=True)
    with pytest.raises(NotReadyForLabs, match="the worker is stopped; start it first"):
        request(fleet, stopped, "stop", "90f84e38-a71c-4d57-8d90-00fa8a197385")
    assert fleet.worker(fresh).lab_operations_pending == ()


def op_key(worker_id: UUID, op: Operation) -> str:
    assert op.lab_import is not None
    return topology_key(worker_id, op.correlation_id, op.lab_import.digest)


class Flaky:
    """The CML port, whose ``fail`` call fails ``times`` times: before reaching CML
    (HTTP 503), or after CML acted (``after``: the answer is lost)."""

    def __init__(self, cml: SimulatedCml, fail: str, times: int, after: bool = False) -> None:
        self.cml, self.fail, self.left, self.after = cml, fail, times, after

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.cml, name)
        if name != self.fail:
            return real

        async def call(*args: Any) -> Any:
            if self.left <= 0:
                return await real(*args)
            self.left -= 1
            if self.after:
                await real(*args)
                raise CmlUnreachable(args[0], "timed out (answer lost)")
            raise CmlError(args[0], "HTTP 503: busy", status=503)

        return call
