"""One leader among several processes on PostgreSQL: it runs the jobs, the others refuse
to; when its database session dies, another takes over within seconds. Each process is
a full system with its own app (in this test process), as ``cml-fleet serve`` builds it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import System, bootstrap
from tests.postgres_support import pg_settings

pytestmark = pytest.mark.postgres
TAKEOVER = 10.0  # seconds: a bound, not a delay


class Node:
    """One process: its system and an HTTP client on its app (lifespan running)."""

    def __init__(self, system: System, token: str) -> None:
        self.system = system
        self.client = TestClient(create_app(system))
        self.client.__enter__()  # the app's lifespan: System.start
        self.headers = {"Authorization": f"Bearer {token}"}
        self.running = True

    def stop(self) -> None:
        """Shut the process down cleanly (lifespan shutdown: System.stop)."""
        if self.running:
            self.running = False
            self.client.__exit__(None, None, None)

    @property
    def leads(self) -> bool:
        return bool(self.system.leadership.is_leader)

    def leader(self) -> dict:
        answer = self.client.get("/api/admin/leader", headers=self.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def nodes(pg_dsn: str, tmp_path: Path) -> Iterator[list[Node]]:
    with ExitStack() as stack:
        systems = [
            bootstrap(pg_settings(pg_dsn, tmp_path / f"node{n}", scheduler_enabled=True))
            for n in range(2)
        ]
        token = systems[0].auth.create_token(Role.ADMIN, "root")
        result = []
        for system in systems:
            stack.callback(system.close)
            result.append(Node(system, token))
            stack.callback(result[-1].stop)
        yield result


def test_exactly_one_process_leads_and_everyone_knows_which(nodes: list[Node]) -> None:
    first, second = nodes
    views = [first.leader(), second.leader()]

    assert [first.leads, second.leads] == [True, False]  # the first to start took the lock
    assert views[0]["leader"] == views[1]["leader"]
    assert views[0]["leader"]["id"] == views[0]["this_process"]["id"]
    assert [v["this_process_leads"] for v in views] == [True, False]
    assert views[1]["election"] == "postgres-advisory-lock"
    assert views[0]["leader"]["term"] == 1


def test_jobs_run_only_in_the_leader(nodes: list[Node]) -> None:
    leader, other = nodes

    refused = other.client.post("/api/admin/jobs/metrics/run?wait=true", headers=other.headers)
    ran = leader.client.post("/api/admin/jobs/metrics/run?wait=true", headers=leader.headers)
    idle = other.client.get("/api/admin/jobs", headers=other.headers).json()["jobs"]

    assert refused.status_code == 409
    assert refused.json()["type"].endswith("not-leader")
    assert refused.json()["leader_process"] == leader.leader()["this_process"]["id"]
    assert ran.status_code == 200 and ran.json()["runs"] >= 1
    assert idle and all(not job["scheduled"] and job["runs"] == 0 for job in idle)


def test_when_the_leaders_session_dies_another_process_takes_over(nodes: list[Node]) -> None:
    old, new = nodes
    backend = old.system.leadership.election  # its lock lives on this session
    with psycopg.connect(old.system.database.dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(backend_pid) FROM cml_fleet.leader_terms"
            " WHERE process = %s",
            (old.system.leadership.identity.id,),
        )

    assert new.system.leadership.wait_until_leading(True, TAKEOVER)
    assert old.system.leadership.wait_until_leading(False, TAKEOVER)  # it stopped its jobs
    view = old.leader()
    assert view["leader"]["id"] == new.system.leadership.identity.id
    assert view["leader"]["term"] == 2 and not view["this_process_leads"]
    assert backend.term is None
    scheduled = [
        [
            job["scheduled"]
            for job in node.client.get("/api/admin/jobs", headers=node.headers).json()["jobs"]
        ]
        for node in (new, old)
    ]
    assert all(scheduled[0]) and not any(scheduled[1])  # the timers moved to the new leader


def test_a_process_that_stops_hands_over_at_once(nodes: list[Node]) -> None:
    old, new = nodes
    old.stop()  # a clean shutdown resigns the lead

    assert new.system.leadership.wait_until_leading(True, TAKEOVER)
    assert new.leader()["leader"]["id"] == new.system.leadership.identity.id


def test_a_single_process_on_sqlite_always_leads(tmp_path: Path) -> None:
    system = bootstrap(Settings(data_dir=tmp_path, demo_workers=0, scheduler_enabled=False))
    token = system.auth.create_token(Role.ADMIN, "root")
    with TestClient(create_app(system)) as client:
        view = client.get("/api/admin/leader", headers={"Authorization": f"Bearer {token}"})
    system.close()

    assert view.json()["election"] == "single-process"
    assert view.json()["this_process_leads"] is True
    assert view.json()["leader"]["id"] == view.json()["this_process"]["id"]
