"""What an operator's Prometheus scrapes from ``GET /metrics`` (viewer role), and the
JSON log line each command leaves behind."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from application.commands.common import MAX_ATTEMPTS, change_worker
from application.commands.observations import ObserveInstance, observe_instance
from application.commands.settings import ChangeTags, change_tags
from application.errors import ConcurrencyConflict
from domain.cause import Cause
from domain.status import ServiceStatus
from domain.worker import CMLWorker
from infrastructure.http.app import create_app
from infrastructure.store.event_store import FleetEventStore
from infrastructure.wiring.bootstrap import System, bootstrap, event_store_env
from infrastructure.wiring.logs import JsonFormatter
from tests.fakes.instances import import_body, launch_in
from tests.integration.test_http_api import Api, settings_for
from tests.integration.test_sse_stream import serving


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    system = bootstrap(settings_for(tmp_path, read_wait_timeout_seconds=2.0))
    with TestClient(create_app(system)) as client:
        yield Api(system, client)


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by (name, sorted labels)."""
    response = api.client.get("/metrics", headers=api.viewer)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples_in(response.text)


def samples_in(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


def command(name: str, outcome: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("cml_fleet_commands_total", (("command", name), ("outcome", outcome)))


def test_metrics_need_a_viewer_token(api: Api) -> None:
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers=api.viewer).status_code == 200


def test_commands_are_counted_by_type_and_outcome(api: Api) -> None:
    worker = api.import_("running")["worker_id"]
    path = f"/api/workers/{worker}"
    api.client.post(f"{path}/pause", headers=api.operator)  # accepted
    api.client.post(f"{path}/pause", headers=api.operator)  # refused: already pausing
    api.client.patch(f"{path}/tags", json={"add": {"team": "a"}}, headers=api.admin)

    samples = scrape(api)

    assert samples[command("import", "accepted")] == 1
    assert samples[command("pause", "accepted")] == 1
    assert samples[command("pause", "refused")] == 1
    assert samples[command("tags", "accepted")] == 1
    assert samples[("cml_fleet_concurrency_conflicts_total", ())] == 0


RETRIES = ("cml_fleet_concurrency_retries_total", ())
CONFLICTS = ("cml_fleet_concurrency_conflicts_total", ())


def test_a_conflict_that_a_command_retried_is_counted_though_the_command_succeeded(
    api: Api,
) -> None:
    worker_id = UUID(api.import_("running")["worker_id"])
    store = api.system.store
    before = scrape(api)[RETRIES]

    raced: list[bool] = []

    def tag_while_someone_else_does(worker: CMLWorker) -> None:
        if not raced:
            raced.append(True)
            someone = store.get(worker_id)  # the same version, changed and saved first
            someone.change_tags({"theirs": "1"}, (), cause=Cause("bob", "c-bob"))
            store.save(someone)
        worker.change_tags({"mine": "1"}, (), cause=Cause("ann", "c-ann"))

    result = change_worker(store, worker_id, tag_while_someone_else_does, "c-ann")
    samples = scrape(api)
    shown = api.worker({"worker_id": str(worker_id), "position": result.position})

    assert (before, samples[RETRIES], samples[CONFLICTS]) == (0, 1, 0)
    assert shown["tags"] == {"theirs": "1", "mine": "1"}  # retried, nothing lost


def contended(system: System) -> dict[str, Any]:
    """An import of an instance EC2 has, for the workers the tests contend on."""
    return import_body(launch_in(system), name="contended")


async def tag_bursts(
    http: httpx.AsyncClient, server: Any, path: str, bursts: int, stop_when_retried: bool
) -> tuple[list[httpx.Response], dict[Any, float]]:
    """``bursts`` of 20 concurrent tag changes on one worker (the same 20 keys, a new
    value each burst: within EC2's 50 tags); the metrics after them."""
    admin = {"Authorization": f"Bearer {server.admin}"}
    answers: list[httpx.Response] = []
    samples: dict[Any, float] = {}
    for burst in range(bursts):
        answers += await asyncio.gather(
            *(
                http.patch(path, json={"add": {f"n{n}": f"b{burst}"}}, headers=admin)
                for n in range(20)
            )
        )
        scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {server.viewer}"})
        samples = samples_in(scraped.text)
        if stop_when_retried and samples[RETRIES] > 0:
            break
    return answers, samples


def changes_acknowledged(answers: list[httpx.Response]) -> set[str]:
    accepted = [a for a in answers if a.status_code == 200]
    return {k for a in accepted for k in json.loads(a.request.content)["add"]}


async def test_concurrent_commands_on_one_worker_through_the_api_never_conflict(
    tmp_path: Path,
) -> None:
    system = bootstrap(settings_for(tmp_path, login_failures_per_minute=1000))
    async with (
        serving(system) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
    ):
        admin = {"Authorization": f"Bearer {server.admin}"}
        worker = (
            await http.post("/api/workers/import", json=contended(system), headers=admin)
        ).json()
        path = f"/api/workers/{worker['worker_id']}/tags"
        answers, samples = await tag_bursts(http, server, path, 3, stop_when_retried=False)
        tags = (await http.get(f"/api/workers/{worker['worker_id']}", headers=admin)).json()

    # The operator commands' group commit takes one command per worker per transaction.
    assert {a.status_code for a in answers} == {200}
    assert (samples[RETRIES], samples[CONFLICTS]) == (0, 0)
    assert changes_acknowledged(answers) == set(tags["tags"])  # all 20 keys


async def test_commands_racing_another_writer_on_one_worker_count_their_retries(
    tmp_path: Path,
) -> None:
    system = bootstrap(settings_for(tmp_path, login_failures_per_minute=1000))
    # Another process writing the same worker: its own store on the same file.
    other = FleetEventStore(event_store_env(system.settings))
    racing = threading.Event()

    def write_on(worker_id: UUID) -> None:
        n = 0
        while not racing.is_set() and n < 5_000:  # bounded
            with contextlib.suppress(ConcurrencyConflict):  # it loses races too
                tagged = ChangeTags(worker_id, "bob", f"c-bob-{n}", add={"other": str(n)})
                change_tags(tagged, other)
            n += 1

    async with (
        serving(system) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
    ):
        admin = {"Authorization": f"Bearer {server.admin}"}
        worker = (
            await http.post("/api/workers/import", json=contended(system), headers=admin)
        ).json()
        writer = threading.Thread(target=write_on, args=(UUID(worker["worker_id"]),))
        writer.start()
        try:
            path = f"/api/workers/{worker['worker_id']}/tags"
            answers, samples = await tag_bursts(http, server, path, 10, stop_when_retried=True)
        finally:
            racing.set()
            writer.join(30)
            other.close()
        tags = (await http.get(f"/api/workers/{worker['worker_id']}", headers=admin)).json()

    refused = [a for a in answers if a.status_code == 409]
    assert {a.status_code for a in answers} <= {200, 409}
    assert samples[RETRIES] > 0
    assert samples[CONFLICTS] == len(refused)
    assert samples[RETRIES] >= (MAX_ATTEMPTS - 1) * len(refused)  # a 409 retried every time
    assert changes_acknowledged(answers) <= set(tags["tags"])  # every acknowledged change


def test_the_read_model_lag_and_streams_are_reported(api: Api) -> None:
    accepted = api.import_("running")
    api.worker(accepted)  # waits until the read model has it

    samples = scrape(api)

    assert samples[("cml_fleet_read_model_lag", ())] == 0
    assert samples[("cml_fleet_sse_subscribers", ())] == 0
    assert samples[("cml_fleet_sse_dropped_subscribers_total", ())] == 0


def test_a_stream_that_falls_behind_is_counted_as_dropped(api: Api) -> None:
    hub = api.system.hub
    slow = hub.subscribe(capacity=1)  # a subscriber that never reads
    before = scrape(api)[("cml_fleet_sse_subscribers", ())]
    for n in range(3):
        api.worker(api.import_("running", name=f"lab-{n}"))

    samples = scrape(api)

    assert before == 1
    assert samples[("cml_fleet_sse_subscribers", ())] == 0
    assert samples[("cml_fleet_sse_dropped_subscribers_total", ())] == 1
    hub.unsubscribe(slow)


def test_a_worker_whose_cml_is_unreachable_shows_as_failing(api: Api) -> None:
    accepted = api.import_("running", name="lab-far")
    worker_id = accepted["worker_id"]
    observed = observe_instance(
        ObserveInstance(
            UUID(worker_id),
            "metrics-job",
            "cid-1",
            service_status=ServiceStatus.UNREACHABLE,
            service_detail="connection refused",
        ),
        api.system.store,
    )
    api.worker({"worker_id": worker_id, "position": observed.position})

    samples = scrape(api)

    labels = (("name", "lab-far"), ("reason", "service_unreachable"), ("worker_id", worker_id))
    assert samples[("cml_fleet_worker_failing", labels)] == 1


def test_a_job_cycle_is_counted_with_its_duration(api: Api) -> None:
    api.import_("running")
    ran = api.client.post("/api/admin/jobs/metrics/run?wait=true", headers=api.admin)

    samples = scrape(api)

    assert ran.status_code == 200
    assert samples[("cml_fleet_job_runs_total", (("job", "metrics"),))] == 1
    assert samples[("cml_fleet_job_failures_total", (("job", "metrics"),))] == 0
    cycle = samples[("cml_fleet_job_last_cycle_seconds", (("job", "metrics"),))]
    assert cycle == ran.json()["last_duration_seconds"] and cycle > 0
    assert samples[command("run_job", "accepted")] == 1


def test_each_app_counts_only_its_own_commands(api: Api, tmp_path: Path) -> None:
    api.import_("running")
    other_system: System = bootstrap(settings_for(tmp_path / "other"))
    with TestClient(create_app(other_system)) as client:
        other = Api(other_system, client)
        other_samples = scrape(other)

    assert scrape(api)[command("import", "accepted")] == 1
    assert command("import", "accepted") not in other_samples


def test_a_commands_log_line_carries_its_correlation_id(api: Api) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cml_fleet.http")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        response = api.client.post(
            "/api/workers/import",
            json=imported_body(api.system),
            headers=api.admin | {"X-Correlation-ID": "ticket-9001"},
        )
    finally:
        logger.removeHandler(handler)

    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    mine = [e for e in entries if e.get("path") == "/api/workers/import"]
    assert response.status_code == 200
    assert [(e["correlation_id"], e["status"], e["method"]) for e in mine] == [
        ("ticket-9001", 200, "POST")
    ]


def imported_body(system: System) -> dict[str, Any]:
    return import_body(launch_in(system), name="traced")
