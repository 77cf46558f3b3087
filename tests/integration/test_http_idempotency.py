"""Idempotency-Key: a retried POST gets the first answer and is applied once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.sqlite import SmallDb
from infrastructure.http.app import create_app
from infrastructure.http.idempotency import (
    LEASE_SECONDS,
    ClaimState,
    IdempotencyStore,
    StoredAnswer,
)
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import NEW_WORKER, Api, settings_for


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    system = bootstrap(settings_for(tmp_path))
    with TestClient(create_app(system)) as client:
        yield Api(system, client)


def history_types(api: Api, worker_id: str) -> list[str]:
    response = api.client.get(f"/api/workers/{worker_id}/history", headers=api.viewer)
    return [entry["type"] for entry in response.json()["items"]]


def test_a_retried_create_returns_the_first_answer_and_records_one_worker(api: Api) -> None:
    headers = api.admin | {"Idempotency-Key": "create-lab-east-1"}

    first = api.client.post("/api/workers", json=NEW_WORKER, headers=headers)
    retry = api.client.post("/api/workers", json=NEW_WORKER, headers=headers)

    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    page = api.client.get(
        f"/api/workers?min_position={first.json()['position']}", headers=api.viewer
    ).json()
    assert page["total"] == 1


def test_a_retried_pause_is_applied_once(api: Api) -> None:
    wid = api.import_("running")["worker_id"]
    headers = api.operator | {"Idempotency-Key": "pause-1"}

    first = api.client.post(f"/api/workers/{wid}/pause", headers=headers)
    retry = api.client.post(f"/api/workers/{wid}/pause", headers=headers)

    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json() == first.json()
    assert history_types(api, wid).count("worker.paused") == 1
    # Without the key, the same request is a new one: refused, the worker is stopping.
    assert api.client.post(f"/api/workers/{wid}/pause", headers=api.operator).status_code == 409


def test_concurrent_duplicates_create_one_worker(api: Api) -> None:
    headers = api.admin | {"Idempotency-Key": "burst"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda _: api.client.post("/api/workers", json=NEW_WORKER, headers=headers),
                range(8),
            )
        )

    accepted = [a for a in answers if a.status_code == 202]
    busy = [a for a in answers if a.status_code == 409]
    assert len(accepted) + len(busy) == 8
    assert len({a.json()["worker_id"] for a in accepted}) == 1
    assert all(b.headers["retry-after"] == "1" for b in busy)
    last = max(a.json()["position"] for a in accepted)
    page = api.client.get(f"/api/workers?min_position={last}", headers=api.viewer).json()
    assert page["total"] == 1


def test_the_same_key_for_a_different_request_is_refused(api: Api) -> None:
    headers = api.admin | {"Idempotency-Key": "k-1"}
    api.client.post("/api/workers", json=NEW_WORKER, headers=headers)

    other = api.client.post("/api/workers", json=NEW_WORKER | {"name": "x"}, headers=headers)

    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"


def test_keys_belong_to_their_actor(api: Api) -> None:
    second_admin = api.bearer(api.system.auth.tokens()[0].role, "bob")
    key = {"Idempotency-Key": "same-key"}

    alice = api.client.post("/api/workers", json=NEW_WORKER, headers=api.admin | key)
    bob = api.client.post("/api/workers", json=NEW_WORKER, headers=second_admin | key)

    assert alice.json()["worker_id"] != bob.json()["worker_id"]


def test_a_refusal_is_also_the_stored_answer(api: Api) -> None:
    wid = api.import_("stopped")["worker_id"]
    headers = api.operator | {"Idempotency-Key": "pause-stopped"}

    first = api.client.post(f"/api/workers/{wid}/pause", headers=headers)
    retry = api.client.post(f"/api/workers/{wid}/pause", headers=headers)

    assert first.status_code == retry.status_code == 409
    assert retry.headers["content-type"] == "application/problem+json"
    assert retry.json()["detail"] == first.json()["detail"]


# ------------------------------------------------------------- the store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[IdempotencyStore]:
    store = IdempotencyStore(SmallDb(str(tmp_path / "idempotency.sqlite")), clock, 24 * 3600)
    yield store
    store.close()


def test_a_concurrent_duplicate_finds_the_key_taken(store: IdempotencyStore) -> None:
    assert store.claim("alice", "k", "fp").state is ClaimState.NEW
    assert store.claim("alice", "k", "fp").state is ClaimState.BUSY

    store.complete("alice", "k", StoredAnswer(202, "application/json", b"{}"))

    replay = store.claim("alice", "k", "fp")
    assert replay.state is ClaimState.REPLAY
    assert replay.answer == StoredAnswer(202, "application/json", b"{}")


def test_an_abandoned_claim_is_taken_over_after_its_lease(
    store: IdempotencyStore, clock: FakeClock
) -> None:
    store.claim("alice", "k", "fp")
    clock.advance(timedelta(seconds=LEASE_SECONDS + 1))

    assert store.claim("alice", "k", "fp").state is ClaimState.NEW


def test_answers_expire_after_a_day(store: IdempotencyStore, clock: FakeClock) -> None:
    store.claim("alice", "k", "fp")
    store.complete("alice", "k", StoredAnswer(200, "application/json", b"{}"))
    clock.advance(timedelta(hours=23))
    assert store.claim("alice", "k", "fp").state is ClaimState.REPLAY

    clock.advance(timedelta(hours=2))

    assert store.claim("alice", "k", "other").state is ClaimState.NEW


def test_a_released_claim_can_run_again(store: IdempotencyStore) -> None:
    store.claim("alice", "k", "fp")
    store.release("alice", "k")

    assert store.claim("alice", "k", "fp").state is ClaimState.NEW


def test_answers_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    path = str(tmp_path / "idempotency.sqlite")
    first = IdempotencyStore(SmallDb(path), clock, 3600)
    first.claim("alice", "k", "fp")
    first.complete("alice", "k", StoredAnswer(202, "application/json", b'{"a":1}'))
    first.close()

    again = IdempotencyStore(SmallDb(path), clock, 3600)

    assert again.claim("alice", "k", "fp").answer == StoredAnswer(
        202, "application/json", b'{"a":1}'
    )
    again.close()
