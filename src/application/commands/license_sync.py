"""Passive license sync: what the metrics job sees on CML about the license."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands.common import CommandResult, WorkerCommand, change
from application.ports import WorkerStore
from domain.status import LicenseStatus
from domain.worker import CMLWorker


@dataclass(frozen=True)
class ObserveLicenseStatus(WorkerCommand):
    """Record the license status CML reports (expiry, deregistration elsewhere, ...)."""

    status: LicenseStatus = LicenseStatus.UNREGISTERED
    detail: str | None = None


def observe_license_status(cmd: ObserveLicenseStatus, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: observe_license(w, cmd))


def observe_license(worker: CMLWorker, cmd: ObserveLicenseStatus) -> None:
    worker.observe_license(cmd.status, detail=cmd.detail, cause=cmd.cause)
