"""Several ``cml-fleet serve`` processes on one PostgreSQL database, driven as an operator
would: the CLI, HTTP, and an SSE client reading the stream as it comes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

CLI = [sys.executable, "-m", "infrastructure.wiring.cli"]
STARTUP = 60.0  # seconds: bounds, not delays


def cluster_env(dsn: str, data_dir: Path, **settings: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CML_FLEET_PERSISTENCE": "postgres",
            "CML_FLEET_POSTGRES_DSN": dsn,
            "CML_FLEET_DATA_DIR": str(data_dir),
            "CML_FLEET_DEMO_WORKERS": "0",
            "CML_FLEET_LOG_LEVEL": "warning",
        }
    )
    env.update({f"CML_FLEET_{k.upper()}": v for k, v in settings.items()})
    return env


def cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=dict(env), capture_output=True, text=True, timeout=STARTUP
    )


def wait_until(check: Callable[[], object], timeout: float, every: float = 0.1) -> bool:
    """Poll ``check`` (another process's state: nothing to wait on) until it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return bool(check())


class Node:
    """One ``cml-fleet serve --port 0`` process."""

    def __init__(self, env: Mapping[str, str], token: str, log: Path | None = None) -> None:
        """``log``: a file for the process's log lines (default: thrown away)."""
        self.log = None if log is None else log.open("ab")
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", "0"],
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if self.log is None else self.log,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self._port()}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(base_url=self.url, headers=self.headers, timeout=30)

    def _port(self) -> int:
        assert self.process.stdout is not None
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("cml-fleet serve exited before printing its URL")
            found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if found:
                return int(found.group(1))
        raise RuntimeError("cml-fleet serve printed no URL")

    def ready(self) -> bool:
        try:
            return self.http.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def leadership(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.http.get("/api/admin/leader").json()
        return answer

    @property
    def process_id(self) -> str:
        return str(self.leadership()["this_process"]["id"])

    def leads(self) -> bool:
        return bool(self.leadership()["this_process_leads"])

    def job_runs(self) -> dict[str, int]:
        jobs = self.http.get("/api/admin/jobs").json()["jobs"]
        return {job["id"]: job["runs"] for job in jobs}

    def command(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        answer = self.http.request(method, path, json=body)
        assert answer.status_code in (200, 202), answer.text
        result: dict[str, Any] = answer.json()
        return result

    def kill(self) -> None:
        """``kill -9``: no shutdown, no clean release of anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self.log is not None:
            self.log.close()


@dataclass
class Frame:
    event: str
    id: int | None
    data: dict[str, Any]


@dataclass
class SseClient:
    """Reads ``GET /api/events`` in a thread, keeping every frame."""

    node: Node
    last_event_id: int | None = None
    frames: list[Frame] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._seen = threading.Condition()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=60))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        headers = dict(self.node.headers)
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        fields: dict[str, str] = {}
        try:
            with self._client.stream("GET", f"{self.node.url}/api/events", headers=headers) as r:
                for line in r.iter_lines():
                    if line:
                        name, _, value = line.partition(": ")
                        fields[name] = value
                        continue
                    if "data" in fields:
                        self._keep(fields)
                    fields = {}
        except httpx.HTTPError:
            return  # closed by close(), or the server went away

    def _keep(self, fields: dict[str, str]) -> None:
        frame_id = fields.get("id")
        frame = Frame(
            fields.get("event", ""),
            None if frame_id is None else int(frame_id),
            json.loads(fields["data"]),
        )
        with self._seen:
            self.frames.append(frame)
            self._seen.notify_all()

    def wait_for(self, check: Callable[[list[Frame]], bool], timeout: float) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: check(self.frames), timeout)

    def ids(self) -> list[int]:
        with self._seen:
            return [f.id for f in self.frames if f.id is not None]

    def close(self) -> None:
        self._client.close()
        self._thread.join(10)
