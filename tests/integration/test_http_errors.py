"""Every error is problem details (application/problem+json), never a bare 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_api import NEW_WORKER, Api, settings_for

UNKNOWN = "/api/workers/00000000-0000-4000-8000-000000000000"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    system = bootstrap(settings_for(tmp_path, max_body_bytes=1024, read_wait_timeout_seconds=0.05))
    with TestClient(create_app(system)) as client:
        yield Api(system, client)


@pytest.mark.parametrize(
    ("method", "path", "who", "body", "status"),
    [
        ("GET", "/api/workers", None, None, 401),
        ("POST", "/api/workers", "viewer", NEW_WORKER, 403),
        ("GET", "/api/nothing-here", "viewer", None, 404),
        ("GET", UNKNOWN, "viewer", None, 404),
        ("GET", "/api/workers/not-a-uuid/history", "viewer", None, 404),
        ("DELETE", "/api/workers", "admin", None, 405),
        ("POST", "/api/workers", "admin", {"name": "x"}, 422),
        ("GET", "/api/workers?limit=lots", "viewer", None, 422),
        ("GET", "/api/workers?sort=colour", "viewer", None, 422),
        ("GET", "/api/workers?cursor=garbage", "viewer", None, 422),
        ("GET", "/api/workers?min_position=-1", "viewer", None, 422),
        ("GET", f"{UNKNOWN}/history?before_version={2**64}", "viewer", None, 422),
        ("GET", "/api/workers?min_position=5000", "viewer", None, 409),  # not in the log
        ("POST", "/api/workers", "admin", NEW_WORKER | {"name": "x" * 2000}, 413),
    ],
)
def test_errors_are_problem_details(
    api: Api, method: str, path: str, who: str | None, body: object, status: int
) -> None:
    headers = {} if who is None else getattr(api, who)

    response = api.client.request(method, path, json=body, headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:cml-fleet:problem:")
    assert problem["title"] and problem["detail"]
    assert problem["instance"] == path.split("?")[0]
    assert problem["correlation_id"] == response.headers["x-correlation-id"]


def test_a_query_parameter_error_names_the_parameter(api: Api) -> None:
    response = api.client.get("/api/workers?limit=0", headers=api.viewer)

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "limit", "message": "must be an integer from 1 to 500"}
    ]


def test_a_body_streamed_past_the_limit_is_refused(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        yield b"x" * 4096
        yield b'"}'

    response = api.client.post("/api/workers", content=chunks(), headers=api.admin)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_health_answers_without_a_token(api: Api) -> None:
    assert api.client.get("/healthz").json()["status"] == "ok"
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_not_ready_before_the_lifespan_started(tmp_path: Path) -> None:
    client = TestClient(create_app(bootstrap(settings_for(tmp_path))))  # no lifespan

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1  # every 503 says when to come back


async def test_a_client_that_leaves_mid_body_gets_no_traceback(tmp_path: Path) -> None:
    """The read deadline drops a body shorter than its Content-Length, and the endpoint
    reading it is told the client left: that is an access line, not an ERROR."""
    system = bootstrap(settings_for(tmp_path))
    token = system.auth.create_token(Role.ADMIN, "ann")
    app = create_app(system)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/workers", "raw_path": b"/api/workers",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "headers": [(b"authorization", f"Bearer {token}".encode()),
                    (b"content-type", b"application/json"), (b"content-length", b"200")],
    }  # fmt: skip
    messages = iter(
        [
            {"type": "http.request", "body": b'{"name": "half', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # the previous release raised ClientDisconnect here

    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    assert system.store.max_position() == 0
