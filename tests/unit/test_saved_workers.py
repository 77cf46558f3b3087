"""The cache of last-saved workers never serves a changed worker and keeps the recent ones."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import WorkerStatus
from domain.worker import CMLWorker
from infrastructure.store.saved_workers import SavedWorkers, copy_of_aggregate

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


def test_a_command_changing_its_copy_changes_neither_the_cache_nor_another_copy() -> None:
    cache = SavedWorkers(10)
    worker = saved("h")
    cache.remember([worker])
    before = copy.deepcopy(vars(worker))
    first, second = cache.copy_of(worker.id), cache.copy_of(worker.id)
    assert first is not None and second is not None
    assert vars(first) == vars(worker)  # the same state as a deep copy's
    first.change_tags({"team": "blue"}, (), cause=CAUSE)
    first.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    first.tags["owner"] = "mallory"  # even a change behind the aggregate's back
    assert vars(worker) == before and vars(second) == before
    assert cache.copy_of(worker.id) is not None  # the entry is still a stored state


@dataclass(frozen=True)
class Holder:
    items: list[str]


def test_values_that_can_change_are_copied_even_inside_frozen_ones() -> None:
    class Thing:
        pass

    thing = Thing()
    thing.__dict__.update(held=Holder(["a"]), pair=("x", ["y"]), when=datetime.now(UTC))
    copied = copy_of_aggregate(thing)
    copied.held.items.append("b")
    copied.pair[1].append("z")
    assert thing.held.items == ["a"] and thing.pair == ("x", ["y"])
    assert copied.when is thing.when  # unchanging values are shared
