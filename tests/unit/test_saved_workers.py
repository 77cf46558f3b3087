"""The cache of last-saved workers never serves a changed worker and keeps the recent ones."""

from __future__ import annotations

from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import WorkerStatus
from domain.worker import CMLWorker
from infrastructure.store.saved_workers import SavedWorkers

CAUSE = Cause("alice", "c-1")


def saved(name: str) -> CMLWorker:
    worker = CMLWorker.import_instance(
        WorkerSpec(name=name, region="eu-west-1", instance_type="m5.xlarge"),
        instance_id=f"i-{name}",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )
    worker.collect_events()  # as a save leaves it
    return worker


def test_a_worker_changed_after_its_save_is_never_served() -> None:
    cache = SavedWorkers(10)
    worker = saved("d")
    cache.remember([worker])
    worker.change_tags({"team": "blue"}, (), cause=CAUSE)  # pending: not a stored state
    assert cache.copy_of(worker.id) is None


def test_the_cache_keeps_the_most_recently_used_workers_only() -> None:
    cache = SavedWorkers(2)
    a, b, c = saved("e"), saved("f"), saved("g")
    cache.remember([a, b])
    assert cache.copy_of(a.id) is not None  # a is now the most recent
    cache.remember([c])
    assert cache.copy_of(b.id) is None
    assert cache.copy_of(a.id) is not None and cache.copy_of(c.id) is not None
    assert SavedWorkers(0).copy_of(a.id) is None
