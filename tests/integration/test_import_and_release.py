"""What we record is what AWS holds: import looks the instance up in EC2 (an unknown or
gone one is refused, a managed one is refused naming its worker, what EC2 says wins
and a contradiction is refused), regions are EC2's, a worker that ends says why, and
an admin can always take a stuck worker out of management."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from infrastructure.http.app import create_app
from infrastructure.wiring.bootstrap import bootstrap
from tests.fakes.instances import import_body, launch_in
from tests.integration.test_http_api import Api, settings_for
from tests.integration.test_sse_stream import new_system, serving


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    system = bootstrap(settings_for(tmp_path, read_wait_timeout_seconds=2.0))
    with TestClient(create_app(system)) as client:
        yield Api(system, client)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def fields_of(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


def test_an_instance_ec2_does_not_have_is_refused_naming_it(api: Api) -> None:
    before = api.system.store.max_position()
    answer = api.client.post(
        "/api/workers/import", json=import_body("i-0000000000000dead"), headers=api.admin
    )
    body = problem(answer, 404)  # the request is well formed: what it names is not there
    assert body["type"].endswith(":instance-not-found")
    assert "i-0000000000000dead" in body["detail"] and "eu-west-1" in body["detail"]
    assert api.system.store.max_position() == before  # nothing recorded


def test_an_instance_in_another_region_is_not_found_in_this_one(api: Api) -> None:
    elsewhere = launch_in(api.system, region="us-east-1")
    answer = api.client.post("/api/workers/import", json=import_body(elsewhere), headers=api.admin)
    assert problem(answer, 404)["type"].endswith(":instance-not-found")


def test_a_terminated_instance_cannot_be_imported(api: Api) -> None:
    gone = launch_in(api.system)
    api.system.cloud.console_terminate(gone)
    answer = api.client.post("/api/workers/import", json=import_body(gone), headers=api.admin)
    assert "shutting-down" in problem(answer, 404)["detail"] or "terminated" in answer.text


def test_the_same_instance_cannot_be_managed_twice(api: Api) -> None:
    instance = launch_in(api.system)
    first = api.client.post("/api/workers/import", json=import_body(instance), headers=api.admin)
    assert first.status_code == 200, first.text

    again = api.client.post(
        "/api/workers/import", json=import_body(instance, name="twin"), headers=api.admin
    )

    body = problem(again, 409)
    assert body["worker_id"] == first.json()["worker_id"]
    assert instance in body["detail"] and first.json()["worker_id"] in body["detail"]


async def test_two_imports_racing_for_one_instance_make_one_worker(tmp_path) -> None:
    async with serving(new_system(tmp_path)) as server:
        instance = launch_in(server.system)
        admin = {"Authorization": f"Bearer {server.admin}"}
        async with httpx.AsyncClient(base_url=server.url, headers=admin) as http:
            answers = await asyncio.gather(
                *(http.post("/api/workers/import", json=import_body(instance)) for _ in range(8))
            )
    assert sorted(a.status_code for a in answers) == [200] + [409] * 7
    ids = {a.json()["worker_id"] for a in answers}
    assert len(ids) == 1  # the 409s name the worker that won


def test_what_ec2_says_is_recorded_and_the_request_may_leave_it_out(api: Api) -> None:
    instance = launch_in(
        api.system, instance_type="m5.2xlarge", name="ccna-lab", tags={"team": "net"}
    )
    accepted = api.client.post(
        "/api/workers/import",
        json=import_body(instance, tags={"course": "ccna"}, status="stopped"),
        headers=api.admin,
    )
    assert accepted.status_code == 200, accepted.text

    worker = api.worker(accepted.json())
    assert (worker["name"], worker["instance_type"], worker["status"]) == (
        "ccna-lab",  # its Name tag
        "m5.2xlarge",  # EC2's, so its cost is right
        "running",  # EC2's state; the request's "stopped" is ignored
    )
    assert worker["ami_id"] == "ami-0123456789abcdef0"
    assert worker["tags"] == {"course": "ccna", "team": "net"}  # Name is not a managed tag


@pytest.mark.parametrize(
    ("field", "wrong"), [("instance_type", "m5.24xlarge"), ("ami_id", "ami-0fffffffffffffff0")]
)
def test_a_request_that_contradicts_ec2_is_refused_naming_the_field(
    api: Api, field: str, wrong: str
) -> None:
    instance = launch_in(api.system, instance_type="m5.xlarge")
    answer = api.client.post(
        "/api/workers/import", json=import_body(instance, **{field: wrong}), headers=api.admin
    )
    body = problem(answer, 409)  # well formed, but EC2's instance says otherwise
    assert body["field"] == field
    assert wrong in body["detail"]


NOWHERE = {
    "/api/workers": {
        "name": "w",
        "region": "us-east-9",  # passes the pattern; EC2 has no such region
        "instance_type": "m5.xlarge",
        "ami_id": "ami-0123456789abcdef0",
    },
    "/api/workers/import": {"instance_id": "i-0123456789abcdef0", "region": "us-east-9"},
}


@pytest.mark.parametrize("path", list(NOWHERE))
def test_a_region_ec2_does_not_have_is_refused(api: Api, path: str) -> None:
    answer = api.client.post(path, json=NOWHERE[path], headers=api.admin)
    assert fields_of(problem(answer, 422)) == ["region"]
    assert "us-east-9" in answer.json()["detail"]


def test_a_stuck_worker_is_released_by_an_admin_with_a_reason(api: Api) -> None:
    worker = api.import_("running")
    path = f"/api/workers/{worker['worker_id']}"
    assert api.client.post(f"{path}/terminate", headers=api.admin).status_code == 202
    assert api.client.post(f"{path}/terminate", headers=api.admin).status_code == 409

    refused = api.client.post(f"{path}/release", json={"reason": "x"}, headers=api.operator)
    no_reason = api.client.post(f"{path}/release", json={"reason": "  "}, headers=api.admin)
    released = api.client.post(
        f"{path}/release", json={"reason": "region closed"}, headers=api.admin
    )

    assert refused.status_code == 403
    assert fields_of(problem(no_reason, 422)) == ["reason"]
    assert released.status_code == 200, released.text
    view = api.worker(released.json())
    assert view["status"] == "released"
    history = api.client.get(f"{path}/history", headers=api.viewer).json()["items"]
    assert history[0]["type"] == "worker.released"
    assert history[0]["payload"]["reason"] == "region closed"
    assert history[0]["payload"]["previous_status"] == "terminating"
    assert history[0]["actor"] == "alice"  # the admin of the Api fixture
    again = api.client.post(f"{path}/release", json={"reason": "again"}, headers=api.admin)
    assert problem(again, 409)["current_status"] == "released"


def test_a_released_instance_can_be_imported_again_as_a_new_worker(api: Api) -> None:
    instance = launch_in(api.system)
    first = api.client.post("/api/workers/import", json=import_body(instance), headers=api.admin)
    released = api.client.post(
        f"/api/workers/{first.json()['worker_id']}/release",
        json={"reason": "handed to another team"},
        headers=api.admin,
    )
    api.worker(released.json())  # the read model has the release

    again = api.client.post("/api/workers/import", json=import_body(instance), headers=api.admin)

    assert again.status_code == 200, again.text
    assert again.json()["worker_id"] != first.json()["worker_id"]
    position = again.json()["position"]
    listed = api.client.get(f"/api/workers?min_position={position}", headers=api.viewer)
    listed = listed.json()["items"]
    statuses = sorted(w["status"] for w in listed if w["instance_id"] == instance)
    assert statuses == ["released", "running"]
