"""The HTTP queries answer with the stored JSON: it must be exactly the public contract."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from application.dto import CMLWorkerDto
from application.queries import GetWorker, ListWorkers, WorkerPage
from domain.status import WorkerStatus
from tests.integration.read_model_fleet import read_model, record_worker, running_system


def test_stored_json_answers_equal_the_contract_serialization(tmp_path: Path) -> None:
    with running_system(tmp_path) as system:
        first = record_worker(system, "alpha", tags={"team": "net"})
        record_worker(system, "bravo", status=WorkerStatus.STOPPED)
        record_worker(system, "charlie")
        model = read_model(system)
        query = ListWorkers(limit=2, sort="name")

        page = model.list_workers(query)
        raw_page = json.loads(model.list_workers_json(query))
        raw_worker = json.loads(model.get_worker_json(GetWorker(first.worker_id)))

    assert raw_page == json.loads(TypeAdapter(WorkerPage).dump_json(page))
    assert [w["name"] for w in raw_page["items"]] == ["alpha", "bravo"]
    assert raw_page["next_cursor"] is not None and raw_page["total"] == 3
    assert raw_worker == json.loads(TypeAdapter(CMLWorkerDto).dump_json(page.items[0]))
