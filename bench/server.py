"""Run `cml-fleet serve` in a subprocess on 127.0.0.1 (a real uvicorn) for benchmarks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CLI = [sys.executable, "-c", "from infrastructure.wiring.cli import main; raise SystemExit(main())"]


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )


def env_for(data_dir: Path, **settings: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CML_FLEET_DATA_DIR": str(data_dir),
            "CML_FLEET_DEMO_WORKERS": "0",
            "CML_FLEET_SCHEDULER_ENABLED": "false",
            "CML_FLEET_LOG_LEVEL": "WARNING",
            # the load generator's clients share one token
            "CML_FLEET_SSE_MAX_STREAMS_PER_CREDENTIAL": "100000",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
        }
    )
    env.update({f"CML_FLEET_{k.upper()}": v for k, v in settings.items()})
    return env


def create_token(data_dir: Path, role: str = "admin") -> str:
    out = subprocess.run(
        [*CLI, "token", "create", "--role", role, "--name", f"bench-{role}", "--new-store"],
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[0]


@contextmanager
def running_server(data_dir: Path, **settings: str) -> Iterator[Server]:
    """Start the server on a free port; stop it (SIGTERM, then kill) afterwards."""
    token = create_token(data_dir)
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0"],
        env=env_for(data_dir, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = _wait_for_port(proc)
        server = Server("127.0.0.1", port, token)
        _wait_ready(server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_port(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("server exited before printing its URL")
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if found:
            return int(found.group(1))
    raise RuntimeError("server did not print its URL within 60 s")


def _wait_ready(server: Server) -> None:
    """Until ``/readyz`` says the read model holds the whole log (it answers 200 as
    soon as the lag is under ``ready_max_lag``; a benchmark wants all of it)."""
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=server.url) as client:
        while time.monotonic() < deadline:
            try:
                answer = client.get("/readyz")
                if answer.status_code == 200 and _caught_up(answer.json()):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # start-up poll, not a measurement
    raise RuntimeError("server not ready within 120 s")


def _caught_up(ready: dict[str, int | None]) -> bool:
    return (ready.get("position") or 0) >= (ready.get("log_position") or 0)
