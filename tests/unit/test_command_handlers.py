"""Command handlers on the real event store (in-memory persistence)."""

from __future__ import annotations

import threading
from uuid import uuid4

import pytest

from application.commands.common import MAX_ATTEMPTS
from application.commands.license import RequestLicenseRegistration, request_license_registration
from application.commands.lifecycle import (
    CreateWorker,
    ImportWorker,
    PauseWorker,
    ResumeWorker,
    create_worker,
    import_worker,
    pause_worker,
    resume_worker,
)
from application.commands.settings import ChangeTags, change_tags
from application.errors import ConcurrencyConflict, WorkerNotFound
from domain.errors import IllegalTransition
from domain.status import WorkerStatus
from infrastructure.store.event_store import FleetEventStore


def imported(store: FleetEventStore) -> object:
    return import_worker(
        ImportWorker(
            instance_id="i-1",
            name="w",
            region="eu-west-1",
            instance_type="m5.xlarge",
            status=WorkerStatus.RUNNING,
            actor="alice",
            correlation_id="c-import",
        ),
        store,
    )


def test_each_command_returns_the_position_of_its_last_event(memory_store, clock) -> None:
    first = imported(memory_store)
    paused = pause_worker(PauseWorker(first.worker_id, "bob", "c-pause"), memory_store, clock)
    assert (first.position, paused.position) == (1, 2)
    assert paused.correlation_id == "c-pause" and paused.changed


def test_a_command_that_changes_nothing_returns_the_current_end_of_the_log(memory_store) -> None:
    first = imported(memory_store)
    same = change_tags(ChangeTags(first.worker_id, "alice", "c", add={}), memory_store)
    assert same.position == first.position and not same.changed


def test_create_records_a_pending_worker(memory_store) -> None:
    result = create_worker(
        CreateWorker(
            name="new",
            region="us-east-1",
            instance_type="c5.xlarge",
            ami_id="ami-1",
            actor="admin",
            correlation_id="c",
        ),
        memory_store,
    )
    assert memory_store.get(result.worker_id).status is WorkerStatus.PENDING


def test_an_unknown_worker_is_reported(memory_store, clock) -> None:
    with pytest.raises(WorkerNotFound):
        pause_worker(PauseWorker(uuid4(), "bob", "c"), memory_store, clock)


def test_a_refused_command_stores_nothing(memory_store, clock) -> None:
    first = imported(memory_store)
    with pytest.raises(IllegalTransition):
        resume_worker(ResumeWorker(first.worker_id, "bob", "c"), memory_store, clock)
    assert memory_store.max_position() == first.position


def test_the_license_token_is_not_stored(memory_store) -> None:
    first = imported(memory_store)
    request_license_registration(
        RequestLicenseRegistration(first.worker_id, "admin", "c", token="TOKEN-XYZ-123"),
        memory_store,
    )
    stored = b"".join(n.state for n in memory_store.read_log(0, 100))
    assert b"TOKEN-XYZ-123" not in stored
    assert "TOKEN-XYZ-123" not in repr(
        RequestLicenseRegistration(first.worker_id, "admin", "c", token="TOKEN-XYZ-123")
    )


def test_racing_commands_on_one_worker_all_land_after_retries(memory_store) -> None:
    first = imported(memory_store)
    barrier = threading.Barrier(8)

    def tag(i: int) -> None:
        barrier.wait()
        change_tags(
            ChangeTags(first.worker_id, f"user{i}", f"c{i}", add={f"k{i}": "v"}), memory_store
        )

    threads = [threading.Thread(target=tag, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert memory_store.get(first.worker_id).tags == {f"k{i}": "v" for i in range(8)}


class RacedStore:
    """A WorkerStore whose every save loses a race (someone else always wrote first)."""

    def __init__(self, real: FleetEventStore) -> None:
        self.real = real
        self.attempts = 0

    def get(self, worker_id):  # type: ignore[no-untyped-def]
        return self.real.get(worker_id)

    def save(self, *workers):  # type: ignore[no-untyped-def]
        self.attempts += 1
        raise ConcurrencyConflict(workers[0].id, 1)


def test_a_worker_that_keeps_changing_is_reported_as_a_conflict(memory_store) -> None:
    first = imported(memory_store)
    raced = RacedStore(memory_store)
    with pytest.raises(ConcurrencyConflict, match="retry"):
        change_tags(ChangeTags(first.worker_id, "alice", "c", add={"a": "b"}), raced)
    assert raced.attempts == MAX_ATTEMPTS
    assert memory_store.get(first.worker_id).tags == {}
