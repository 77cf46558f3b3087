"""The WorkerStore contract (the event store): the same behaviour on every backend —
eventsourcing's POPO (memory), SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from application.commands.common import change_worker
from application.errors import ConcurrencyConflict, WorkerNotFound
from application.mapper import map_worker_to_dto
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import PauseReason, WorkerStatus
from domain.values import MetricThresholds, Telemetry
from domain.worker import CMLWorker
from infrastructure.shared.settings import Settings
from infrastructure.store.event_store import SNAPSHOT_INTERVAL, FleetEventStore
from infrastructure.wiring.bootstrap import event_store_env
from tests.contract.store_backends import BACKENDS, DURABLE_BACKENDS, backend_settings

CAUSE = Cause("alice", "corr")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Opener = Callable[[], FleetEventStore]
CACHE = Settings().worker_cache_size


@pytest.fixture(params=BACKENDS)
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the store on the backend (again: as a restarted process would)."""
    with backend_settings(request.param, tmp_path) as settings:
        yield from _opener(settings)


@pytest.fixture(params=DURABLE_BACKENDS)
def reopen_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    with backend_settings(request.param, tmp_path) as settings:
        yield from _opener(settings)


def _opener(settings: Settings) -> Iterator[Opener]:
    opened: list[FleetEventStore] = []
    memory: FleetEventStore | None = None

    def open_() -> FleetEventStore:
        nonlocal memory
        # as the composition root opens it: with its cache of last-saved workers
        if settings.persistence == "memory":  # one store is all there is
            memory = memory or FleetEventStore(event_store_env(settings), CACHE)
            return memory
        opened.append(FleetEventStore(event_store_env(settings), CACHE))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


def imported(name: str = "w") -> CMLWorker:
    return CMLWorker.import_instance(
        WorkerSpec(name=name, region="eu-west-1", instance_type="m5.xlarge"),
        instance_id=f"i-{name}",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )


def a_busy_worker() -> CMLWorker:
    w = imported("busy")
    w.record_metrics(
        Telemetry(cml_cpu_percent=10.0, labs_count=2, cml_ready=True),
        at=T0,
        thresholds=MetricThresholds(),
        cause=CAUSE,
    )
    w.change_tags({"team": "net"}, (), cause=CAUSE)
    w.pause(PauseReason.MANUAL, at=T0, cause=CAUSE)
    w.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    w.resume(PauseReason.MANUAL, at=T0 + timedelta(hours=1), cause=CAUSE)
    return w


def test_a_saved_worker_loads_as_it_was_saved(open_store: Opener) -> None:
    store = open_store()
    worker = a_busy_worker()
    position = store.save(worker)

    loaded = store.get(worker.id)

    assert map_worker_to_dto(loaded) == map_worker_to_dto(worker)
    assert position == store.max_position() == loaded.version == 6


def test_an_unknown_worker_is_not_found(open_store: Opener) -> None:
    with pytest.raises(WorkerNotFound):
        open_store().get(uuid4())


def test_the_second_of_two_racing_saves_is_a_conflict(open_store: Opener) -> None:
    store = open_store()
    store.save(imported())
    worker_id = next(iter(store.read_log(0, 1))).originator_id
    first, second = store.get(worker_id), store.get(worker_id)
    first.change_tags({"by": "first"}, (), cause=CAUSE)
    second.change_tags({"by": "second"}, (), cause=CAUSE)

    store.save(first)
    with pytest.raises(ConcurrencyConflict):
        store.save(second)
    assert store.get(worker_id).tags == {"by": "first"}


def test_racing_commands_all_apply_with_retries(open_store: Opener) -> None:
    store = open_store()
    worker = imported()
    store.save(worker)
    barrier = threading.Barrier(6)

    def tag(n: int) -> None:
        barrier.wait()
        change_worker(
            store,
            worker.id,
            lambda w: w.change_tags({f"k{n}": "v"}, (), cause=CAUSE),
            "c",
            50,
        )

    threads = [threading.Thread(target=tag, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert store.get(worker.id).tags == {f"k{n}": "v" for n in range(6)}


def test_workers_saved_together_each_get_the_position_of_their_own_last_event(
    open_store: Opener,
) -> None:
    store = open_store()
    busy, quiet, idle = a_busy_worker(), imported("quiet"), imported("idle")
    store.save(idle)
    idle = store.get(idle.id)  # nothing pending

    positions = store.save_each(busy, quiet, idle)

    end = store.max_position()
    assert positions == [end - 1, end, end]  # busy's 6 events, then quiet's 1; idle: the end
    by_worker = {n.originator_id: n.id for n in store.read_log(0, 100)}  # each one's last
    assert [by_worker[busy.id], by_worker[quiet.id]] == positions[:2]
    first, second = store.get(quiet.id), store.get(quiet.id)
    first.change_tags({"by": "first"}, (), cause=CAUSE)
    second.change_tags({"by": "second"}, (), cause=CAUSE)
    with pytest.raises(ConcurrencyConflict):  # all or nothing, as ``save``
        store.save_each(imported("new"), first, second)
    assert store.max_position() == end


def test_positions_grow_and_the_log_reads_in_order_after_a_position(open_store: Opener) -> None:
    store = open_store()
    first = store.save(imported("a"))
    second = store.save(a_busy_worker())

    page = store.read_log(after=first, limit=3)

    assert second > first
    assert [n.id for n in page] == [first + 1, first + 2, first + 3]
    assert store.max_position() == second
    assert all(isinstance(store.to_domain_event(n), CMLWorker.Event) for n in page)
    assert store.read_log(after=second, limit=10) == []


def test_a_worker_as_it_was_at_a_version(open_store: Opener) -> None:
    store = open_store()
    worker = a_busy_worker()
    store.save(worker)

    then = store.get_at(worker.id, 3)  # imported, measured, tagged

    assert then.version == 3 and then.tags == {"team": "net"}
    assert then.status is WorkerStatus.RUNNING


def test_a_workers_history_pages_newest_first(open_store: Opener) -> None:
    store = open_store()
    worker = a_busy_worker()
    store.save(worker)

    newest = store.worker_events(worker.id, before_version=None, limit=2)
    older = store.worker_events(worker.id, before_version=newest[-1].originator_version, limit=2)

    assert [e.originator_version for e in (*newest, *older)] == [6, 5, 4, 3]
    with pytest.raises(WorkerNotFound):
        store.worker_events(uuid4(), before_version=None, limit=5)


def test_a_snapshotted_worker_loads_like_a_replayed_one(open_store: Opener) -> None:
    store = open_store()
    worker = imported()
    store.save(worker)
    for i in range(SNAPSHOT_INTERVAL + 5):
        worker = store.get(worker.id)
        worker.change_tags({"n": str(i)}, (), cause=CAUSE)
        store.save(worker)

    replayed = None
    for event in store.events.get(worker.id):
        replayed = event.mutate(replayed)

    assert store.snapshots is not None and list(store.snapshots.get(worker.id))
    assert replayed is not None
    assert map_worker_to_dto(store.get(worker.id)) == map_worker_to_dto(replayed)


def test_a_save_wakes_a_thread_waiting_for_the_log(open_store: Opener) -> None:
    store = open_store()
    woke = threading.Event()

    def wait() -> None:
        store.wait_for_append(after=0, timeout=30)
        woke.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    store.save(imported())
    assert woke.wait(10)
    waiter.join(10)


def test_a_restarted_store_has_every_event(reopen_store: Opener) -> None:
    worker = a_busy_worker()
    last = reopen_store().save(worker)

    restarted = reopen_store()

    assert restarted.max_position() == last
    assert map_worker_to_dto(restarted.get(worker.id)) == map_worker_to_dto(worker)


# -- the cache of last-saved workers: two stores stand for two processes ------------


def test_a_load_after_a_save_is_a_private_copy_of_the_saved_state(open_store: Opener) -> None:
    store = open_store()
    worker = imported("a")
    store.save(worker)
    first = store.get(worker.id)
    first.change_tags({"team": "blue"}, (), cause=CAUSE)  # changed, never saved
    second = store.get(worker.id)
    assert second is not first
    assert second.tags == {} and second.version == worker.version


def test_a_write_by_another_process_is_seen_by_the_next_load(reopen_store: Opener) -> None:
    mine, theirs = reopen_store(), reopen_store()
    worker = imported("b")
    mine.save(worker)
    mine.get(worker.id)
    other = theirs.get(worker.id)
    other.change_tags({"team": "red"}, (), cause=CAUSE)
    theirs.save(other)
    seen = mine.get(worker.id)
    assert seen.tags == {"team": "red"}
    assert seen.version == other.version


def test_a_stale_cached_copy_cannot_overwrite_a_newer_write(reopen_store: Opener) -> None:
    mine, theirs = reopen_store(), reopen_store()
    worker = imported("c")
    mine.save(worker)
    stale = mine.get(worker.id)
    newer = theirs.get(worker.id)
    newer.change_tags({"team": "red"}, (), cause=CAUSE)
    theirs.save(newer)
    stale.change_tags({"team": "blue"}, (), cause=CAUSE)
    with pytest.raises(ConcurrencyConflict):
        mine.save(stale)
    assert mine.get(worker.id).tags == {"team": "red"}
