"""A worker's history: its events as public notifications, newest first, page by page."""

from __future__ import annotations

from uuid import uuid4

import pytest

from application.commands.lifecycle import (
    ImportWorker,
    PauseWorker,
    ResumeWorker,
    import_worker,
    pause_worker,
    resume_worker,
)
from application.commands.settings import ChangeTags, change_tags
from application.errors import WorkerNotFound
from application.history import GetWorkerHistory, get_worker_history
from domain.cause import Cause
from domain.status import WorkerStatus


@pytest.fixture
def worker_id(memory_store, clock):
    """A worker imported by alice, paused by bob, tagged and resumed by carol."""
    result = import_worker(
        ImportWorker(
            instance_id="i-0123456789abcdef0",
            name="lab-1",
            region="eu-west-1",
            instance_type="c5.2xlarge",
            status=WorkerStatus.RUNNING,
            actor="alice",
            correlation_id="c-1",
        ),
        memory_store,
    )
    wid = result.worker_id
    pause_worker(PauseWorker(wid, "bob", "c-2"), memory_store, clock)
    memory_store.save(memory_store.get(wid))  # nothing pending: no event
    change_tags(ChangeTags(wid, "carol", "c-3", add={"team": "net"}), memory_store)
    worker = memory_store.get(wid)
    worker.observe_status(WorkerStatus.STOPPED, cause=Cause("ec2", "c-4"))
    memory_store.save(worker)
    resume_worker(ResumeWorker(wid, "carol", "c-5"), memory_store, clock)
    return wid


def test_the_history_shows_who_did_what_newest_first(memory_store, worker_id) -> None:
    page = get_worker_history(GetWorkerHistory(worker_id), memory_store)
    assert [(n.type, n.actor, n.correlation_id) for n in page.items] == [
        ("worker.resumed", "carol", "c-5"),
        ("worker.status.changed", "ec2", "c-4"),
        ("worker.tags.changed", "carol", "c-3"),
        ("worker.paused", "bob", "c-2"),
        ("worker.imported", "alice", "c-1"),
    ]
    assert [n.version for n in page.items] == [5, 4, 3, 2, 1]
    assert page.next_before_version is None


def test_the_history_pages_backwards_without_gaps(memory_store, worker_id) -> None:
    seen: list[int] = []
    before = None
    for _ in range(5):
        page = get_worker_history(GetWorkerHistory(worker_id, 2, before), memory_store)
        seen += [n.version for n in page.items]
        before = page.next_before_version
        if before is None:
            break
    assert seen == [5, 4, 3, 2, 1]


def test_a_page_that_ends_exactly_at_the_first_event_says_there_is_no_more(
    memory_store, worker_id
) -> None:
    page = get_worker_history(GetWorkerHistory(worker_id, 2, before_version=3), memory_store)
    assert [n.version for n in page.items] == [2, 1]
    assert page.next_before_version is None


def test_an_unknown_worker_has_no_history(memory_store) -> None:
    with pytest.raises(WorkerNotFound):
        get_worker_history(GetWorkerHistory(uuid4()), memory_store)
