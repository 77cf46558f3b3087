"""The idle job's pause: decided by the worker itself, on its state at that moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.commands.common import CommandResult, WorkerCommand, change
from application.ports import Clock, WorkerStore


@dataclass(frozen=True)
class PauseIdleWorker(WorkerCommand):
    """Pause the worker for ``idle_timeout`` if it is (still) idle long enough."""

    default_timeout: timedelta = timedelta(minutes=60)
    snooze: timedelta = timedelta(minutes=30)


def pause_idle_worker(cmd: PauseIdleWorker, store: WorkerStore, clock: Clock) -> CommandResult:
    """``changed`` tells whether it paused (recent activity or a resume may forbid it)."""
    return change(
        store,
        cmd,
        lambda w: w.pause_if_idle(
            now=clock.now(), default_timeout=cmd.default_timeout, snooze=cmd.snooze, cause=cmd.cause
        ),
    )
