"""Batching behind the WorkerStore port: handlers load, change and save as everywhere,
and their saves share transactions; each save answers its own position; a race with an
operator command loses nothing (the real store, in-memory persistence)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from uuid import UUID, uuid4

from application.commands.batching import Recording, record_together
from application.commands.common import MAX_ATTEMPTS, CommandResult
from application.commands.settings import (
    ChangeTags,
    ConfigureIdleDetection,
    change_tags,
    configure_idle_detection,
)
from application.errors import ConcurrencyConflict, WorkerNotFound
from application.ports import WorkerStore
from domain.cause import Cause
from domain.worker import CMLWorker
from infrastructure.store.event_store import FleetEventStore
from tests.store_spy import SpyStore, a_worker, tagging


class LosingStore(SpyStore):
    """Every save of ``loser`` loses a race: someone else always wrote first."""

    def __init__(self, real: FleetEventStore, loser: UUID) -> None:
        super().__init__(real)
        self.loser = loser

    def saving(self, workers: tuple[CMLWorker, ...]) -> None:
        super().saving(workers)
        if self.loser in {w.id for w in workers}:
            raise ConcurrencyConflict(self.loser, 1)


def test_each_save_in_a_batch_answers_the_position_of_its_own_event(
    memory_store: FleetEventStore,
) -> None:
    first, second = a_worker(memory_store, "a"), a_worker(memory_store, "b")
    answered: dict[UUID, int] = {}

    def saving(worker_id: UUID) -> Recording:
        def record(store: WorkerStore) -> Sequence[CommandResult]:
            worker = store.get(worker_id)
            worker.change_tags({"team": "x"}, (), cause=Cause("job", "c"))
            answered[worker_id] = store.save(worker)  # the handler's own save
            return []

        return record

    record_together(memory_store, [saving(first), saving(second)])

    end = memory_store.max_position()
    assert answered == {first: end - 1, second: end}  # real positions, nothing patched in
    assert [n.originator_id for n in memory_store.read_log(end - 2, 2)] == [first, second]


def test_several_commands_on_one_worker_load_it_once_and_save_what_changed(
    memory_store: FleetEventStore,
) -> None:
    worker_id = a_worker(memory_store)
    spy = SpyStore(memory_store)

    def three_commands(store: WorkerStore) -> Sequence[CommandResult]:
        return [
            change_tags(ChangeTags(worker_id, "job", "c", add={"team": "a"}), store),
            change_tags(ChangeTags(worker_id, "job", "c", add={"team": "a"}), store),  # no-op
            configure_idle_detection(
                ConfigureIdleDetection(worker_id, "job", "c", enabled=True, timeout_minutes=45),
                store,
            ),
        ]

    [outcome] = record_together(spy, [three_commands])

    assert spy.loads == [worker_id]  # later commands start from what the batch stored
    assert spy.saves == [(worker_id,), (worker_id,)]  # the no-op stores nothing
    assert isinstance(outcome, list) and [r.changed for r in outcome] == [True, False, True]
    end = memory_store.max_position()
    assert [r.position for r in outcome] == [end - 1, end - 1, end]  # each its own
    worker = memory_store.get(worker_id)
    assert (worker.tags, worker.idle_timeout_minutes, worker.version) == ({"team": "a"}, 45, 3)


def test_workers_recorded_together_are_saved_in_one_transaction(
    memory_store: FleetEventStore,
) -> None:
    first, second = a_worker(memory_store, "a"), a_worker(memory_store, "b")
    spy = SpyStore(memory_store)

    outcomes = record_together(
        spy, [tagging(first, "job", team="a"), tagging(second, "job", team="b")]
    )

    assert spy.saves == [(first, second)]
    end = memory_store.max_position()  # each reports the position of its own event
    assert [[r.position for r in o] for o in outcomes if isinstance(o, list)] == [[end - 1], [end]]
    assert memory_store.get(first).tags == {"team": "a"}
    assert memory_store.get(second).tags == {"team": "b"}


def test_an_operator_command_racing_a_batch_makes_each_worker_save_alone_and_nothing_is_lost(
    memory_store: FleetEventStore,
) -> None:
    first, second = a_worker(memory_store, "a"), a_worker(memory_store, "b")
    spy = SpyStore(memory_store)
    spy.race_on = first
    spy.race = lambda: change_tags(
        ChangeTags(first, "alice", "c-op", add={"owner": "alice"}), memory_store
    )

    outcomes = record_together(
        spy, [tagging(first, "job", team="a"), tagging(second, "job", team="b")]
    )

    assert spy.saves == [(first, second), (first,), (second,)]  # the batch lost the race
    assert spy.retried == [first, second]  # both were run again: counted as retries
    assert memory_store.get(first).tags == {"owner": "alice", "team": "a"}  # both changes
    assert memory_store.get(second).tags == {"team": "b"}
    assert all(isinstance(o, list) and o[0].changed for o in outcomes)
    assert outcomes[1][0].position == memory_store.max_position()  # type: ignore[index]


def test_a_worker_that_keeps_losing_is_reported_and_the_others_are_saved(
    memory_store: FleetEventStore,
) -> None:
    loser, other = a_worker(memory_store, "a"), a_worker(memory_store, "b")
    store = LosingStore(memory_store, loser)

    outcomes = record_together(
        store, [tagging(loser, "job", team="a"), tagging(other, "job", team="b")]
    )

    assert isinstance(outcomes[0], ConcurrencyConflict)
    # The handler's usual attempts (the first one together), then reported; the other
    # worker's retry is saved alone, so the contended one cannot use up its attempts.
    assert store.saves.count((loser, other)) == 1
    assert store.saves.count((loser,)) == MAX_ATTEMPTS - 1
    assert store.saves.count((other,)) == 1
    assert memory_store.get(loser).tags == {} and memory_store.get(other).tags == {"team": "b"}


def test_a_recording_that_fails_is_left_out_of_its_batch(memory_store: FleetEventStore) -> None:
    known, unknown = a_worker(memory_store), uuid4()
    spy = SpyStore(memory_store)

    outcomes = record_together(
        spy,
        [tagging(unknown, "job", team="x"), tagging(known, "job", team="a")],
    )

    assert isinstance(outcomes[0], WorkerNotFound)
    assert spy.saves == [(known,)] and memory_store.get(known).tags == {"team": "a"}


def test_a_batch_with_nothing_to_save_writes_nothing(memory_store: FleetEventStore) -> None:
    worker_id = a_worker(memory_store)
    spy = SpyStore(memory_store)

    outcomes = record_together(spy, [tagging(worker_id, "job")])

    assert spy.saves == [] and [r.changed for r in outcomes[0]] == [False]  # type: ignore[union-attr]
    # Like a lone command's, its position is the end of the log: nothing newer to wait for.
    assert [r.position for r in outcomes[0]] == [memory_store.max_position()]  # type: ignore[union-attr]


class BrokenStore(SpyStore):
    """Every save that stores something fails the way a sick database does."""

    def saving(self, workers: tuple[CMLWorker, ...]) -> None:
        super().saving(workers)
        if any(w.pending_events for w in workers):
            raise sqlite3.OperationalError("disk I/O error")


def test_a_store_that_fails_fails_every_recording_of_its_batch_and_stores_nothing(
    memory_store: FleetEventStore,
) -> None:
    first, second = a_worker(memory_store, "a"), a_worker(memory_store, "b")
    end = memory_store.max_position()

    outcomes = record_together(
        BrokenStore(memory_store), [tagging(first, "job", team="a"), tagging(second, "job")]
    )

    assert [type(o) for o in outcomes] == [sqlite3.OperationalError, list]  # nothing to store
    assert memory_store.max_position() == end and memory_store.get(first).tags == {}
    # The handler saw the error (its recording ended): a next batch records as usual.
    assert isinstance(record_together(memory_store, [tagging(first, "job", team="a")])[0], list)
    assert memory_store.get(first).tags == {"team": "a"}
