"""CML readings are checked where they enter (the port's parsers, which every adapter
uses): an impossible value is refused and named, never bent into range, and what a
failure records is its class, not CML's free text, so it records once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from application.cml import parse_lab, parse_system_information, parse_system_stats
from application.jobs.probe import failure_detail
from application.ports_errors import CmlError, CmlUnreachable
from infrastructure.shared.clock import FakeClock
from tests.jobs_fleet import JobsFleet, started_fleet

CYCLE = timedelta(minutes=1)


def stats(memory: tuple[float, float] = (4, 16), cpu: float = 12.5, running: int = 3) -> Any:
    compute = {"stats": {"dominfo": {"running_nodes": running, "total_nodes": 10}}}
    return {
        "all": {"cpu": {"percent": cpu}, "memory": {"used": memory[0], "total": memory[1]}},
        "controller": {"disk": {"used": 50, "total": 100}},
        "computes": {"90f84e38-a71c-4d57-8d90-00fa8a197385": compute},
    }


def test_sound_readings_are_read_as_they_are() -> None:
    read = parse_system_stats(stats())
    assert (read.cpu_percent, read.memory_percent, read.disk_percent) == (12.5, 25.0, 50.0)
    assert (read.running_nodes, read.total_nodes, read.invalid) == (3, 10, ())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (stats(memory=(151, 16)), "system_stats.memory_percent"),  # 944 %
        (stats(memory=(-1, 16)), "system_stats.memory_percent"),
        (stats(cpu=140.0), "system_stats.cpu_percent"),
        (stats(cpu=-3.0), "system_stats.cpu_percent"),
        (stats(running=-2), "system_stats.running_nodes"),
        (stats(running=11), "system_stats.running_nodes"),  # more running than there are
    ],
)
def test_an_impossible_reading_is_refused_and_named_never_clamped(body: Any, field: str) -> None:
    read = parse_system_stats(body)
    assert read.invalid == (field,)
    name = field.split(".")[1]
    assert getattr(read, name) is None  # not 100, not 0: unknown


@pytest.mark.parametrize(
    ("lab", "running", "field"),
    [
        ({"node_count": -4}, None, "labs.node_count"),
        ({"node_count": 2}, 5, "labs.running_nodes"),
        ({"node_count": 2, "link_count": -1}, None, "labs.link_count"),
    ],
)
def test_impossible_lab_counts_are_refused_and_named(
    lab: dict[str, Any], running: int | None, field: str
) -> None:
    read = parse_lab({"id": "lab-1", **lab}, running)
    assert read.invalid == (field,)


def test_a_readiness_that_is_not_a_boolean_does_not_read() -> None:
    with pytest.raises(TypeError):
        parse_system_information({"version": "2.9.0", "ready": "false"})  # would be True


@pytest.mark.parametrize(
    ("first", "second", "detail"),
    [
        (
            CmlError("h", "HTTP 500: worker db timed out after 3012 ms", status=500),
            CmlError("h", "HTTP 500: worker db timed out after 2877 ms", status=500),
            "CML API: HTTP 500",
        ),
        (
            CmlUnreachable("h", "cannot connect: [Errno 111] Connection refused"),
            CmlUnreachable("h", "cannot connect: [Errno 113] No route to host"),
            "CML API: unreachable (cannot connect)",
        ),
        (TimeoutError(), TimeoutError(), "CML API: no answer in time"),
        (RuntimeError("a"), RuntimeError("b"), "CML API: unexpected error (RuntimeError)"),
    ],
)
def test_a_failure_records_its_class_not_the_servers_words(
    first: BaseException, second: BaseException, detail: str
) -> None:
    assert failure_detail(first) == failure_detail(second) == detail


@pytest.fixture
async def fleet(clock: FakeClock) -> AsyncIterator[JobsFleet]:
    async with started_fleet(clock, job_backoff_max_seconds=60.0) as fleet:
        yield fleet


async def test_a_worker_reporting_impossible_values_shows_them_unknown_and_named(
    fleet: JobsFleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = fleet.add("odd")

    async def odd_stats(host: str) -> Any:
        return parse_system_stats(stats(memory=(151, 16), running=-2))

    monkeypatch.setattr(fleet.job.sync.observer.cml, "system_stats", odd_stats)
    await fleet.cycle()
    events_after_first = fleet.events()
    for _ in range(3):
        await fleet.cycle(after=CYCLE)

    dto = await fleet.worker(worker)
    assert dto.running_nodes_count is not None and dto.running_nodes_count >= 0  # not -2
    assert dto.service_status == "ready"
    assert dto.service_detail == (
        "CML reported impossible values: system_stats.memory_percent, system_stats.running_nodes"
    )
    assert fleet.events() == events_after_first  # the same finding records nothing new


async def test_a_failure_whose_description_varies_records_once(
    fleet: JobsFleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = fleet.add("flaky")
    await fleet.cycle()
    calls = iter(range(100))

    async def failing(h: str) -> Any:
        raise CmlError(h, f"HTTP 500: request {next(calls)} failed", status=500)

    monkeypatch.setattr(fleet.job.sync.observer.cml, "system_information", failing)
    await fleet.cycle(after=CYCLE)
    recorded = fleet.events()
    for _ in range(4):
        await fleet.cycle(after=CYCLE * 2)  # past the back-off: asked, and failing again

    dto = await fleet.worker(worker)
    assert (dto.service_status, dto.service_detail) == ("unreachable", "CML API: HTTP 500")
    assert next(calls) >= 4  # it was asked each time
    assert fleet.events() == recorded
