"""Many operators at once, through a real uvicorn on 127.0.0.1: every conflicting
command gets a success or a clean 409 problem (never a 500), no accepted change is
lost, and the read model ends equal to a replay of the event log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from application.mapper import map_worker_to_dto
from application.queries import GetWorker
from infrastructure.http.access.auth import Role
from infrastructure.read_model.model import idle_defaults
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.fakes.instances import import_body, launch_in
from tests.integration.test_http_api import settings_for
from tests.integration.test_sse_stream import serving

CLEAN = {200, 202, 409}


def new_system(tmp_path: Path) -> System:
    return bootstrap(settings_for(tmp_path, login_failures_per_minute=1000))


def imported(system: System, n: int) -> dict[str, Any]:
    """An import of a running instance that EC2 (the simulated one) has."""
    return import_body(launch_in(system), name=f"lab-{n}", instance_type="m5.xlarge")


def commands_for(worker_id: str, n: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Request ``n`` of a conflicting burst: a new tag, a pause/resume, an idle toggle."""
    path = f"/api/workers/{worker_id}"
    match n % 4:
        case 0 | 1:
            return [("PATCH", f"{path}/tags", {"add": {f"k{n}": f"v{n}"}})]
        case 2:
            return [("POST", f"{path}/{'pause' if n % 8 == 2 else 'resume'}", None)]
        case _:
            body = {"enabled": n % 8 == 3, "timeout_minutes": 30 + n % 60}
            return [("PUT", f"{path}/idle-detection", body)]


async def burst(http: httpx.AsyncClient, requests: list[tuple[str, str, Any]]) -> list[Any]:
    async def send(method: str, path: str, body: Any) -> tuple[str, Any, httpx.Response]:
        return path, body, await http.request(method, path, json=body)

    return await asyncio.gather(*(send(*r) for r in requests))


def check_answers(answers: list[Any]) -> dict[str, set[str]]:
    """Every answer clean; returns each worker's tags whose change was accepted."""
    accepted_tags: dict[str, set[str]] = {}
    for path, body, response in answers:
        assert response.status_code in CLEAN, (path, response.status_code, response.text)
        if response.status_code == 409:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == 409
        elif path.endswith("/tags"):
            worker_id = path.split("/")[3]
            accepted_tags.setdefault(worker_id, set()).update(body["add"])
    return accepted_tags


async def check_replay(system: System, worker_ids: list[str]) -> None:
    """The read model, caught up, equals a fresh load of each aggregate from the log."""
    assert await system.read_model.wait_until(system.store.max_position(), timeout=10)
    idle = idle_defaults(system.settings)
    for worker_id in worker_ids:
        replayed = map_worker_to_dto(system.store.get(UUID(worker_id)), idle)
        assert system.read_model.get_worker(GetWorker(UUID(worker_id))) == replayed


async def run_story(tmp_path: Path, workers: int, per_worker: int) -> None:
    system = new_system(tmp_path)
    async with serving(system) as server:
        token = system.auth.create_token(Role.ADMIN, "ada")
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(
            base_url=server.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            limits=limits,
        ) as http:
            created = [
                await http.post("/api/workers/import", json=imported(system, n))
                for n in range(workers)
            ]
            ids = [r.json()["worker_id"] for r in created]
            requests = [c for n in range(per_worker) for w in ids for c in commands_for(w, n)]
            answers = await burst(http, requests)
            accepted_tags = check_answers(answers)
            await check_replay(system, ids)
            for worker_id, tags in accepted_tags.items():
                shown = (await http.get(f"/api/workers/{worker_id}")).json()["tags"]
                assert tags <= set(shown), f"lost tag updates on {worker_id}"
    assert sum(len(t) for t in accepted_tags.values()) > 0


async def test_a_hundred_conflicting_commands_on_one_worker(tmp_path: Path) -> None:
    await run_story(tmp_path, workers=1, per_worker=100)


async def test_conflicting_commands_on_a_hundred_workers_at_once(tmp_path: Path) -> None:
    await run_story(tmp_path, workers=100, per_worker=3)
