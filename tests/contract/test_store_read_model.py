"""The read-model contract: queries, listeners, positions and rebuilds behave the same on
every backend (in-memory SQLite, SQLite file, PostgreSQL tables)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from application.commands.common import CommandResult
from application.commands.lifecycle import (
    ImportWorker,
    TerminateWorker,
    import_worker,
    terminate_worker,
)
from application.commands.observations import ObserveInstance, observe_instance
from application.commands.settings import ChangeTags, change_tags
from application.mapper import map_worker_to_dto
from application.queries import GetWorker, ListWorkers
from domain.status import WorkerStatus
from infrastructure.read_model import ProjectedEvent, idle_defaults
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.contract.store_backends import BACKENDS, DURABLE_BACKENDS, backend_settings

WAIT = 10.0  # a bound, not a delay


@contextmanager
def running(settings: Settings) -> Iterator[System]:
    system = bootstrap(settings)
    system.read_model.start()
    try:
        yield system
    finally:
        system.read_model.stop()
        system.close()


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with backend_settings(request.param, tmp_path) as settings:
        yield settings


@pytest.fixture(params=DURABLE_BACKENDS)
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with backend_settings(request.param, tmp_path) as settings:
        yield settings


@pytest.fixture
def system(settings: Settings) -> Iterator[System]:
    with running(settings) as system:
        yield system


def visible(system: System, result: CommandResult) -> CommandResult:
    assert system.read_model.wait_until_blocking(result.position, WAIT)
    return result


def record(system: System, name: str, region: str = "eu-west-1", **tags: str) -> UUID:
    command = ImportWorker(
        instance_id=f"i-{name}",
        name=name,
        region=region,
        instance_type="m5.xlarge",
        status=WorkerStatus.RUNNING,
        actor="alice",
        correlation_id=f"c-{name}",
        tags=tags,
    )
    return visible(system, import_worker(command, system.store)).worker_id


def everything(system: System) -> tuple[Any, ...]:
    """What the view holds, read through its interface: rows, ledgers, position."""
    model = system.read_model
    ledgers, _ = model.view.all_ledgers()
    return model.all_workers(include_terminated=True), sorted(ledgers), model.position()


class Batches:
    def __init__(self) -> None:
        self.positions: list[int] = []
        self._seen = threading.Condition()

    def __call__(self, batch: Sequence[ProjectedEvent]) -> None:
        with self._seen:
            self.positions.extend(p.position for p in batch)
            self._seen.notify_all()

    def wait_for(self, position: int) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: position in self.positions, WAIT)


def test_a_recorded_worker_reads_as_the_mapper_builds_it(system: System) -> None:
    worker = record(system, "lab-a", team="netops")

    row = system.read_model.get_worker(GetWorker(worker))

    expected = map_worker_to_dto(system.store.get(worker), idle_defaults(system.settings))
    assert row == expected
    assert system.read_model.get_worker_json(GetWorker(worker)).startswith("{")


def stored(system: System, worker: UUID) -> str:
    row = system.read_model.view.get(str(worker))
    assert row is not None
    return row[1]


@pytest.mark.parametrize("hot_rows", [20, 0], ids=["rows-in-memory", "database-only"])
def test_a_worker_read_then_changed_reads_changed_once_its_position_is_reached(
    settings: Settings, hot_rows: int
) -> None:
    with running(settings.model_copy(update={"read_model_hot_rows": hot_rows})) as system:
        worker = record(system, "lab-a")
        model = system.read_model
        for n in range(3):
            before = model.get_worker(GetWorker(worker))  # read, so held in memory if on
            visible(
                system, change_tags(ChangeTags(worker, "ann", "c", add={"n": str(n)}), system.store)
            )

            after = model.get_worker(GetWorker(worker))

            assert after.version == before.version + 1 and after.tags["n"] == str(n)
            assert model.get_worker_json(GetWorker(worker)) == stored(system, worker)
        assert (model.hot_worker_json(GetWorker(worker)) is not None) == bool(hot_rows)


def test_listing_filters_sorts_and_pages_the_same_everywhere(system: System) -> None:
    for name in ("Zulu", "alpha", "échelle", "Bravo", "bravo-2", "charlie"):
        record(system, name, region="us-east-1" if name.startswith("b") else "eu-west-1")
    model = system.read_model

    names: list[str] = []
    cursor = None
    while True:
        page = model.list_workers(ListWorkers(limit=2, cursor=cursor))
        names += [w.name for w in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    eastern = model.list_workers(ListWorkers(region="us-east-1"))
    searched = model.list_workers(ListWorkers(text="ZUL"))
    newest = model.list_workers(ListWorkers(sort="created_at", descending=True, limit=1))

    # Names sort like SQLite's NOCASE: ASCII letters folded, then byte order.
    assert names == ["alpha", "Bravo", "bravo-2", "charlie", "Zulu", "échelle"]
    assert page.total == 6 and page.position == system.store.max_position()
    assert [w.name for w in eastern.items] == ["bravo-2"] and eastern.total == 1
    assert [w.name for w in searched.items] == ["Zulu"]
    assert newest.items[0].created_at == max(w.created_at for w in model.all_workers())


def test_a_listings_total_is_exact_at_each_position(system: System) -> None:
    """Asked again at the same position, a total may be remembered; never after a change."""
    record(system, "alpha")
    model = system.read_model
    everyone, running = ListWorkers(), ListWorkers(statuses=("running",))
    first = model.list_workers(everyone)
    assert (first.total, model.list_workers(everyone).total) == (1, 1)
    assert model.list_workers(running).total == 1
    beta = record(system, "beta")
    assert model.list_workers(everyone).total == 2
    stop = ObserveInstance(beta, "ec2", "c-stop", status=WorkerStatus.STOPPED)
    visible(system, observe_instance(stop, system.store))
    assert model.list_workers(running).total == 1
    assert model.list_workers(everyone).total == 2


def test_summary_and_snapshot_say_which_position_they_reflect(system: System) -> None:
    keep = record(system, "keep")
    gone = record(system, "gone")
    terminate_worker(TerminateWorker(gone, "bob", "c-end"), system.store)
    observed = ObserveInstance(gone, "ec2", "c-seen", status=WorkerStatus.TERMINATED)
    ended = visible(system, observe_instance(observed, system.store))
    model = system.read_model

    summary = model.fleet_summary()
    dtos, position = model.snapshot([str(keep)])

    assert summary.total == 2 and summary.position == ended.position
    assert summary.by_status["running"] == 1
    assert [d.name for d in dtos] == ["keep"] and position == ended.position
    assert [w.name for w in model.all_workers()] == ["keep"]
    assert {w.name for w in model.all_workers(include_terminated=True)} == {"keep", "gone"}


def test_listeners_hear_each_committed_position_once_in_order(system: System) -> None:
    batches = Batches()
    seen_by_query: list[int] = []

    def query_each(batch: Sequence[ProjectedEvent]) -> None:
        for projected in batch:
            worker = GetWorker(projected.event.originator_id)
            seen_by_query.append(system.read_model.get_worker(worker).version)

    system.read_model.add_listener(query_each)
    system.read_model.add_listener(batches)
    worker = record(system, "w1")
    tagged = change_tags(ChangeTags(worker, "ann", "c-t", add={"x": "1"}), system.store)
    assert batches.wait_for(tagged.position)

    assert batches.positions == [tagged.position - 1, tagged.position]
    assert seen_by_query[-1] >= 2  # a listener's own query already sees the row


def test_the_tracked_position_only_moves_forward(system: System) -> None:
    view = system.read_model.view
    name = view.application_name
    view.insert_tracking(Tracking(name, 5))
    with pytest.raises(IntegrityError):
        view.insert_tracking(Tracking(name, 5))
    view.write([], Tracking(name, 3))  # an old batch again changes nothing

    assert view.position() == 5 and view.max_tracking_id(name) == 5
    assert view.max_tracking_id("another-application") is None


def test_a_rebuild_gives_identical_rows_and_ledgers(system: System) -> None:
    for n in range(3):
        worker = record(system, f"w{n}")
        visible(
            system, change_tags(ChangeTags(worker, "ann", "c", add={"n": str(n)}), system.store)
        )
    before = everything(system)

    assert system.read_model.rebuild() == system.store.max_position()
    assert everything(system) == before
    assert system.read_model.get_worker_json(GetWorker(worker)) == stored(system, worker)


def test_a_restarted_read_model_resumes_where_it_was(durable: Settings) -> None:
    with running(durable) as system:
        worker = record(system, "w1")
        before = everything(system)

    with running(durable) as restarted:
        batches = Batches()
        restarted.read_model.add_listener(batches)
        assert everything(restarted) == before
        # Rows are loaded into memory on start: the first query needs no database read.
        assert restarted.read_model.hot_worker_json(GetWorker(worker)) == stored(restarted, worker)
        tagged = change_tags(ChangeTags(worker, "ann", "again", add={"x": "1"}), restarted.store)
        assert batches.wait_for(tagged.position)
        assert restarted.read_model.get_worker(GetWorker(worker)).tags == {"x": "1"}

    assert batches.positions == [tagged.position]  # nothing from before the restart again
