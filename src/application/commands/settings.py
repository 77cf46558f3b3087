"""Idle detection and tags: settings an operator changes on a worker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from application.commands.common import CommandResult, WorkerCommand, change
from application.ports import Clock, WorkerStore


@dataclass(frozen=True)
class ConfigureIdleDetection(WorkerCommand):
    """Enable or disable idle auto-pause; ``timeout_minutes=None`` uses the global default."""

    enabled: bool = True
    timeout_minutes: int | None = None


def configure_idle_detection(cmd: ConfigureIdleDetection, store: WorkerStore) -> CommandResult:
    return change(
        store,
        cmd,
        lambda w: w.configure_idle_detection(cmd.enabled, cmd.timeout_minutes, cause=cmd.cause),
    )


@dataclass(frozen=True)
class ChangeTags(WorkerCommand):
    """Add or change some tags and remove others; the rest are kept."""

    add: Mapping[str, str] = field(default_factory=dict)
    remove: Sequence[str] = ()


@dataclass(frozen=True)
class AssignTeam(WorkerCommand):
    """Put the worker in ``team`` (``None``: in none); written to EC2 as its tag."""

    team: str | None = None


def assign_team(cmd: AssignTeam, store: WorkerStore) -> CommandResult:
    return change(store, cmd, lambda w: w.assign_team(cmd.team, cause=cmd.cause))


@dataclass(frozen=True)
class OverrideSchedule(WorkerCommand):
    """Keep the worker running until ``until`` whatever its schedule says (``None``:
    lift the override)."""

    until: datetime | None = None


def override_schedule(cmd: OverrideSchedule, store: WorkerStore, clock: Clock) -> CommandResult:
    now = clock.now()
    return change(store, cmd, lambda w: w.override_schedule(cmd.until, now=now, cause=cmd.cause))


@dataclass(frozen=True)
class RecordNotice(WorkerCommand):
    """The worker's CML users were warned it goes down at ``down_at``."""

    action: str = "stop"
    down_at: datetime | None = None
    notice_id: str = ""
    lead_minutes: int = 0
    """How long before ``down_at`` they were warned."""


def record_notice(cmd: RecordNotice, store: WorkerStore) -> CommandResult:
    down_at = cmd.down_at
    assert down_at is not None
    return change(
        store,
        cmd,
        lambda w: w.record_notice(
            cmd.action, down_at, cmd.notice_id, cmd.lead_minutes, cause=cmd.cause
        ),
    )


def change_tags(cmd: ChangeTags, store: WorkerStore) -> CommandResult:
    return change(
        store, cmd, lambda w: w.change_tags(dict(cmd.add), tuple(cmd.remove), cause=cmd.cause)
    )
