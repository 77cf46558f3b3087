"""The REST API as a user meets it: through Starlette's TestClient with the lifespan,
on SQLite files in a temporary data dir."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from application.commands.observations import ObserveInstance, observe_instance
from application.contracts.responses import WorkerPageResponse
from application.contracts.worker_view import WorkerView
from domain.status import WorkerStatus
from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap
from infrastructure.wiring.logs import JsonFormatter
from tests.fakes.instances import import_body, launch_in

NEW_WORKER = {
    "name": "lab-east-1",
    "region": "us-east-1",
    "instance_type": "c5.2xlarge",
    "ami_id": "ami-0123456789abcdef0",
    "tags": {"team": "netops"},
}


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    # The API alone: no operations engine acting on the (unreal) instances behind it.
    overrides = {"operations_enabled": False} | overrides
    return Settings(data_dir=data_dir, demo_workers=0, scheduler_enabled=False, **overrides)


class Api:
    """A TestClient plus tokens for each role."""

    def __init__(self, system: System, client: TestClient) -> None:
        self.system = system
        self.client = client
        self.admin = self.bearer(Role.ADMIN, "alice")
        self.operator = self.bearer(Role.OPERATOR, "oscar")
        self.viewer = self.bearer(Role.VIEWER, "vera")

    def bearer(self, role: Role, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.system.auth.create_token(role, name)}"}

    def create(self, **changes: Any) -> dict[str, Any]:
        response = self.client.post("/api/workers", json=NEW_WORKER | changes, headers=self.admin)
        assert response.status_code == 202, response.text
        return dict(response.json())

    def import_(self, status: str, name: str = "imported") -> dict[str, Any]:
        """Import an instance that EC2 has, ``running`` or ``stopped``."""
        body = import_body(launch_in(self.system, state=status), name=name)
        response = self.client.post("/api/workers/import", json=body, headers=self.admin)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def worker(self, accepted: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/workers/{accepted['worker_id']}?min_position={accepted['position']}"
        response = self.client.get(path, headers=self.viewer)
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    system = bootstrap(settings_for(tmp_path, read_wait_timeout_seconds=2.0))
    with TestClient(create_app(system)) as client:
        yield Api(system, client)


def test_a_created_worker_is_in_the_list_at_once_when_asked_to_wait_for_its_position(
    api: Api,
) -> None:
    accepted = api.create()

    page = api.client.get(
        f"/api/workers?min_position={accepted['position']}", headers=api.viewer
    ).json()

    assert [w["id"] for w in page["items"]] == [accepted["worker_id"]]
    worker = page["items"][0]
    assert (worker["name"], worker["status"], worker["created_by"]) == (
        "lab-east-1",
        "pending",
        "alice",
    )
    WorkerPageResponse.model_validate(page)  # the answer honours its published contract


def test_pausing_a_running_worker_then_resuming_it_once_stopped(api: Api) -> None:
    running = api.import_("running")

    paused = api.client.post(f"/api/workers/{running['worker_id']}/pause", headers=api.operator)

    assert paused.status_code == 202
    worker = api.worker(paused.json())
    assert (worker["status"], worker["manual_pause_count"]) == ("stopping", 1)
    assert worker["pause_history"][-1]["actor"] == "oscar"

    stopped = api.import_("stopped", name="stopped-one")
    resumed = api.client.post(f"/api/workers/{stopped['worker_id']}/resume", headers=api.operator)
    assert resumed.status_code == 202
    assert api.worker(resumed.json())["status"] == "starting"


def test_resuming_a_terminated_worker_is_refused_naming_its_status(api: Api) -> None:
    worker = api.import_("running")
    terminating = api.client.post(
        f"/api/workers/{worker['worker_id']}/terminate", headers=api.admin
    )
    assert terminating.status_code == 202
    assert api.worker(terminating.json())["status"] == "terminating"
    # EC2 then reports the instance gone (what the metrics job records).
    observe_instance(
        ObserveInstance(UUID(worker["worker_id"]), "ec2", "test", status=WorkerStatus.TERMINATED),
        api.system.store,
    )

    refused = api.client.post(f"/api/workers/{worker['worker_id']}/resume", headers=api.operator)

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["current_status"] == "terminated"
    assert "terminated" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in NEW_WORKER.items() if k != "region"}, "region"),
        (NEW_WORKER | {"idle_timeout_minutes": "soon"}, "idle_timeout_minutes"),
        (NEW_WORKER | {"colour": "blue"}, "colour"),
        (NEW_WORKER | {"tags": {"team": 7}}, "tags.team"),
        (NEW_WORKER | {"ami_id": None}, "ami_id"),  # the domain wants an AMI or a template
    ],
)
def test_a_bad_body_is_refused_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.client.post("/api/workers", json=body, headers=api.admin)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert field in response.json()["detail"]


def test_malformed_json_is_a_422_about_the_body(api: Api) -> None:
    response = api.client.post(
        "/api/workers",
        content=b'{"name": "x",',
        headers=api.admin | {"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
    assert "JSON" in response.json()["detail"]


def test_no_token_is_401_and_a_wrong_token_too(api: Api) -> None:
    anonymous = api.client.get("/api/workers")
    forged = api.client.get("/api/workers", headers={"Authorization": "Bearer not-a-token"})
    basic = api.client.get("/api/workers", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})

    for response in (anonymous, forged, basic):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"] == "application/problem+json"


def test_roles_limit_what_each_token_may_do(api: Api) -> None:
    running = api.import_("running")
    wid = running["worker_id"]

    assert api.client.post("/api/workers", json=NEW_WORKER, headers=api.viewer).status_code == 403
    assert api.client.post(f"/api/workers/{wid}/pause", headers=api.viewer).status_code == 403
    assert api.client.post(f"/api/workers/{wid}/terminate", headers=api.operator).status_code == 403
    assert api.client.get("/api/workers", headers=api.viewer).status_code == 200
    assert api.client.post(f"/api/workers/{wid}/pause", headers=api.operator).status_code == 202
    forbidden = api.client.patch(f"/api/workers/{wid}/tags", json={}, headers=api.operator)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"


def test_settings_commands_answer_200_and_change_the_worker(api: Api) -> None:
    worker = api.create(tags={"team": "netops", "cost": "lab"})
    wid = worker["worker_id"]

    idle = api.client.put(
        f"/api/workers/{wid}/idle-detection",
        json={"enabled": True, "timeout_minutes": 15},
        headers=api.operator,
    )
    tags = api.client.patch(
        f"/api/workers/{wid}/tags",
        json={"add": {"owner": "bob"}, "remove": ["cost"]},
        headers=api.admin,
    )

    assert (idle.status_code, tags.status_code) == (200, 200)
    view = api.worker(tags.json())
    assert view["tags"] == {"owner": "bob", "team": "netops"}
    assert (view["idle_timeout_minutes"], view["idle_timeout_overridden"]) == (15, True)


def test_a_license_token_is_accepted_but_never_shown_again(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    worker = api.import_("running")
    secret = "SLR-TOKEN-very-secret-0123456789"

    with caplog.at_level(logging.DEBUG):
        accepted = api.client.post(
            f"/api/workers/{worker['worker_id']}/license",
            json={"token": secret},
            headers=api.admin,
        )

    assert caplog.records  # the request was logged ...
    assert all(secret not in JsonFormatter().format(r) for r in caplog.records)  # ... safely

    assert accepted.status_code == 202
    view = api.worker(accepted.json())
    assert view["license_status"] == "registering"
    assert view["license_token_fingerprint"].startswith("sha256:")
    history = api.client.get(f"/api/workers/{worker['worker_id']}/history", headers=api.viewer)
    assert secret not in history.text and secret not in str(view)
    # While registering, deregistration waits for the registration to finish.
    early = api.client.delete(f"/api/workers/{worker['worker_id']}/license", headers=api.admin)
    assert early.status_code == 409
    assert early.json()["current_status"] == "license registering"


def test_a_worker_id_that_is_not_a_uuid_names_no_worker(api: Api) -> None:
    response = api.client.get("/api/workers/not-a-uuid", headers=api.viewer)
    unknown = api.client.post(
        "/api/workers/00000000-0000-4000-8000-000000000000/pause", headers=api.operator
    )

    assert response.status_code == 404
    assert unknown.status_code == 404
    assert unknown.json()["worker_id"] == "00000000-0000-4000-8000-000000000000"


def test_a_correlation_id_is_honoured_echoed_and_stored_on_the_events(api: Api) -> None:
    headers = api.admin | {"X-Correlation-ID": "ticket-4711"}
    response = api.client.post("/api/workers", json=NEW_WORKER, headers=headers)

    assert response.headers["x-correlation-id"] == "ticket-4711"
    assert response.json()["correlation_id"] == "ticket-4711"
    assert api.worker(response.json())["last_correlation_id"] == "ticket-4711"
    odd = api.client.get("/healthz", headers={"X-Correlation-ID": "bad id\twith spaces"})
    assert odd.status_code == 422  # refused, not silently replaced
    assert len(odd.headers["x-correlation-id"]) == 36  # the refusal's own: a fresh uuid4
    fresh = api.client.get("/healthz")
    assert len(fresh.headers["x-correlation-id"]) == 36  # none sent: one is made


def test_a_position_the_log_has_not_reached_is_refused_at_once(tmp_path: Path) -> None:
    """Nothing acknowledged has that position: waiting would not help (409, no wait)."""
    system = bootstrap(settings_for(tmp_path, read_wait_timeout_seconds=30))
    token = system.auth.create_token(Role.VIEWER, "vera")
    with TestClient(create_app(system)) as client:
        response = client.get(
            "/api/workers?min_position=999999", headers={"Authorization": f"Bearer {token}"}
        )

    assert response.status_code == 409
    assert response.json()["type"].endswith(":position-not-in-log")
    assert response.json()["log_position"] == system.store.max_position()


def test_waiting_for_a_position_the_read_model_lacks_answers_503_with_retry_after(
    tmp_path: Path,
) -> None:
    system = bootstrap(settings_for(tmp_path, read_wait_timeout_seconds=0.1))
    token = system.auth.create_token(Role.ADMIN, "vera")
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(system)) as client:
        system.read_model.stop()  # the projection stops: the log goes on, the read model not
        created = client.post("/api/workers", json=NEW_WORKER, headers=headers).json()
        response = client.get(f"/api/workers?min_position={created['position']}", headers=headers)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/problem+json"


def test_the_fleet_summary_counts_workers_by_status(api: Api) -> None:
    api.create()
    last = api.import_("running")

    summary = api.client.get(
        f"/api/fleet/summary?min_position={last['position']}", headers=api.viewer
    ).json()

    assert summary["total"] == 2
    assert summary["by_status"]["pending"] == 1
    assert summary["by_status"]["running"] == 1


def test_worker_views_have_the_contract_shape(api: Api) -> None:
    view = api.worker(api.create())

    assert WorkerView.model_validate(view).model_dump(mode="json") == view
