"""Single sign-on's server-side state, the same on SQLite and PostgreSQL, shared by the
processes of a cluster: a login begun on one finishes on another, once; a session is
known everywhere; one process at a time refreshes it; the provider's tokens are stored
sealed, never as they are."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infrastructure.http.access.auth import AuthStore, Identity, Role
from infrastructure.http.access.sso_store import PendingLogin, Sealer, SsoStore
from infrastructure.shared.clock import FakeClock
from tests.contract.store_backends import DURABLE_BACKENDS, backend_settings, database_for

SECRET = "client-secret"
TOKENS = {"refresh_token": "rt-SECRET-VALUE-1", "id_token": "eyJhbGciOi.id.token"}
OLGA = Identity("Olga Operator", Role.OPERATOR, subject="olga", teams=frozenset({"red"}))


class Cluster:
    def __init__(self, settings: Any, clock: FakeClock, database: Any) -> None:
        self.settings, self.clock, self.database = settings, clock, database
        self.auth = AuthStore.for_settings(settings, clock, database)

    def process(self, secret: str = SECRET) -> SsoStore:
        """Another process's store on the same files or database."""
        auth = AuthStore.for_settings(self.settings, self.clock, self.database)
        return SsoStore(auth.db, self.clock, Sealer(secret))


@pytest.fixture(params=DURABLE_BACKENDS)
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with (
        backend_settings(request.param, tmp_path) as settings,
        database_for(settings) as database,
    ):
        yield Cluster(settings, clock, database)


def test_a_login_begun_on_one_process_finishes_on_another_once(cluster: Cluster) -> None:
    one, other = cluster.process(), cluster.process()
    one.begin_login("state-1", PendingLogin("verifier-1", "nonce-1"))

    assert other.take_login("state-1") == PendingLogin("verifier-1", "nonce-1")
    assert one.take_login("state-1") is None
    assert other.take_login("forged") is None


def test_a_login_not_finished_in_time_expires(cluster: Cluster) -> None:
    store = cluster.process()
    store.begin_login("state-2", PendingLogin("v", "n"))
    cluster.clock.advance(timedelta(minutes=11))

    assert store.take_login("state-2") is None


def test_a_session_is_known_everywhere_and_ends_everywhere(cluster: Cluster) -> None:
    one, other = cluster.process(), cluster.process()
    session_id, _ = one.open_session(OLGA, TOKENS, refresh_at=0.0, max_age=3600)

    found = other.session(session_id)
    assert found is not None
    assert (found.identity.name, found.identity.subject, found.identity.teams) == (
        "Olga Operator", "olga", frozenset({"red"}),
    )  # fmt: skip
    assert found.tokens == TOKENS
    assert other.live(found.identity.token_id.removeprefix("sso:"))

    assert one.close_session(session_id) == TOKENS
    assert other.session(session_id) is None


def test_one_process_at_a_time_refreshes(cluster: Cluster) -> None:
    one, other = cluster.process(), cluster.process()
    session_id, _ = one.open_session(OLGA, TOKENS, refresh_at=100.0, max_age=3600)

    assert one.claim_refresh(session_id, 100.0) is True
    assert other.claim_refresh(session_id, 100.0) is False  # it saw the same due time


def test_the_provider_tokens_are_stored_sealed(cluster: Cluster) -> None:
    store = cluster.process()
    store.open_session(OLGA, TOKENS, refresh_at=0.0, max_age=3600)

    rows = cluster.auth.db.query("SELECT sealed FROM sso_sessions")
    assert rows and all("SECRET-VALUE" not in row[0] and "eyJ" not in row[0] for row in rows)


def test_a_session_sealed_under_another_client_secret_is_not_used(cluster: Cluster) -> None:
    session_id, _ = cluster.process().open_session(OLGA, TOKENS, refresh_at=0.0, max_age=3600)

    assert cluster.process(secret="rotated-secret").session(session_id) is None


def test_a_session_ends_at_its_max_age(cluster: Cluster) -> None:
    store = cluster.process()
    session_id, _ = store.open_session(OLGA, TOKENS, refresh_at=0.0, max_age=60)
    cluster.clock.advance(timedelta(seconds=61))

    assert store.session(session_id) is None
