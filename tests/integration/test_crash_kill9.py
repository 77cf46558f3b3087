"""Crash test: ``kill -9`` the server while 100 operations are in flight on the simulated
fleet, restart it on the same data dir, and every acknowledged operation takes effect
exactly once, as the simulated cloud's journal tells (it survives the kill like AWS would).

The server runs as a real ``cml-fleet serve`` process on 127.0.0.1 (port 0). Every wait
polls with a bounded deadline; nothing sleeps for timing.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any

import httpx

from application.operations.requests import INSTANCE_TAG
from infrastructure.outside.simulated.journal import FILE_NAME as JOURNAL_FILE
from infrastructure.outside.simulated.journal import Journal
from infrastructure.outside.simulated.world import SimWorld
from infrastructure.running.operations.tracking import FILE_NAME as REACTOR_FILE
from infrastructure.running.operations.tracking import SQLitePositionTracker
from infrastructure.shared.clock import FakeClock

CLI = Path(sys.executable).parent / "cml-fleet"
DEMO_WORKERS = 60  # 40 running (to stop), 20 stopped (to start)
CREATES = 40
DEADLINE = 90.0
AMI = "ami-0123456789abcdef0"


def poll(check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    """``check()`` until it returns something truthy, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)  # a polling interval, not a timing assumption
    raise AssertionError(f"timed out waiting for {what}")


class ServerProcess:
    """``cml-fleet serve`` in a child process; its stdout read line by line.

    ``settings`` override this test's defaults, e.g. ``demo_workers="0"``."""

    def __init__(self, data_dir: Path, logs: Path, **settings: str) -> None:
        env = os.environ | {
            "CML_FLEET_DATA_DIR": str(data_dir),
            "CML_FLEET_DEMO_WORKERS": str(DEMO_WORKERS),
            "CML_FLEET_SIM_LATENCY_MS": "150",
            "CML_FLEET_OPERATIONS_CONCURRENCY": "8",
            "CML_FLEET_SCHEDULER_ENABLED": "false",
            "CML_FLEET_LOG_LEVEL": "info",
        }
        env |= {f"CML_FLEET_{name.upper()}": value for name, value in settings.items()}
        self.logs = logs.open("ab")
        self.process = subprocess.Popen(
            [str(CLI), "serve", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.logs,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.url = self._wait_for(r"serving on (http://\S+)")
        poll(self._healthy, "the server to answer /healthz", timeout=30)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def _wait_for(self, pattern: str) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if found := re.search(pattern, line):
                return found.group(1)
        raise AssertionError(f"the server never printed {pattern!r}")

    def token(self) -> str:
        return self._wait_for(r"Authorization: Bearer (\S+)")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill_9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
            self._close()

    def _close(self) -> None:
        self.reader.join(timeout=10)  # it ends at the pipe's end of file
        assert self.process.stdout is not None
        self.process.stdout.close()
        self.logs.close()


@dataclass
class Acknowledged:
    """The operations the server accepted (202)."""

    created: list[str] = field(default_factory=list)  # worker ids
    started: dict[str, str] = field(default_factory=dict)  # worker id -> instance id
    stopped: dict[str, str] = field(default_factory=dict)
    last_position: int = 0

    @property
    def count(self) -> int:
        return len(self.created) + len(self.started) + len(self.stopped)


class Journal_:
    """The simulated cloud as its journal (on disk) says it is."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / JOURNAL_FILE

    def entries(self) -> list[dict[str, Any]]:
        return Journal(self.path).entries()

    def acts(self) -> Counter[tuple[str, str]]:
        return Counter((e["id"], e["action"]) for e in self.entries() if e["op"] == "act")

    def launched_for(self) -> Counter[str]:
        """Launches per worker id (from the tag every launch of ours carries)."""
        launches = [e for e in self.entries() if e["op"] == "launch"]
        return Counter(e["tags"].get(INSTANCE_TAG, "") for e in launches)

    def effects(self, acked: Acknowledged) -> int:
        acts, launched = self.acts(), self.launched_for()
        done = sum(1 for w in acked.created if launched[w])
        done += sum(1 for i in acked.started.values() if acts[(i, "start")])
        done += sum(1 for i in acked.stopped.values() if acts[(i, "stop")])
        return done

    def world(self) -> SimWorld:
        return SimWorld(FakeClock(datetime.now(UTC)), journal=Journal(self.path))


async def fire(url: str, token: str, workers: list[dict[str, Any]]) -> Acknowledged:
    """100 operations at once: 40 creates, a stop of each running demo worker and a start
    of each stopped one."""
    acked = Acknowledged()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:

        async def post(path: str, body: Any = None) -> dict[str, Any]:
            answer = await http.post(path, json=body)
            assert answer.status_code == 202, answer.text
            return dict(answer.json())

        def create(n: int) -> Any:
            body = {"name": f"new-{n}", "region": "eu-west-1", "instance_type": "m5.xlarge"}
            return post("/api/workers", body | {"ami_id": AMI})

        def act(w: dict[str, Any]) -> Any:
            verb = "stop" if w["status"] == "running" else "start"
            return post(f"/api/workers/{w['id']}/{verb}")

        creating = [create(n) for n in range(CREATES)]
        acting = [act(w) for w in workers]
        mixed = [c for pair in zip_longest(creating, acting) for c in pair if c is not None]
        answers = await asyncio.gather(*mixed)
    acting_ids = {w["id"] for w in workers}
    acked.created = [a["worker_id"] for a in answers if a["worker_id"] not in acting_ids]
    for w in workers:
        table = acked.stopped if w["status"] == "running" else acked.started
        table[w["id"]] = w["instance_id"]
    acked.last_position = max(a["position"] for a in answers)
    return acked


def demo_workers(url: str, token: str) -> list[dict[str, Any]]:
    def listed() -> list[dict[str, Any]] | None:
        page = httpx.get(
            f"{url}/api/workers?limit=500", headers={"Authorization": f"Bearer {token}"}
        ).json()
        return page["items"] if page["total"] == DEMO_WORKERS else None

    workers: list[dict[str, Any]] = poll(listed, "the demo fleet")
    return workers


def instances_of(url: str, token: str, worker_ids: list[str]) -> dict[str, str | None]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
        return {w: http.get(f"/api/workers/{w}").json()["instance_id"] for w in worker_ids}


def test_kill_9_with_operations_in_flight_then_every_one_takes_effect_exactly_once(
    tmp_path: Path,
) -> None:
    data_dir, logs = tmp_path / "data", tmp_path / "server.log"
    journal = Journal_(data_dir)

    first = ServerProcess(data_dir, logs)
    try:
        token = first.token()
        workers = demo_workers(first.url, token)
        acked = asyncio.run(fire(first.url, token, workers))
        assert acked.count == 100
        at_kill = poll(lambda: journal.effects(acked) >= 40 and journal.effects(acked), "effects")
    finally:
        first.kill_9()
    assert at_kill < acked.count, "everything was done before the kill: nothing was in flight"

    second = ServerProcess(data_dir, logs)
    try:
        poll(lambda: journal.effects(acked) == acked.count, "every operation's effect")
        tracker = SQLitePositionTracker(data_dir / REACTOR_FILE)
        poll(lambda: tracker.position() >= acked.last_position, "the reactor to settle all")
        tracker.close()
        assigned = poll(
            lambda: (
                (found := instances_of(second.url, token, acked.created))
                and all(found.values())
                and found
            ),
            "every new worker to have its instance",
        )
    finally:
        second.stop()

    world, acts, launched = journal.world(), journal.acts(), journal.launched_for()
    assert all(n <= 1 for n in world.token_launches.values()), world.token_launches
    assert all(launched[w] == 1 for w in acked.created), launched
    for worker_id, instance_id in assigned.items():
        instance = world.find(instance_id)
        assert instance is not None and instance.tags[INSTANCE_TAG] == worker_id
    assert all(acts[(i, "start")] == 1 for i in acked.started.values())
    assert all(acts[(i, "stop")] == 1 for i in acked.stopped.values())
    assert sum(world.token_calls.values()) >= CREATES  # retried calls reuse their token
    print(json.dumps({"effects_at_kill": at_kill, "operations": acked.count}))
