"""Each documented way to run cml-fleet, as real ``cml-fleet serve`` processes at
default settings (the log level included: ``info``): one process on SQLite, and two on
PostgreSQL after ``db init``, where ``kill -9`` of the leader hands the lead to the
other within seconds and jobs and operations run there again. Every wait is a bounded
poll; nothing sleeps for timing."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.postgres_cluster import Node, cli, wait_until

READY = 60.0
TAKEOVER = 15.0  # a bound, not a delay
NEW_WORKER = {
    "name": "made-after-failover",
    "region": "eu-west-1",
    "instance_type": "m5.xlarge",
    "ami_id": "ami-0123456789abcdef0",
}


def defaults(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a process given only what the mode needs; everything else,
    the log level included, at its default (no CML_FLEET_* inherited from the test run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CML_FLEET_")}
    env["CML_FLEET_DATA_DIR"] = str(data_dir)
    env |= {f"CML_FLEET_{k.upper()}": v for k, v in settings.items()}
    return env


def admin_token(env: dict[str, str]) -> str:
    made = cli(env, "token", "create", "--role", "admin", "--name", "ops", "--new-store")
    assert made.returncode == 0, made.stderr
    return made.stdout.split()[0]


def operations_run(node: Node) -> None:
    """A new worker gets its instance: the reactor of the leading process acted."""
    accepted = node.command("POST", "/api/workers", NEW_WORKER)

    def assigned() -> bool:
        path = f"/api/workers/{accepted['worker_id']}?min_position={accepted['position']}"
        return node.http.get(path).json()["instance_id"] is not None

    assert wait_until(assigned, TAKEOVER), "no operation was carried out"


def jobs_run(node: Node) -> None:
    assert wait_until(lambda: node.job_runs().get("metrics", 0) >= 1, TAKEOVER), "no job ran"


def assert_clean(log: Path) -> None:
    text = log.read_text()
    assert "Traceback" not in text and "KeyError" not in text, text[-3000:]


def test_one_process_on_sqlite_at_default_settings(tmp_path: Path) -> None:
    env = defaults(tmp_path / "data")
    node = Node(env, admin_token(env), log=tmp_path / "serve.log")
    try:
        assert wait_until(node.ready, READY)
        view = node.leadership()
        assert view["election"] == "single-process" and view["this_process_leads"]
        jobs_run(node)
        operations_run(node)
    finally:
        node.stop()
    assert_clean(tmp_path / "serve.log")


@pytest.mark.postgres
def test_two_processes_on_postgresql_and_the_lead_moves_on_kill_9(
    pg_empty_dsn: str, tmp_path: Path
) -> None:
    env = defaults(tmp_path / "data", persistence="postgres", postgres_dsn=pg_empty_dsn)
    assert cli(env, "db", "init").returncode == 0
    token = admin_token(env)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first = Node(env, token, log=logs[0])
    nodes = [first]
    try:
        assert wait_until(first.ready, READY)
        second = Node(env, token, log=logs[1])
        nodes.append(second)
        assert wait_until(second.ready, READY)
        views = [first.leadership(), second.leadership()]
        assert [v["this_process_leads"] for v in views] == [True, False]
        assert views[0]["leader"]["id"] == views[1]["leader"]["id"] == first.process_id
        jobs_run(first)

        first.kill()
        killed = time.monotonic()
        seen: list[dict[str, Any]] = []

        def leads() -> bool:
            try:
                view = second.leadership()
            except httpx.HTTPError:
                return False
            seen.append(view)
            return bool(view["this_process_leads"])

        assert wait_until(leads, TAKEOVER), "the lead never moved"
        took = time.monotonic() - killed
        # It is named the leader only while it leads, never before.
        for view in seen:
            named = (
                view["leader"] is not None and view["leader"]["id"] == view["this_process"]["id"]
            )
            assert not named or view["this_process_leads"], view
        print(f"failover after kill -9: {took:.2f} s")
        jobs_run(second)
        operations_run(second)
    finally:
        for node in nodes:
            node.stop()
    for log in logs:
        assert_clean(log)
