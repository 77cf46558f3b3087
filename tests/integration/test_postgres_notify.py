"""What one process appends wakes every other process's followers at once, through
LISTEN/NOTIFY: with their slow safety poll pushed far out, they still see it in time."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest

from application.commands.lifecycle import ImportWorker, import_worker
from domain.status import WorkerStatus
from infrastructure.read_model import ProjectedEvent, follower
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.postgres_support import pg_settings

pytestmark = pytest.mark.postgres
SAFETY_POLL = 60.0  # seconds: far beyond every bound below
WAIT = 10.0


class Heard:
    def __init__(self) -> None:
        self.positions: list[int] = []
        self._seen = threading.Condition()

    def __call__(self, batch: Sequence[ProjectedEvent]) -> None:
        with self._seen:
            self.positions.extend(p.position for p in batch)
            self._seen.notify_all()

    def wait_for(self, position: int) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: position in self.positions, WAIT)


@pytest.fixture
def pair(
    pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[System, System]]:
    monkeypatch.setattr(follower, "IDLE_WAIT_SECONDS", SAFETY_POLL)
    with ExitStack() as stack:
        systems = []
        for n in range(2):
            system = bootstrap(pg_settings(pg_dsn, tmp_path / f"p{n}"))
            stack.callback(system.close)
            system.log_listener.start()
            system.read_model.start()
            stack.callback(system.log_listener.stop)
            stack.callback(system.read_model.stop)
            systems.append(system)
        yield systems[0], systems[1]


def record(system: System, name: str) -> int:
    command = ImportWorker(
        instance_id=f"i-{name}",
        name=name,
        region="eu-west-1",
        instance_type="m5.xlarge",
        status=WorkerStatus.RUNNING,
        actor="ops",
        correlation_id=name,
    )
    return import_worker(command, system.store).position


def test_an_append_in_one_process_wakes_the_other_at_once(pair: tuple[System, System]) -> None:
    writer, reader = pair
    heard = Heard()
    reader.read_model.add_listener(heard)

    positions = [record(writer, f"w{n}") for n in range(5)]

    for position in positions:
        assert heard.wait_for(position)
    assert heard.positions == positions
    assert reader.log_listener.received >= 1
