"""A small fleet for the read-model tests, recorded through the command handlers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from application.commands.common import CommandResult
from application.commands.lifecycle import ImportWorker, import_worker
from domain.status import WorkerStatus
from infrastructure.read_model import ReadModel
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap

WAIT = 10.0  # seconds; a bound, not a delay: waits end as soon as the condition holds


def fleet_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, demo_workers=0, scheduler_enabled=False)


@contextmanager
def running_system(data_dir: Path) -> Iterator[System]:
    """A system on SQLite files in ``data_dir`` with its read model following the log."""
    system = bootstrap(fleet_settings(data_dir))
    system.read_model.start()
    try:
        yield system
    finally:
        system.read_model.close()


def read_model(system: System) -> ReadModel:
    model: ReadModel = system.read_model
    return model


def record_worker(
    system: System,
    name: str,
    *,
    region: str = "eu-west-1",
    status: WorkerStatus = WorkerStatus.RUNNING,
    tags: Mapping[str, str] | None = None,
    instance_id: str | None = None,
) -> CommandResult:
    """Import an instance as alice would, and wait until the read model shows it."""
    command = ImportWorker(
        instance_id=instance_id or f"i-{name}",
        name=name,
        region=region,
        instance_type="m5.xlarge",
        status=status,
        actor="alice",
        correlation_id=f"c-{name}",
        tags=dict(tags or {}),
    )
    return visible(system, import_worker(command, system.store))


def visible(system: System, result: CommandResult) -> CommandResult:
    """Wait until the read model has reached the command's position."""
    assert read_model(system).wait_until_blocking(result.position, WAIT)
    return result
