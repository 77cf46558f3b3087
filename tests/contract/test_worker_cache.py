"""The store's cache of last-saved workers never serves a stale or shared state.

Two stores on one durable backend stand for two processes (or a process and a
restarted one): a write by either is seen by the other's next load.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from application.errors import ConcurrencyConflict
from domain.status import WorkerStatus
from domain.worker import CMLWorker
from infrastructure.bootstrap import event_store_env
from infrastructure.event_store import FleetEventStore
from infrastructure.saved_workers import SavedWorkers
from infrastructure.settings import Settings
from tests.contract.store_backends import DURABLE_BACKENDS, backend_settings

WHO = {"actor": "alice", "correlation_id": "c-1"}


def imported(name: str) -> CMLWorker:
    return CMLWorker.import_instance(
        instance_id=f"i-{name}",
        name=name,
        region="eu-west-1",
        instance_type="m5.xlarge",
        observed=WorkerStatus.RUNNING,
        **WHO,
    )


@pytest.fixture(params=DURABLE_BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    with backend_settings(request.param, tmp_path) as settings:
        yield settings


def open_store(settings: Settings, cache_size: int = 100) -> FleetEventStore:
    return FleetEventStore(event_store_env(settings), cache_size)


def test_a_load_after_a_save_is_a_private_copy_of_the_saved_state(settings: Settings) -> None:
    store = open_store(settings)
    worker = imported("a")
    store.save(worker)
    first = store.get(worker.id)
    first.change_tags({"team": "blue"}, (), **WHO)  # changed, never saved
    second = store.get(worker.id)
    assert second is not first
    assert second.tags == {} and second.version == worker.version


def test_a_write_by_another_store_is_seen_by_the_next_load(settings: Settings) -> None:
    mine, theirs = open_store(settings), open_store(settings)
    worker = imported("b")
    mine.save(worker)
    mine.get(worker.id)  # cached here
    other = theirs.get(worker.id)
    other.change_tags({"team": "red"}, (), **WHO)
    theirs.save(other)
    seen = mine.get(worker.id)
    assert seen.tags == {"team": "red"}
    assert seen.version == other.version


def test_a_stale_cached_copy_cannot_overwrite_a_newer_write(settings: Settings) -> None:
    mine, theirs = open_store(settings), open_store(settings)
    worker = imported("c")
    mine.save(worker)
    stale = mine.get(worker.id)
    newer = theirs.get(worker.id)
    newer.change_tags({"team": "red"}, (), **WHO)
    theirs.save(newer)
    stale.change_tags({"team": "blue"}, (), **WHO)
    with pytest.raises(ConcurrencyConflict):
        mine.save(stale)
    assert mine.get(worker.id).tags == {"team": "red"}


def test_a_worker_changed_after_its_save_is_never_served() -> None:
    cache = SavedWorkers(10)
    worker = imported("d")
    worker.collect_events()
    cache.remember([worker])
    worker.change_tags({"team": "blue"}, (), **WHO)  # pending: not a stored state
    assert cache.copy_of(worker.id) is None


def test_the_cache_keeps_the_most_recently_used_workers_only() -> None:
    cache = SavedWorkers(2)
    a, b, c = imported("e"), imported("f"), imported("g")
    for worker in (a, b, c):
        worker.collect_events()
    cache.remember([a, b])
    assert cache.copy_of(a.id) is not None  # a is now the most recent
    cache.remember([c])
    assert cache.copy_of(b.id) is None
    assert cache.copy_of(a.id) is not None and cache.copy_of(c.id) is not None
    assert SavedWorkers(0).copy_of(a.id) is None
