"""License registration and deregistration through the worker's CML API.

The registration token comes from the in-memory secret source, once, and lives only
in this coroutine's variables. After a restart it is gone, and the registration
fails asking for it again: never a success, never the token on disk. The outcome is
decided by polling ``GET /licensing`` until CML gives a final answer or the time is
up (a timeout or an unexpected answer is a failure).
"""

from __future__ import annotations

from collections.abc import Callable

from application.cml import CmlLicensing, license_status_of
from application.commands.outcomes import (
    CompleteLicenseDeregistration,
    CompleteLicenseRegistration,
    FailLicenseDeregistration,
    FailLicenseRegistration,
    complete_license_deregistration,
    complete_license_registration,
    fail_license_deregistration,
    fail_license_registration,
)
from application.operations.context import OperationContext, Outcome, done, failed, skipped
from application.operations.host import cml_host
from application.operations.requests import Operation
from application.operations.retry import GaveUp, describe, is_transient
from application.operations.verdicts import (
    IN_PROGRESS,
    Verdict,
    deregistration_verdict,
    redact,
    registration_verdict,
)
from application.ports_errors import CmlError
from domain.status import LicenseStatus
from domain.worker import CMLWorker

TOKEN_GONE = "registration token not available after a restart; submit it again"


def _current(worker: CMLWorker, op: Operation, status: LicenseStatus) -> bool:
    """Is this request the license operation in progress (not an older one)?"""
    return worker.license_status is status and worker.license_request_version == op.version


# ------------------------------------------------------------------ registration


async def register(ctx: OperationContext, op: Operation) -> Outcome:
    token = ctx.secrets.take(op.worker_id, op.correlation_id)  # wiped, whatever happens
    worker = await ctx.load(op.worker_id)
    if not _current(worker, op, LicenseStatus.REGISTERING):
        return skipped(f"superseded: the license is {worker.license_status.value}")
    if token is None:
        return await _registration_failed(ctx, op, TOKEN_GONE)
    host, unreachable = await cml_host(ctx, worker)
    if host is None:
        return await _registration_failed(ctx, op, unreachable)
    try:
        await ctx.retrying(lambda attempt: _send(ctx, host, token, attempt))
    except (CmlError, GaveUp) as error:
        reason = f"CML refused the registration: {redact(describe(error), token)}"
        return await _registration_failed(ctx, op, reason)
    verdict, _ = await _poll(ctx, host, registration_verdict)
    if verdict.succeeded:
        assert verdict.status is not None
        command = CompleteLicenseRegistration(
            op.worker_id, ctx.config.actor, op.correlation_id, status=verdict.status
        )
        await ctx.record(complete_license_registration, command)
        return done(verdict.status.value)
    return await _registration_failed(ctx, op, verdict.reason or "registration failed")


async def _send(ctx: OperationContext, host: str, token: str, attempt: int) -> None:
    if attempt > 0:  # an earlier attempt may have reached CML before its answer was lost
        state = (await ctx.cml.licensing(host)).registration_status or ""
        if state.upper() in IN_PROGRESS or state.upper() == "COMPLETED":
            return
    await ctx.cml.register_license(host, token)


async def _registration_failed(ctx: OperationContext, op: Operation, reason: str) -> Outcome:
    command = FailLicenseRegistration(
        op.worker_id, ctx.config.actor, op.correlation_id, reason=reason
    )
    await ctx.record(fail_license_registration, command)
    return failed(reason)


# ---------------------------------------------------------------- deregistration


async def deregister(ctx: OperationContext, op: Operation) -> Outcome:
    worker = await ctx.load(op.worker_id)
    if not _current(worker, op, LicenseStatus.DEREGISTERING):
        return skipped(f"superseded: the license is {worker.license_status.value}")
    before = worker.license_status_before_request or LicenseStatus.FAILED
    host, unreachable = await cml_host(ctx, worker)
    if host is None:
        return await _deregistration_failed(ctx, op, unreachable, before)
    try:
        first = await ctx.retrying(lambda _: ctx.cml.licensing(host))
        if not deregistration_verdict(first).succeeded:
            await ctx.retrying(lambda _: _release(ctx, host))
    except (CmlError, GaveUp) as error:
        reason = f"CML refused the deregistration: {describe(error)}"
        return await _deregistration_failed(ctx, op, reason, before)
    verdict, last = await _poll(ctx, host, deregistration_verdict)
    if verdict.succeeded:
        command = CompleteLicenseDeregistration(op.worker_id, ctx.config.actor, op.correlation_id)
        await ctx.record(complete_license_deregistration, command)
        return done("unregistered")
    left = license_status_of(last) if last is not None else before
    return await _deregistration_failed(ctx, op, verdict.reason or "deregistration failed", left)


async def _release(ctx: OperationContext, host: str) -> None:
    try:
        await ctx.cml.deregister_license(host)
    except CmlError as error:
        if error.status != 400:  # 400: already deregistered, which is what we want
            raise


async def _deregistration_failed(
    ctx: OperationContext, op: Operation, reason: str, status: LicenseStatus
) -> Outcome:
    command = FailLicenseDeregistration(
        op.worker_id, ctx.config.actor, op.correlation_id, reason=reason, status=status
    )
    await ctx.record(fail_license_deregistration, command)
    return failed(reason)


# ----------------------------------------------------------------------- polling


async def _poll(
    ctx: OperationContext, host: str, verdict_of: Callable[[CmlLicensing], Verdict]
) -> tuple[Verdict, CmlLicensing | None]:
    """Ask ``GET /licensing`` until the answer is final or the time is up."""
    config = ctx.config
    deadline = ctx.clock.now() + config.license_timeout
    interval, last, seen = config.poll_interval, "no answer yet", None
    for _ in range(config.max_polls):
        try:
            seen = await ctx.cml.licensing(host)
        except CmlError as error:
            if not is_transient(error):
                return Verdict(final=True, reason=describe(error)), seen
            last = describe(error)
        else:
            verdict = verdict_of(seen)
            if verdict.final:
                return verdict, seen
            last = f"registration {seen.registration_status}"
        if ctx.clock.now() >= deadline:
            break
        await ctx.sleep(interval)
        interval = min(interval * 1.5, config.poll_max_interval)
    minutes = config.license_timeout.total_seconds() / 60
    reason = f"no final answer from CML within {minutes:g} min (last: {last})"
    return Verdict(final=True, reason=reason), seen
