"""Small rules of the operations engine: which events request what, the client token,
retries with backoff and jitter, what a licensing answer means, and the token box."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from application.cml import CmlLicensing
from application.operations.requests import OperationKind, client_token, operation_for
from application.operations.retry import GaveUp, NotYet, RetryPolicy, is_transient, retrying
from application.operations.verdicts import deregistration_verdict, redact, registration_verdict
from application.ports_errors import (
    CloudConflict,
    CloudThrottled,
    CloudTimeout,
    CmlError,
    CmlUnreachable,
)
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import LicenseStatus, PauseReason, WorkerStatus
from domain.worker import CMLWorker
from infrastructure.running.operations.secrets import LicenseTokenBox
from infrastructure.shared.clock import FakeClock

CAUSE = Cause("alice", "c-1")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def running_worker() -> CMLWorker:
    return CMLWorker.import_instance(
        WorkerSpec(name="lab", region="eu-west-1", instance_type="m5.xlarge"),
        instance_id="i-0123456789abcdef0",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )


def kinds(worker: CMLWorker) -> list[OperationKind | None]:
    ops = [operation_for(e, n) for n, e in enumerate(worker.collect_events())]
    return [op.kind if op else None for op in ops]


def test_each_request_asks_for_its_operation_and_observations_ask_for_none() -> None:
    w = running_worker()
    w.pause(PauseReason.MANUAL, at=T0, cause=CAUSE)
    w.observe_status(WorkerStatus.STOPPED, cause=CAUSE)
    w.resume(PauseReason.MANUAL, at=T0, cause=CAUSE)
    w.observe_status(WorkerStatus.RUNNING, cause=CAUSE)
    w.request_terminate(cause=CAUSE)

    assert kinds(w) == [
        None,
        OperationKind.STOP,
        None,
        OperationKind.START,
        None,
        OperationKind.TERMINATE,
    ]


def test_an_external_pause_or_resume_records_what_happened_and_asks_for_nothing() -> None:
    w = running_worker()
    w.observe_status(WorkerStatus.STOPPED, at=T0, cause=CAUSE)  # stopped in the AWS console
    w.observe_status(WorkerStatus.RUNNING, at=T0, cause=CAUSE)  # started there again

    events = w.collect_events()
    names = [type(e).__name__ for e in events]
    assert names == ["Imported", "StatusChanged", "Paused", "StatusChanged", "Resumed"]
    assert [operation_for(e, 0) for e in events] == [None] * 5


def test_the_client_token_is_the_same_for_the_same_request_and_fits_ec2() -> None:
    worker_id = uuid4()
    assert client_token(worker_id, 1) == client_token(worker_id, 1)
    assert client_token(worker_id, 1) != client_token(uuid4(), 1)
    assert len(client_token(worker_id, 1)) <= 64 and client_token(worker_id, 1).isascii()


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (CloudThrottled("slow down"), True),
        (CloudTimeout("no answer"), True),
        (CmlUnreachable("h", "refused"), True),
        (CmlError("h", "HTTP 503", status=503), True),
        (NotYet("stopping"), True),
        (CloudConflict("capacity"), False),
        (CmlError("h", "HTTP 400", status=400), False),
        (ValueError("bug"), False),
    ],
)
def test_what_is_worth_retrying(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    policy = RetryPolicy(attempts=6, base=1.0, cap=8.0)
    assert [policy.delay(n, 0.0) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [policy.delay(n, 1.0) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 8.0]


async def test_retrying_waits_between_transient_failures_and_gives_up_in_the_end() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def flaky(attempt: int) -> str:
        if attempt < 2:
            raise CloudThrottled("slow down")
        return f"done at attempt {attempt}"

    async def dead(attempt: int) -> str:
        raise CloudTimeout("no answer")

    policy = RetryPolicy(attempts=3, base=1.0, cap=10.0)
    assert await retrying(flaky, policy, sleep, lambda: 0.5) == "done at attempt 2"
    assert waits == [0.75, 1.5]
    with pytest.raises(GaveUp, match="gave up after 3 attempts: no answer"):
        await retrying(dead, policy, sleep, lambda: 0.5)


async def test_a_permanent_error_is_not_retried() -> None:
    calls = []

    async def refused(attempt: int) -> None:
        calls.append(attempt)
        raise CloudConflict("IncorrectInstanceState")

    async def no_sleep(seconds: float) -> None:
        raise AssertionError("a permanent error must not wait")

    with pytest.raises(CloudConflict):
        await retrying(refused, RetryPolicy(), no_sleep, lambda: 0.0)
    assert calls == [0]


def licensing(registration: str | None, authorization: str = "EVAL") -> CmlLicensing:
    return CmlLicensing(registration, authorization, failure="Invalid registration token")


def test_only_completed_is_a_successful_registration() -> None:
    assert registration_verdict(licensing("IN_PROGRESS")).final is False
    done = registration_verdict(licensing("COMPLETED", "IN_COMPLIANCE"))
    assert done.succeeded and done.status is LicenseStatus.REGISTERED
    failed = registration_verdict(licensing("FAILED"))
    assert (failed.succeeded, failed.reason) == (False, "Invalid registration token")
    odd = registration_verdict(licensing("UNREGISTERED"))
    assert (odd.succeeded, odd.reason) == (
        False,
        "unexpected answer from CML: registration UNREGISTERED",
    )
    assert registration_verdict(licensing(None)).reason == (
        "unexpected answer from CML: registration missing"
    )


def test_a_deregistration_is_done_once_cml_says_unregistered() -> None:
    assert deregistration_verdict(licensing("COMPLETED")).final is False
    assert deregistration_verdict(licensing("UNREGISTERED")).succeeded
    assert not deregistration_verdict(licensing("FAILED")).succeeded


def test_a_reason_never_carries_the_token() -> None:
    assert redact("bad token S3CRET in body", "S3CRET") == "bad token [token] in body"


def test_a_token_is_handed_out_once_then_gone() -> None:
    box = LicenseTokenBox(FakeClock(T0))
    worker_id = uuid4()
    with box.holding(worker_id, "c-1", "S3CRET") as held:
        held.keep_if(True)

    assert "S3CRET" not in repr(box) and "S3CRET" not in repr(box.__dict__)
    assert box.take(worker_id, "c-2") is None
    assert box.take(worker_id, "c-1") == "S3CRET"
    assert box.take(worker_id, "c-1") is None


def test_a_refused_request_takes_its_token_back_and_an_untaken_one_expires() -> None:
    clock = FakeClock(T0)
    box = LicenseTokenBox(clock, ttl=timedelta(minutes=15))
    worker_id = uuid4()
    with box.holding(worker_id, "refused", "S3CRET") as held:
        held.keep_if(False)  # e.g. 409: the worker cannot register now
    with box.holding(worker_id, "accepted", "S3CRET") as held:
        held.keep_if(True)
    assert len(box) == 1

    clock.advance(timedelta(minutes=16))

    assert box.take(worker_id, "accepted") is None
    assert len(box) == 0
