"""What an operator sees when querying the fleet: rows built by the one mapper, filters,
sorting, cursor pages, the summary. Written through the command handlers on SQLite files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from uuid import uuid4

import pytest

from application.commands.lifecycle import (
    CreateWorker,
    PauseWorker,
    TerminateWorker,
    create_worker,
    pause_worker,
    terminate_worker,
)
from application.commands.observations import ObserveInstance, observe_instance
from application.commands.settings import ChangeTags, change_tags
from application.errors import WorkerNotFound
from application.mapper import map_worker_to_dto
from application.queries import GetWorker, ListWorkers
from domain.errors import InvalidValue
from domain.status import WorkerStatus
from infrastructure.read_model import idle_defaults
from infrastructure.wiring.bootstrap import System
from tests.integration.read_model_fleet import read_model, record_worker, running_system, visible


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    with running_system(tmp_path) as system:
        yield system


def as_projected(system: System, worker_id) -> object:
    """The DTO THE mapper builds from the aggregate, with the configured idle defaults."""
    return map_worker_to_dto(system.store.get(worker_id), idle_defaults(system.settings))


async def test_a_command_is_visible_once_the_read_model_reaches_its_position(system) -> None:
    created = create_worker(
        CreateWorker("lab-a", "eu-west-1", "m5.xlarge", "alice", "c-1", ami_id="ami-1"),
        system.store,
    )
    assert await read_model(system).wait_until(created.position, 10)
    row = read_model(system).get_worker(GetWorker(created.worker_id))
    assert row == as_projected(system, created.worker_id)
    assert (row.status, row.created_by) == ("pending", "alice")


def test_each_change_replaces_the_row_with_the_mapper_output(system, clock) -> None:
    worker = record_worker(system, "lab-b").worker_id
    visible(system, pause_worker(PauseWorker(worker, "bob", "c-pause"), system.store, clock))
    visible(
        system, change_tags(ChangeTags(worker, "bob", "c-tags", add={"team": "red"}), system.store)
    )
    row = read_model(system).get_worker(GetWorker(worker))
    assert row == as_projected(system, worker)
    assert (row.status, row.manual_pause_count, row.tags) == ("stopping", 1, {"team": "red"})
    assert row.pause_history[0].actor == "bob" and row.last_correlation_id == "c-tags"


def test_an_unknown_worker_is_not_found(system) -> None:
    with pytest.raises(WorkerNotFound):
        read_model(system).get_worker(GetWorker(uuid4()))


def names(system: System, **query) -> list[str]:
    return [w.name for w in read_model(system).list_workers(ListWorkers(**query)).items]


def test_filters_by_status_region_and_text(system) -> None:
    record_worker(system, "alpha", tags={"team": "Blue"}, instance_id="i-0ABC")
    record_worker(system, "bravo", region="us-east-1", status=WorkerStatus.STOPPED)
    charlie = record_worker(system, "charlie", region="us-east-1").worker_id
    visible(
        system,
        observe_instance(ObserveInstance(charlie, "job", "c", public_ip="10.1.2.3"), system.store),
    )

    assert names(system, statuses=["stopped"]) == ["bravo"]
    assert names(system, statuses=["stopped", "running"], region="us-east-1") == [
        "bravo",
        "charlie",
    ]
    assert names(system, text="blue") == ["alpha"]  # a tag value, any case
    assert names(system, text="0abc") == ["alpha"]  # the instance id
    assert names(system, text="10.1.2") == ["charlie"]  # an address
    assert names(system, text="RAV") == ["bravo"]  # part of the name
    assert names(system, text="100%") == []  # no wildcards
    page = read_model(system).list_workers(ListWorkers(region="us-east-1", limit=1))
    assert page.total == 2 and len(page.items) == 1


def test_sorts_by_any_sortable_field_both_ways(system) -> None:
    for name, region in [("bravo", "us-east-1"), ("Alpha", "eu-west-1"), ("charlie", "ap-south-1")]:
        record_worker(system, name, region=region)
    assert names(system) == ["Alpha", "bravo", "charlie"]  # as people read names, any case
    assert names(system, descending=True) == ["charlie", "bravo", "Alpha"]
    assert names(system, sort="region") == ["charlie", "Alpha", "bravo"]
    assert names(system, sort="created_at", descending=True) == ["charlie", "Alpha", "bravo"]


def walk(system: System, query: ListWorkers, between: Callable[[int], None]) -> list[str]:
    """Every page of ``query``, in order; ``between(n)`` runs after page ``n``."""
    seen, cursor, page_number = [], None, 0
    while True:
        page = read_model(system).list_workers(replace(query, cursor=cursor))
        seen += [w.name for w in page.items]
        between(page_number)
        page_number += 1
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize(
    "query",
    [
        ListWorkers(limit=4),
        ListWorkers(limit=3, descending=True),
        ListWorkers(limit=5, sort="region"),  # many equal values: ties break on the id
        ListWorkers(limit=2, sort="status", descending=True, statuses=["running", "stopped"]),
    ],
)
def test_cursor_pages_visit_every_worker_once_even_while_workers_are_added(system, query) -> None:
    regions = ("eu-west-1", "us-east-1")
    statuses = (WorkerStatus.RUNNING, WorkerStatus.STOPPED)
    for i in range(17):
        record_worker(system, f"w{i:02d}", region=regions[i % 2], status=statuses[i % 2])
    before = names(system, limit=500)

    def add_workers(page_number: int) -> None:
        record_worker(system, f"new-{page_number}", region=regions[page_number % 2])

    seen = walk(system, query, add_workers)
    assert len(seen) == len(set(seen))
    assert set(before) <= set(seen)


def test_rejects_a_bad_sort_limit_status_or_cursor_naming_the_field(system) -> None:
    record_worker(system, "w1")
    record_worker(system, "w2")
    model = read_model(system)
    cursor = model.list_workers(ListWorkers(limit=1)).next_cursor
    bad = [
        (ListWorkers(sort="cpu_percent"), "sort"),
        (ListWorkers(limit=0), "limit"),
        (ListWorkers(limit=501), "limit"),
        (ListWorkers(statuses=["sleeping"]), "statuses"),
        (ListWorkers(cursor="not-a-cursor"), "cursor"),
        (ListWorkers(cursor=cursor, sort="region"), "cursor"),
    ]
    for query, field in bad:
        with pytest.raises(InvalidValue) as error:
            model.list_workers(query)
        assert error.value.field == field


def test_the_summary_counts_workers_by_status(system) -> None:
    record_worker(system, "a")
    record_worker(system, "b")
    record_worker(system, "c", status=WorkerStatus.STOPPED)
    doomed = record_worker(system, "d").worker_id
    visible(system, terminate_worker(TerminateWorker(doomed, "admin", "c-t"), system.store))

    summary = read_model(system).fleet_summary()
    assert summary.total == 4
    assert (summary.by_status["running"], summary.by_status["stopped"]) == (2, 1)
    assert summary.by_status["terminating"] == 1 and summary.by_status["failed"] == 0
    assert summary.position == read_model(system).position() == system.store.max_position()


def test_snapshots_carry_the_position_they_reflect(system) -> None:
    a = record_worker(system, "a").worker_id
    record_worker(system, "b")
    gone = record_worker(system, "c", status=WorkerStatus.TERMINATED).worker_id

    dtos, position = read_model(system).snapshot([str(a), str(gone)])
    assert [d.name for d in dtos] == ["a", "c"] and position == system.store.max_position()
    everyone, _ = read_model(system).snapshot(None)
    assert [d.name for d in everyone] == ["a", "b", "c"]
    assert [d.name for d in read_model(system).all_workers()] == ["a", "b"]
    assert len(read_model(system).all_workers(include_terminated=True)) == 3
