"""Create, import, start, stop, pause, resume and terminate workers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from uuid import UUID

from application.cloud import InstanceInfo
from application.commands.common import Caused, CommandResult, WorkerCommand, add_worker, change
from application.errors import ConcurrencyConflict, InstanceAlreadyManaged
from application.ports import Clock, WorkerStore
from domain.cause import Cause
from domain.policies import worker_status_for_ec2_state
from domain.spec import WorkerSpec
from domain.status import PauseReason, WorkerStatus
from domain.tags import TEAM_TAG
from domain.worker import CMLWorker


class NewWorker(Caused):
    """A command that brings a worker in; ``spec`` is what it is asked to be, from the
    command's fields of the same names."""

    @property
    def spec(self) -> WorkerSpec:
        return WorkerSpec(**{f.name: getattr(self, f.name) for f in fields(WorkerSpec)})


@dataclass(frozen=True)
class CreateWorker(NewWorker):
    """Request a new worker; the instance is provisioned by the operations engine."""

    name: str
    region: str
    instance_type: str
    actor: str
    correlation_id: str
    ami_id: str | None = None
    launch_template: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    idle_detection_enabled: bool = True
    idle_timeout_minutes: int | None = None
    worker_id: UUID | None = None


def create_worker(cmd: CreateWorker, store: WorkerStore) -> CommandResult:
    worker = CMLWorker.create(
        cmd.spec, launch_template=cmd.launch_template, id=cmd.worker_id, cause=cmd.cause
    )
    return add_worker(store, worker, cmd.correlation_id)


@dataclass(frozen=True)
class ImportWorker(NewWorker):
    """Take an existing EC2 instance under management."""

    instance_id: str
    name: str
    region: str
    instance_type: str
    status: WorkerStatus
    actor: str
    correlation_id: str
    ami_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    """The instance's tags as EC2 has them (protected ones are left out)."""
    idle_detection_enabled: bool = True
    idle_timeout_minutes: int | None = None
    worker_id: UUID | None = None
    add_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags to add or change besides EC2's: written to EC2 like any tag change."""


def import_command(info: InstanceInfo, *, cause: Cause, **overrides: Any) -> ImportWorker:
    """Importing an instance as EC2 describes it: its Name tag (else its id), region,
    type, state, AMI and tags; ``overrides`` replace any of those or add the rest."""
    fields: dict[str, Any] = {
        "instance_id": info.instance_id,
        "name": info.name or info.instance_id,
        "region": info.region,
        "instance_type": info.instance_type,
        "status": worker_status_for_ec2_state(info.state),
        "actor": cause.actor,
        "correlation_id": cause.correlation_id,
        "ami_id": info.ami_id,
        "tags": dict(info.tags),
    }
    return ImportWorker(**(fields | overrides))


def import_worker(cmd: ImportWorker, store: WorkerStore) -> CommandResult:
    worker = CMLWorker.import_instance(
        cmd.spec,
        instance_id=cmd.instance_id,
        observed=cmd.status,
        id=cmd.worker_id,
        cause=cmd.cause,
    )
    add_tags = {k: v for k, v in cmd.add_tags.items() if k != TEAM_TAG}
    if add_tags:
        worker.change_tags(add_tags, (), cause=cmd.cause)
    if TEAM_TAG in cmd.add_tags:
        worker.assign_team(cmd.add_tags[TEAM_TAG], cause=cmd.cause)
    try:
        return add_worker(store, worker, cmd.correlation_id)
    except ConcurrencyConflict:  # the same derived id: imported meanwhile
        raise InstanceAlreadyManaged(cmd.instance_id, str(worker.id)) from None


class StartWorker(WorkerCommand):
    """Start a stopped worker."""


class StopWorker(WorkerCommand):
    """Stop a worker (not counted as a pause)."""


class TerminateWorker(WorkerCommand):
    """Terminate the worker's instance. Final."""


def start_worker(cmd: StartWorker, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.request_start(cause=cmd.cause))


def stop_worker(cmd: StopWorker, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.request_stop(cause=cmd.cause))


def terminate_worker(cmd: TerminateWorker, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.request_terminate(cause=cmd.cause))


@dataclass(frozen=True)
class PauseWorker(WorkerCommand):
    """Pause a running worker to save money."""

    reason: PauseReason = PauseReason.MANUAL
    idle_minutes: float | None = None


def pause_worker(cmd: PauseWorker, store: WorkerStore, clock: Clock) -> CommandResult:
    return change(
        store,
        cmd,
        lambda w: w.pause(
            cmd.reason, at=clock.now(), idle_minutes=cmd.idle_minutes, cause=cmd.cause
        ),
    )


@dataclass(frozen=True)
class ResumeWorker(WorkerCommand):
    """Resume a paused worker; opens the snooze period."""

    reason: PauseReason = PauseReason.MANUAL


def resume_worker(cmd: ResumeWorker, store: WorkerStore, clock: Clock) -> CommandResult:
    return change(store, cmd, lambda w: w.resume(cmd.reason, at=clock.now(), cause=cmd.cause))


@dataclass(frozen=True)
class ReleaseWorker(WorkerCommand):
    """Take a worker out of management (an admin's way out for a stuck worker)."""

    reason: str


def release_worker(cmd: ReleaseWorker, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.release(cmd.reason, cause=cmd.cause))
