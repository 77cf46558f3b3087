"""The job admin endpoints and the utilization history, as an admin and a viewer meet
them: the real app (TestClient with its lifespan) on SQLite files, on the simulated
fleet with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.shared.clock import FakeClock
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap
from tests.jobs_fleet import JobsFleet

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Admin:
    def __init__(self, fleet: JobsFleet, client: TestClient) -> None:
        self.fleet, self.client = fleet, client
        auth = fleet.system.auth
        self.admin = {"Authorization": f"Bearer {auth.create_token(Role.ADMIN, 'ada')}"}
        self.viewer = {"Authorization": f"Bearer {auth.create_token(Role.VIEWER, 'vic')}"}

    def run_metrics(self) -> dict[str, Any]:
        response = self.client.post("/api/admin/jobs/metrics/run?wait=true", headers=self.admin)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def samples(self, worker_id: str, query: str = "") -> list[dict[str, Any]]:
        response = self.client.get(f"/api/workers/{worker_id}/metrics{query}", headers=self.viewer)
        assert response.status_code == 200, response.text
        assert response.json()["worker_id"] == worker_id
        return list(response.json()["samples"])


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Admin]:
    settings = Settings(
        data_dir=tmp_path,
        demo_workers=0,
        scheduler_enabled=False,
        metrics_retention_hours=1.0,
    )
    system = bootstrap(settings, clock=FakeClock(T0))
    fleet = JobsFleet(system)
    with TestClient(create_app(system)) as client:
        yield Admin(fleet, client)


def test_an_admin_lists_the_jobs_and_runs_the_metrics_job_now(api: Admin) -> None:
    api.fleet.add("lab-1")
    listed = api.client.get("/api/admin/jobs", headers=api.admin)
    assert listed.status_code == 200
    (job,) = [j for j in listed.json()["jobs"] if j["id"] == "metrics"]
    assert (job["id"], job["runs"], job["last_run_at"], job["scheduled"]) == (
        "metrics",
        0,
        None,
        False,
    )

    ran = api.run_metrics()

    assert ran["runs"] == 1 and ran["last_error"] is None
    assert ran["last_run_at"] == "2026-03-02T09:00:00.000Z"
    assert ran["last_duration_seconds"] >= 0
    assert ran["last_result"]["workers"] == 1 and ran["last_result"]["failures"] == 0
    jobs = api.client.get("/api/admin/jobs", headers=api.admin).json()["jobs"]
    (again,) = [j for j in jobs if j["id"] == "metrics"]
    assert again["runs"] == 1 and again["last_duration_seconds"] == ran["last_duration_seconds"]


def test_a_run_started_without_waiting_is_accepted_and_not_started_twice(api: Admin) -> None:
    api.fleet.add("lab-1")
    api.fleet.knobs(latency_ms=1000.0)  # a slow network keeps the run going a while
    started = api.client.post("/api/admin/jobs/metrics/run", headers=api.admin)
    again = api.client.post("/api/admin/jobs/metrics/run", headers=api.admin)
    assert started.status_code == 202 and started.json()["running"] is True
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


def test_an_unknown_job_is_a_problem_404(api: Admin) -> None:
    response = api.client.post("/api/admin/jobs/nightly/run", headers=api.admin)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["job_id"] == "nightly"


def test_only_admins_see_and_run_jobs(api: Admin) -> None:
    assert api.client.get("/api/admin/jobs", headers=api.viewer).status_code == 403
    assert api.client.post("/api/admin/jobs/metrics/run", headers=api.viewer).status_code == 403
    assert api.client.get("/api/admin/jobs").status_code == 401


def test_a_viewer_reads_a_workers_utilization_since_a_time(api: Admin) -> None:
    running = api.fleet.add("lab-1")
    stopped = api.fleet.add("asleep", stopped=True)
    for _ in range(3):
        api.run_metrics()
        api.fleet.clock.advance(timedelta(minutes=10))

    samples = api.samples(running)
    assert [s["at"] for s in samples] == [
        "2026-03-02T09:00:00.000Z",
        "2026-03-02T09:10:00.000Z",
        "2026-03-02T09:20:00.000Z",
    ]
    assert all(0 <= s["cpu_percent"] <= 100 for s in samples)
    assert len(api.samples(running, "?since=2026-03-02T09:05:00Z")) == 2
    assert api.samples(stopped) == []


def test_old_samples_are_pruned_after_the_retention(api: Admin) -> None:
    worker = api.fleet.add("lab-1")
    api.run_metrics()
    api.fleet.clock.advance(timedelta(minutes=90))  # retention is one hour
    api.run_metrics()
    assert [s["at"] for s in api.samples(worker)] == ["2026-03-02T10:30:00.000Z"]


def test_metrics_of_an_unknown_worker_or_with_a_bad_since_are_problems(api: Admin) -> None:
    worker = api.fleet.add("lab-1")
    unknown = api.client.get(
        "/api/workers/6d5c3b1a-0000-4000-8000-000000000000/metrics", headers=api.viewer
    )
    bad = api.client.get(f"/api/workers/{worker}/metrics?since=yesterday", headers=api.viewer)
    assert unknown.status_code == 404
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
