"""Tokens and sessions: random, stored hashed, expiring, with roles as scope ladders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from infrastructure.http.access.auth import AuthStore, Identity, Role, digest
from infrastructure.http.access.sqlite import SmallDb
from infrastructure.shared.clock import FakeClock

HOUR = 3600


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def auth(clock: FakeClock) -> Iterator[AuthStore]:
    store = AuthStore(SmallDb(":memory:"), clock, session_max_age_seconds=HOUR)
    yield store
    store.close()


def test_each_role_can_do_what_the_roles_below_it_can() -> None:
    assert Role.VIEWER.scopes == ["viewer"]
    assert Role.OPERATOR.scopes == ["viewer", "operator"]
    assert Role.ADMIN.scopes == ["viewer", "operator", "admin"]


def test_a_new_token_identifies_its_holder(auth: AuthStore) -> None:
    token = auth.create_token(Role.OPERATOR, "oscar")

    assert auth.identify(token) == Identity("oscar", Role.OPERATOR)
    assert auth.identify(token + "x") is None
    assert auth.identify("") is None


def test_tokens_are_random_and_long(auth: AuthStore) -> None:
    tokens = {auth.create_token(Role.VIEWER, "v") for _ in range(20)}

    assert len(tokens) == 20
    assert min(len(t) for t in tokens) >= 43  # 32 random bytes, url-safe base64


def test_only_a_hash_of_the_token_is_kept(auth: AuthStore) -> None:
    token = auth.create_token(Role.ADMIN, "alice")

    with auth._db.transaction() as conn:
        rows = conn.execute("SELECT * FROM tokens").fetchall()

    assert token not in repr(rows)
    assert digest(token) in repr(rows)


def test_the_listing_shows_names_and_roles(auth: AuthStore, clock: FakeClock) -> None:
    auth.create_token(Role.ADMIN, "alice")
    auth.create_token(Role.VIEWER, "ci", expires_in=timedelta(days=1))

    listed = auth.tokens()

    assert [(t.name, t.role) for t in listed] == [("alice", Role.ADMIN), ("ci", Role.VIEWER)]
    assert listed[0].expires_at is None
    assert listed[1].expires_at == clock.now() + timedelta(days=1)
    assert auth.has_tokens()


def test_an_expired_token_no_longer_works(auth: AuthStore, clock: FakeClock) -> None:
    token = auth.create_token(Role.VIEWER, "ci", expires_in=timedelta(hours=1))
    clock.advance(timedelta(minutes=59))
    assert auth.identify(token) is not None

    clock.advance(timedelta(minutes=2))

    assert auth.identify(token) is None


def test_a_session_lives_for_its_max_age(auth: AuthStore, clock: FakeClock) -> None:
    session = auth.open_session(auth.create_token(Role.VIEWER, "vera"))
    assert session is not None
    found = auth.session(session.id)
    assert found is not None
    assert found == (Identity("vera", Role.VIEWER), digest(session.csrf))

    clock.advance(timedelta(seconds=HOUR + 1))

    assert auth.session(session.id) is None


def test_a_session_ends_with_its_token(auth: AuthStore, clock: FakeClock) -> None:
    token = auth.create_token(Role.VIEWER, "vera", expires_in=timedelta(minutes=10))
    session = auth.open_session(token)
    assert session is not None

    clock.advance(timedelta(minutes=11))

    assert auth.session(session.id) is None


def test_no_session_for_a_bad_token(auth: AuthStore) -> None:
    assert auth.open_session("not-a-token") is None


def test_a_closed_session_is_gone(auth: AuthStore) -> None:
    session = auth.open_session(auth.create_token(Role.VIEWER, "vera"))
    assert session is not None

    auth.close_session(session.id)

    assert auth.session(session.id) is None
