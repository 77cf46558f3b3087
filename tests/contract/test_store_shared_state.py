"""Tokens, sessions, idempotency keys and utilization samples: the same behaviour on
SQLite files and on PostgreSQL — where two processes (two stores on one database)
share them: a token made by one works on the other, a key claimed by one is taken
for the other."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from application.jobs.ports import UtilizationSample
from infrastructure.http.access.auth import AuthStore, Identity, Role
from infrastructure.http.idempotency import (
    LEASE_SECONDS,
    ClaimState,
    IdempotencyStore,
    StoredAnswer,
)
from infrastructure.running.operations.tracking import open_tracker
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.store.metrics_history import open_metrics_history
from tests.contract.store_backends import DURABLE_BACKENDS, backend_settings, database_for

ANSWER = StoredAnswer(202, "application/json", b'{"worker_id":"w"}')


@dataclass
class Process:
    """The shared-state stores of one process."""

    auth: AuthStore
    idempotency: IdempotencyStore
    history: Any


@dataclass
class Shared:
    settings: Settings
    clock: FakeClock
    database: Any

    def process(self) -> Process:
        """Another process's stores on the same files or database."""
        return Process(
            AuthStore.for_settings(self.settings, self.clock, self.database),
            IdempotencyStore.for_settings(self.settings, self.clock, self.database),
            open_metrics_history(self.settings, self.database),
        )


@pytest.fixture(params=DURABLE_BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shared]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with (
        backend_settings(request.param, tmp_path) as settings,
        database_for(settings) as database,
    ):
        yield Shared(settings, clock, database)


def test_a_token_made_by_one_process_works_on_another(shared: Shared) -> None:
    one, other = shared.process(), shared.process()
    token = one.auth.create_token(Role.OPERATOR, "oscar", timedelta(hours=1))

    assert other.auth.identify(token) == Identity("oscar", Role.OPERATOR)
    assert [(t.name, t.role) for t in other.auth.tokens()] == [("oscar", Role.OPERATOR)]
    shared.clock.advance(timedelta(hours=2))
    assert other.auth.identify(token) is None


def test_a_session_opened_on_one_process_is_known_and_closed_everywhere(shared: Shared) -> None:
    one, other = shared.process(), shared.process()
    token = one.auth.create_token(Role.VIEWER, "vera")
    session = one.auth.open_session(token)
    assert session is not None

    found = other.auth.session(session.id)
    other.auth.close_session(session.id)

    assert found is not None and found[0] == Identity("vera", Role.VIEWER)
    assert one.auth.session(session.id) is None


def test_an_answer_stored_by_one_process_is_replayed_by_another(shared: Shared) -> None:
    one, other = shared.process(), shared.process()
    assert one.idempotency.claim("alice", "k1", "f1").state is ClaimState.NEW
    assert other.idempotency.claim("alice", "k1", "f1").state is ClaimState.BUSY
    one.idempotency.complete("alice", "k1", ANSWER)

    replay = other.idempotency.claim("alice", "k1", "f1")

    assert (replay.state, replay.answer) == (ClaimState.REPLAY, ANSWER)
    assert other.idempotency.claim("alice", "k1", "another body").state is ClaimState.MISMATCH
    assert other.idempotency.claim("bob", "k1", "f1").state is ClaimState.NEW


def test_an_abandoned_or_released_claim_can_be_taken_again(shared: Shared) -> None:
    one, other = shared.process(), shared.process()
    one.idempotency.claim("alice", "crashed", "f")
    one.idempotency.claim("alice", "failed", "f")
    one.idempotency.release("alice", "failed")
    shared.clock.advance(timedelta(seconds=LEASE_SECONDS + 1))

    assert other.idempotency.claim("alice", "crashed", "f").state is ClaimState.NEW
    assert other.idempotency.claim("alice", "failed", "f").state is ClaimState.NEW


def test_concurrent_duplicates_on_two_processes_run_once(shared: Shared) -> None:
    processes = [shared.process() for _ in range(2)]
    barrier = threading.Barrier(8)
    states: list[ClaimState] = []

    def claim(process: Process) -> None:
        barrier.wait()
        states.append(process.idempotency.claim("alice", "race", "f").state)

    threads = [threading.Thread(target=claim, args=(processes[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(s.value for s in states) == ["busy"] * 7 + ["new"]


def test_utilization_samples_are_kept_in_order_and_pruned(shared: Shared) -> None:
    one, other = shared.process(), shared.process()
    t0 = shared.clock.now()
    one.history.append(
        [UtilizationSample("w1", t0 + timedelta(minutes=m), 10.0 * m, None, 1.5) for m in range(4)]
    )
    one.history.append([UtilizationSample("w1", t0, 99.0, 50.0, None)])  # same moment: replaced

    recent = other.history.samples("w1", since=t0 + timedelta(minutes=2))
    pruned = other.history.prune(t0 + timedelta(minutes=1))

    assert [(s.at, s.cpu_percent) for s in recent] == [
        (t0 + timedelta(minutes=2), 20.0),
        (t0 + timedelta(minutes=3), 30.0),
    ]
    assert pruned == 1 and other.history.count() == 3
    assert other.history.samples("w1", limit=1)[0].at == t0 + timedelta(minutes=3)


def test_the_reactor_position_is_shared_and_only_moves_forward(shared: Shared) -> None:
    one = open_tracker(shared.settings, shared.database)
    another = open_tracker(shared.settings, shared.database)  # the next leader's
    assert one.position() == 0
    one.advance(7)
    one.advance(5)  # a late, lower one changes nothing

    assert another.position() == 7
    one.close()
    another.close()
