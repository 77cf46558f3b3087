"""A batch of events is projected with one DTO per worker (its state after its last
event of the batch), while each event still carries the worker's facts right after it
(status, team: what the cost ledger, the team index and the hub's visibility need)."""

from __future__ import annotations

from typing import Any

from application.mapper import IdleDefaults, map_worker_to_dto
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import PauseReason, WorkerStatus
from domain.worker import CMLWorker
from infrastructure.read_model import projection
from infrastructure.read_model.codec import dto_from_json
from infrastructure.read_model.projection import WorkerProjection
from infrastructure.read_model.sqlite.connections import Connections
from infrastructure.read_model.sqlite.view import WorkerView
from infrastructure.store.event_store import FleetEventStore

CAUSE = Cause("alice", "c-1")


def busy_worker(name: str) -> CMLWorker:
    worker = CMLWorker.import_instance(
        WorkerSpec(name=name, region="eu-west-1", instance_type="m5.xlarge"),
        instance_id=f"i-{name}",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )
    for n in range(5):
        worker.change_tags({"n": str(n)}, (), cause=CAUSE)
    worker.assign_team("blue", cause=CAUSE)
    worker.pause(PauseReason.MANUAL, at=worker.created_on, cause=CAUSE)
    worker.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    return worker


def test_a_batch_maps_each_worker_once_and_keeps_each_events_facts(
    memory_store: FleetEventStore, monkeypatch: Any
) -> None:
    workers = [busy_worker(name) for name in ("a", "b", "c")]
    memory_store.save(*workers)
    mapped: list[str] = []

    def counting(worker: CMLWorker, idle: IdleDefaults) -> Any:
        mapped.append(str(worker.id))
        return map_worker_to_dto(worker, idle)

    monkeypatch.setattr(projection, "map_worker_to_dto", counting)
    view = WorkerView(Connections(None), memory_store.name, "fingerprint")
    worker_projection = WorkerProjection(view, memory_store, IdleDefaults())
    notifications = memory_store.read_log(0, 1000)

    projected = worker_projection.process_batch(notifications)

    assert len(projected) == len(notifications) > 3 * 8
    assert sorted(mapped) == sorted(str(w.id) for w in workers)  # once each
    for worker in workers:
        texts, _ = view.select([str(worker.id)])
        assert dto_from_json(texts[0]) == map_worker_to_dto(memory_store.get(worker.id))
        mine = [p for p in projected if p.worker_id == str(worker.id)]
        assert (mine[0].status, mine[0].team) == ("running", None)  # as each event left it
        assert (mine[-1].status, mine[-1].team) == ("stopped", "blue")
        assert [p.team for p in mine].index("blue") == 6  # from its team change on
