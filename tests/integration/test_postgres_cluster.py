"""Done when (issue 7), tried as a new user would: three ``cml-fleet serve`` processes on
one PostgreSQL database. A stream connected to one of them sees every change made
through the others, in order and without gaps; it resumes on another process by
``Last-Event-ID``; the leader runs the jobs alone, and when it is killed (``kill -9``)
another process takes them over within seconds, no job ever running in two."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fakes.instances import import_body, launch_in_journal
from tests.integration.postgres_cluster import Node, SseClient, cli, cluster_env, wait_until

pytestmark = pytest.mark.postgres
TAKEOVER = 10.0  # "within seconds" (leader retry every 0.5 s here)
WAIT = 20.0
SETTINGS = {
    "demo_workers": "4",
    "scheduler_enabled": "true",
    "metrics_interval_seconds": "1",
    "snapshot_every_n_cycles": "1",
    "postgres_leader_retry_seconds": "0.5",
    "sse_heartbeat_seconds": "1",
}


def new_worker(instance_id: str, n: int) -> dict[str, str]:
    return import_body(instance_id, name=f"imported-{n}")


@pytest.fixture
def importable(tmp_path: Path) -> list[str]:
    """Two instances in the cluster's simulated EC2 that no worker manages yet: in the
    journal of its data dir before any process starts (each replays it)."""
    return launch_in_journal(tmp_path / "data", 2)


@pytest.fixture
def cluster(pg_empty_dsn: str, tmp_path: Path, importable: list[str]) -> Iterator[list[Node]]:
    setup = cluster_env(pg_empty_dsn, tmp_path / "cli")
    assert cli(setup, "db", "init").returncode == 0
    assert cli(setup, "db", "init").returncode == 0  # safe to run again
    made = cli(setup, "token", "create", "--role", "admin", "--name", "ops")
    assert made.returncode == 0, made.stderr
    token = made.stdout.split()[0]
    nodes: list[Node] = []
    try:
        # One after the other, on one data dir: the first records the demo fleet, and the
        # simulated cloud of each (it lives in each process) replays it from the journal,
        # with the instances the test imports (``importable``).
        for _ in range(3):
            nodes.append(Node(cluster_env(pg_empty_dsn, tmp_path / "data", **SETTINGS), token))
            assert wait_until(nodes[-1].ready, WAIT)
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def leader_terms(dsn: str) -> list[tuple[int, str, float]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT term, process, extract(epoch FROM since) FROM cml_fleet.leader_terms"
            " ORDER BY term"
        ).fetchall()
    return [(int(t), str(p), float(s)) for t, p, s in rows]


def test_three_processes_one_stream_one_leader(
    cluster: list[Node], pg_empty_dsn: str, importable: list[str]
) -> None:
    # Exactly one process leads, and every process says which.
    leaders = {node.leadership()["leader"]["id"] for node in cluster}
    leading = [node for node in cluster if node.leads()]
    assert len(leaders) == 1 and len(leading) == 1
    leader = leading[0]
    a, b = [node for node in cluster if node is not leader]

    # A dashboard on the leader sees what is done through the two other processes.
    stream = SseClient(leader)
    assert stream.wait_for(lambda fs: any(f.event == "hello" for f in fs), WAIT)
    ids = [w["id"] for w in a.http.get("/api/workers").json()["items"]]
    done = [
        a.command("PATCH", f"/api/workers/{ids[0]}/tags", {"add": {"team": "red"}}),
        b.command("PUT", f"/api/workers/{ids[1]}/idle-detection", {"enabled": False}),
        a.command("POST", "/api/workers/import", new_worker(importable[0], 1)),
        b.command("PATCH", f"/api/workers/{ids[2]}/tags", {"add": {"team": "blue"}}),
        b.command("POST", "/api/workers/import", new_worker(importable[1], 2)),
    ]
    positions = [d["position"] for d in done]
    assert stream.wait_for(lambda fs: positions[-1] in [f.id for f in fs], WAIT)
    seen = stream.ids()
    assert seen == sorted(set(seen))  # in order, no duplicate
    assert seen == list(range(seen[0], seen[-1] + 1))  # no gap
    assert set(positions) <= set(seen)
    stream.close()

    # It reconnects to another process and resumes exactly where it was.
    last = seen[-1]
    more = a.command("PATCH", f"/api/workers/{ids[0]}/tags", {"add": {"after": "gap"}})
    resumed = SseClient(b, last_event_id=last)
    assert resumed.wait_for(lambda fs: more["position"] in [f.id for f in fs], WAIT)
    assert resumed.ids()[0] == last + 1 and resumed.ids() == sorted(set(resumed.ids()))

    # The leader runs the jobs; the others never do. Its snapshots reach every process.
    assert wait_until(lambda: leader.job_runs()["metrics"] >= 2, WAIT)
    assert resumed.wait_for(lambda fs: any(f.event == "worker.snapshot" for f in fs), WAIT)
    assert all(runs == 0 for node in (a, b) for runs in node.job_runs().values())

    # Labs: the leader's job writes the rows every process reads; a lab started through
    # another process is carried out by the leader's engine, and the labs change that
    # its next cycle sees reaches a stream on a third process.
    def stopped_labs() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = b.http.get("/api/labs?state=STOPPED").json()["items"]
        return items

    assert wait_until(stopped_labs, WAIT)
    lab = stopped_labs()[0]
    on = f"/api/workers/{lab['worker_id']}/labs/{lab['lab_id']}"
    a.command("POST", f"{on}/start")

    def told(frames: list[Any]) -> bool:
        return any(
            f.event == "worker.labs.changed"
            and lab["lab_id"] in [x["lab_id"] for x in f.data["data"]["changed"]]
            for f in frames
        )

    assert resumed.wait_for(told, WAIT)
    assert resumed.wait_for(
        lambda fs: any(f.event == "worker.lab.operation.done" for f in fs), WAIT
    )
    mine = b.http.get(f"/api/workers/{lab['worker_id']}/labs").json()["items"]
    assert {x["lab_id"]: x["state"] for x in mine}[lab["lab_id"]] == "STARTED"

    # A settings change is not in the log: one made through a process reaches a stream
    # on another, with the view that process's GET answers.
    office = {"timezone": "UTC", "periods": [{"days": "mon-sun", "start": "00:00", "end": "23:59"}]}
    a.command("PUT", "/api/schedules/office", office)
    stored = b.http.get("/api/schedules/office").json()
    del stored["on_now"], stored["next_change"]  # where it stands: as of each answer

    def told_schedule(frames: list[Any]) -> bool:
        views = [f.data["data"]["schedule"] for f in frames if f.event == "schedule.changed"]
        return any(v is not None and stored.items() <= v.items() for v in views)

    assert resumed.wait_for(told_schedule, WAIT)

    # kill -9 the leader: another process takes over the jobs within seconds.
    killed_at = time.time()
    leader.kill()
    assert wait_until(lambda: a.leads() or b.leads(), TAKEOVER)
    took_over = time.time() - killed_at
    new, other = (a, b) if a.leads() else (b, a)
    assert wait_until(lambda: new.job_runs()["metrics"] >= 1, WAIT)
    assert all(runs == 0 for runs in other.job_runs().values())
    terms = leader_terms(pg_empty_dsn)
    assert [p for _, p, _ in terms] == [leader_id(leaders), new.process_id]
    assert terms[1][2] >= killed_at - 1 and took_over < TAKEOVER

    # The stream on the survivor still sees what the other survivor does.
    after = other.command("PATCH", f"/api/workers/{ids[3]}/tags", {"add": {"phase": "after"}})
    assert resumed.wait_for(lambda fs: after["position"] in [f.id for f in fs], WAIT)
    ids_after = resumed.ids()
    assert ids_after == list(range(ids_after[0], ids_after[-1] + 1))
    resumed.close()


def leader_id(leaders: set[str]) -> str:
    (only,) = leaders
    return only
