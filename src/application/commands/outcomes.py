"""Outcomes of requested cloud and CML operations, recorded by the operations engine.

Each outcome is a command like any other (load, change, save, retry on a race); its
correlation id is the request's, so the client that asked recognises the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.commands.common import CommandResult, WorkerCommand, change
from application.ports import WorkerStore
from domain.status import LicenseStatus, WorkerStatus


@dataclass(frozen=True)
class AssignInstance(WorkerCommand):
    """The instance of a requested worker exists."""

    instance_id: str


def assign_instance(cmd: AssignInstance, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.assign_instance(cmd.instance_id, cause=cmd.cause))


@dataclass(frozen=True)
class RecordOperationFailure(WorkerCommand):
    """A requested operation failed for good; the worker is left in ``status``."""

    operation: str
    reason: str
    status: WorkerStatus = WorkerStatus.UNKNOWN


def record_operation_failure(cmd: RecordOperationFailure, store: WorkerStore) -> CommandResult:
    return change(
        store,
        cmd,
        lambda w: w.fail_operation(cmd.operation, cmd.reason, cmd.status, cause=cmd.cause),
    )


@dataclass(frozen=True)
class RecordTermination(WorkerCommand):
    """The worker's instance is gone (or never existed): the worker is terminated,
    for ``reason`` (shown in its history)."""

    reason: str | None = None


def record_termination(cmd: RecordTermination, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.record_termination(cmd.reason, cause=cmd.cause))


@dataclass(frozen=True)
class ConfirmTags(WorkerCommand):
    """The tag changes up to ``version`` are in EC2."""

    version: int


def confirm_tags(cmd: ConfirmTags, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.confirm_tags(cmd.version, cause=cmd.cause))


@dataclass(frozen=True)
class FailTagChange(WorkerCommand):
    """The pending tag change could not be written to EC2."""

    reason: str


def fail_tag_change(cmd: FailTagChange, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.fail_tag_change(cmd.reason, cause=cmd.cause))


@dataclass(frozen=True)
class CompleteLicenseRegistration(WorkerCommand):
    """CML reports the registration done; ``status`` is the license status it left."""

    status: LicenseStatus = LicenseStatus.REGISTERED


def complete_license_registration(
    cmd: CompleteLicenseRegistration, store: WorkerStore
) -> CommandResult:
    return change(
        store, cmd, lambda w: w.complete_license_registration(cmd.status, cause=cmd.cause)
    )


@dataclass(frozen=True)
class FailLicenseRegistration(WorkerCommand):
    """The registration failed (refused, timed out, unexpected answer)."""

    reason: str


def fail_license_registration(cmd: FailLicenseRegistration, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.fail_license_registration(cmd.reason, cause=cmd.cause))


class CompleteLicenseDeregistration(WorkerCommand):
    """CML reports the license released."""


def complete_license_deregistration(
    cmd: CompleteLicenseDeregistration, store: WorkerStore
) -> CommandResult:
    return change(store, cmd, lambda w: w.complete_license_deregistration(cause=cmd.cause))


@dataclass(frozen=True)
class FailLicenseDeregistration(WorkerCommand):
    """The deregistration failed; the license is left in ``status``."""

    reason: str
    status: LicenseStatus = LicenseStatus.FAILED


def fail_license_deregistration(
    cmd: FailLicenseDeregistration, store: WorkerStore
) -> CommandResult:
    return change(
        store, cmd, lambda w: w.fail_license_deregistration(cmd.reason, cmd.status, cause=cmd.cause)
    )
