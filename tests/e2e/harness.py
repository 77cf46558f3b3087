"""A real cml-fleet server in its own process, and a headless Chromium to drive it.

Shared by the end-to-end tests, the screenshot script and ``bench/bench_dashboard.py``.
The server is ``cml-fleet serve`` on 127.0.0.1 (a subprocess, so a restart is a real
one: signal, graceful shutdown, a new process on the same port and data directory).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from application.commands.lifecycle import import_command, import_worker
from domain.cause import Cause
from infrastructure.http.access.auth import AuthStore, Role
from infrastructure.outside.simulated import new_world
from infrastructure.shared.clock import SystemClock
from infrastructure.shared.settings import Settings
from infrastructure.store.event_store import FleetEventStore
from infrastructure.wiring.bootstrap import event_store_env
from infrastructure.wiring.demo import launch_with_past

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
REGIONS = ("eu-west-1", "us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2")
TYPES = ("m5.xlarge", "m5.2xlarge", "m5.4xlarge", "c5.9xlarge")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright: Any) -> Any:
    path = chromium_path()
    if path is None:
        raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)


@dataclass
class Tokens:
    viewer: str
    operator: str
    admin: str


@dataclass
class FleetServer:
    """``cml-fleet serve`` on ``data_dir``; ``start`` / ``stop`` / ``restart``."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[str] | None = None
    log: Path | None = None
    """Where the server's log goes (default: nowhere)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, demo_workers=0)

    def start(self) -> None:
        env = {
            **os.environ,
            "CML_FLEET_DATA_DIR": str(self.data_dir),
            "CML_FLEET_DEMO_WORKERS": "0",
            "CML_FLEET_SCHEDULER_ENABLED": "false",
            "CML_FLEET_LOG_LEVEL": "warning",
            **self.env,
        }
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        log = None if self.log is None else self.log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infrastructure.wiring.cli", *serve],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if log is None else log,
            text=True,
        )
        if log is not None:
            log.close()  # the server has its own copy
        assert self.process.stdout is not None
        first = self.process.stdout.readline()  # "cml-fleet is serving on http://...:PORT"
        if "serving on" not in first:
            self.stop()
            raise RuntimeError(f"the server did not start: {first!r}")
        self.port = int(first.strip().rsplit(":", 1)[1])
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # bounded readiness poll of another process
        raise TimeoutError("the server was not ready in time")

    def stop(self) -> None:
        """Ctrl-C, as a person would: uvicorn shuts down gracefully, streams end."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def login_url(self, token: str) -> str:
        return f"{self.url}/login?token={token}"

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10.0
        )


def create_tokens(settings: Settings) -> Tokens:
    auth = AuthStore.for_settings(settings, SystemClock())
    try:
        return Tokens(
            viewer=auth.create_token(Role.VIEWER, "vera"),
            operator=auth.create_token(Role.OPERATOR, "otto"),
            admin=auth.create_token(Role.ADMIN, "ada"),
        )
    finally:
        auth.close()


@contextmanager
def event_store(settings: Settings) -> Iterator[FleetEventStore]:
    """The server's event store, opened from this process (as another process would)."""
    store = FleetEventStore(event_store_env(settings))
    try:
        yield store
    finally:
        store.close()


def seed_workers(settings: Settings, names: Sequence[str]) -> list[str]:
    """One running worker per name: a simulated EC2 instance launched an hour ago (in
    the world the server replays from its data dir), imported through the command
    handler, as an operator would. Their ids, in order; call before the server starts."""
    world = new_world(settings, SystemClock())
    ids = []
    with event_store(settings) as store:
        for i, name in enumerate(names):
            region, instance_type = REGIONS[i % len(REGIONS)], TYPES[i % len(TYPES)]
            team = ("training", "sales", "engineering")[i % 3]
            instance = launch_with_past(
                world, name, region, instance_type, {"Team": team}, age=timedelta(hours=1)
            )
            command = import_command(instance.info(), cause=Cause("seed", "seed"))
            ids.append(str(import_worker(command, store).worker_id))
    return ids
