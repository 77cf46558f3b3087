"""Logging in to CML: one token per worker, reused; one new login when it expires;
credentials never in logs or errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from application.jobs.probe import probe_cml
from application.ports_errors import CmlError
from infrastructure.outside.cml_http import HttpCml
from infrastructure.outside.simulated import SimKnobs, SimWorld
from infrastructure.shared.clock import FakeClock
from tests.fakes import ready_worker
from tests.fakes.cml_rig import Rig
from tests.fakes.cml_server import PASSWORD, FakeCml


@pytest.fixture
def rig(clock: FakeClock) -> Iterator[Rig]:
    world = SimWorld(clock, SimKnobs(seed=5, busy_fraction=1.0))
    host = ready_worker(world, clock, hours=1)
    with FakeCml(world, token_lifetime=timedelta(minutes=30)) as fake:
        yield Rig(clock, world, fake, host)
        assert fake.violations == []


@pytest.fixture
async def cml(rig: Rig) -> AsyncIterator[HttpCml]:
    client = rig.client()
    yield client
    await client.aclose()


async def test_one_login_serves_every_call_of_many_cycles(rig: Rig, cml: HttpCml) -> None:
    for _ in range(3):
        await probe_cml(cml, rig.host)

    assert rig.fake.logins[rig.host] == 1
    assert cml.calls["POST /authenticate"] == 1
    tokens = {s.authorization for s in rig.fake.seen if s.operation != "POST /authenticate"}
    assert len(tokens - {None}) == 1  # system_information goes without a token


async def test_an_expired_token_costs_one_new_login_even_for_concurrent_calls(
    rig: Rig, cml: HttpCml
) -> None:
    await probe_cml(cml, rig.host)
    rig.clock.advance(timedelta(minutes=31))  # past the token's lifetime

    await asyncio.gather(*(cml.system_health(rig.host) for _ in range(5)))

    assert rig.fake.logins[rig.host] == 2


async def test_a_token_refused_again_after_a_new_login_fails_after_exactly_one_retry(
    rig: Rig, cml: HttpCml
) -> None:
    await cml.licensing(rig.host)
    rig.fake.reject_tokens = True

    with pytest.raises(CmlError) as refused:
        await cml.licensing(rig.host)

    assert refused.value.status == 401
    assert rig.fake.logins[rig.host] == 2
    assert rig.fake.count("GET /licensing") == 3  # first call, then the refused one twice


async def test_wrong_credentials_are_an_error_that_names_no_secret(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cml = rig.client(password=SecretStr("wrong-pass-7f3a"))
    try:
        with pytest.raises(CmlError) as refused:
            await cml.system_stats(rig.host)
    finally:
        await cml.aclose()

    assert refused.value.status == 403
    assert "refused" in str(refused.value)
    assert "wrong-pass-7f3a" not in str(refused.value) + repr(refused.value) + caplog.text
    assert rig.fake.count("POST /authenticate") == 1  # a refused login is not retried


async def test_no_password_or_token_ever_appears_in_logs_or_errors(
    rig: Rig, cml: HttpCml, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    await probe_cml(cml, rig.host)
    rig.fake.expire_tokens()
    await cml.labs(rig.host)
    rig.fake.fail_next(3, status=503)
    for failing in (cml.system_health(rig.host), cml.register_license(rig.host, "bad tok")):
        try:
            await failing
        except CmlError as error:
            errors.append(f"{error} {error!r} {error.reason}")

    tokens = {s.authorization.split()[1] for s in rig.fake.seen if s.authorization}
    assert len(errors) == 2 and len(tokens) == 2
    for secret in (PASSWORD, "bad tok", *tokens):
        assert secret not in caplog.text
        assert all(secret not in text for text in errors)


async def test_the_password_can_come_from_a_secret_file_and_is_reread_at_login(
    rig: Rig, tmp_path: Path
) -> None:
    secret = tmp_path / "cml-password"
    secret.write_text(PASSWORD + "\n")
    cml = rig.client(password=None, password_file=secret)
    try:
        await cml.system_stats(rig.host)
        rig.fake.password = "rotated-password-2"  # the operator rotates it on CML
        secret.write_text("rotated-password-2\n")  # and in the mounted secret
        rig.fake.expire_tokens()
        await cml.system_stats(rig.host)
    finally:
        await cml.aclose()

    assert rig.fake.logins[rig.host] == 2
