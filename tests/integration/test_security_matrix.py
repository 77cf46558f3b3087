"""Who may call what: every endpoint the app serves, for no token, an expired token, a
forged token and each role. The endpoints are discovered from the app's routes, so a
new endpoint without a rule in the role table fails this test until it gets one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.http.routes import OPERATIONS
from infrastructure.shared.clock import FakeClock
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.integration.test_http_api import NEW_WORKER, settings_for

# Endpoints outside the operations table, with the least role each needs (None: public).
OTHER_RULES: dict[tuple[str, str], str | None] = {
    ("GET", "/api/openapi.json"): "viewer",
    ("GET", "/login"): None,
    ("POST", "/login"): None,
    ("GET", "/auth/login"): None,
    ("GET", "/auth/callback"): None,
    ("POST", "/logout"): None,
    ("GET", "/api/events"): "viewer",
    ("GET", "/api/admin/jobs"): "admin",
    ("GET", "/api/admin/leader"): "admin",
    ("GET", "/api/admin/tokens"): "admin",
    ("DELETE", "/api/admin/tokens/{id}"): "admin",
    ("POST", "/api/admin/jobs/{id}/run"): "admin",
    ("GET", "/api/workers/{id}/metrics"): "viewer",
    ("GET", "/"): "viewer",  # deny by default: any signed-in role
    ("GET", "/static/{path}"): "viewer",
    ("GET", "/api/me"): "viewer",
    ("GET", "/metrics"): "viewer",
}
RULES = {(op.method, op.path): op.role for op in OPERATIONS} | OTHER_RULES
LADDER = ("viewer", "operator", "admin")
LAB_ID = "90f84e38-a71c-4d57-8d90-00fa8a197385"  # a lab id of the right form (none such)
# A stream answers 422 for a bad filter before it starts, once the caller may stream.
QUERIES = {"/api/events": "?worker=not-a-worker-id"}


def served_endpoints(client: TestClient) -> list[tuple[str, str]]:
    routes = [r for r in client.app.routes if isinstance(r, Route)]  # type: ignore[attr-defined]
    return sorted(
        (method, route.path_format)
        for route in routes
        for method in (route.methods or ())
        if method != "HEAD"
    )


class Matrix:
    def __init__(self, system: System, clock: FakeClock, client: TestClient) -> None:
        self.client = client
        tokens = {role.value: system.auth.create_token(role, f"{role.value}-1") for role in Role}
        expired = system.auth.create_token(Role.ADMIN, "gone", expires_in=timedelta(minutes=1))
        clock.advance(timedelta(minutes=2))
        self.login_token = tokens["viewer"]
        self.callers: dict[str, dict[str, str]] = {
            "anonymous": {},
            "expired": {"Authorization": f"Bearer {expired}"},
            "forged": {"Authorization": f"Bearer {tokens['admin'][:-4]}AAAA"},
            **{role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()},
        }
        created = client.post("/api/workers", json=NEW_WORKER, headers=self.callers["admin"])
        assert created.status_code == 202, created.text
        self.worker_id = created.json()["worker_id"]

    def call(self, method: str, path: str, caller: str) -> int:
        # app.css and favicon.svg are public (the login page shows them); the rest is not
        url = path.replace("{id}", self.worker_id).replace("{path}", "js/main.mjs")
        url = url.replace("{lab_id}", LAB_ID).replace("{delivery}", "1")
        if path == "/api/admin/jobs/{id}/run":
            url = path.replace("{id}", "no-such-job")
        url += QUERIES.get(path, "")
        if path == "/login":
            url += f"?token={self.login_token}"
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        response = self.client.request(method, url, headers=self.callers[caller], json=body)
        self.client.cookies.clear()  # /login opened a session: the next caller has none
        if response.status_code in {401, 403}:
            assert response.headers["content-type"] == "application/problem+json"
        return response.status_code


@pytest.fixture
def matrix(tmp_path: Path, clock: FakeClock) -> Iterator[Matrix]:
    # Many deliberate failures from one client: no failed-login limit in this test.
    settings = settings_for(tmp_path, login_failures_per_minute=1_000_000)
    system = bootstrap(settings, clock=clock)
    with TestClient(create_app(system), follow_redirects=False) as client:
        yield Matrix(system, clock, client)


def expected(rule: str | None, caller: str) -> str:
    if caller in {"expired", "forged"}:
        return "401"  # a bad credential is refused everywhere, public paths included
    if rule is None:
        return "allowed"
    if caller == "anonymous":
        return "401"
    return "allowed" if LADDER.index(caller) >= LADDER.index(rule) else "403"


def outcome(status: int) -> str:
    assert status < 500, f"server error {status}"
    return str(status) if status in {401, 403} else "allowed"


def test_every_served_endpoint_has_a_rule_in_the_role_table(matrix: Matrix) -> None:
    unruled = [e for e in served_endpoints(matrix.client) if e not in RULES]

    assert not unruled, f"endpoints without an authorization rule: {unruled}"


def test_every_endpoint_answers_each_caller_as_the_role_table_says(matrix: Matrix) -> None:
    callers = ("anonymous", "expired", "forged", "viewer", "operator", "admin")
    wrong = []
    for method, path in served_endpoints(matrix.client):
        if method == "POST" and path == "/logout":
            continue  # it ends the session; called last below
        for caller in callers:
            want = expected(RULES[(method, path)], caller)
            got = outcome(matrix.call(method, path, caller))
            if got != want:
                wrong.append(f"{method} {path} as {caller}: {got}, expected {want}")

    assert not wrong, "\n".join(wrong)
    assert outcome(matrix.call("POST", "/logout", "anonymous")) == "allowed"


def test_the_role_table_names_only_served_endpoints(matrix: Matrix) -> None:
    stale = set(RULES) - set(served_endpoints(matrix.client))

    assert not stale, f"rules for endpoints that no longer exist: {sorted(stale)}"
