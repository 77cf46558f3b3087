"""The `cml-fleet` command as an operator uses it: serve, tokens, schemas."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from application.contracts.catalog import render_schemas
from infrastructure.http.access.auth import AuthStore
from infrastructure.http.access.sqlite import SmallDb
from infrastructure.shared.clock import SystemClock
from infrastructure.wiring.cli import main

STARTUP_TIMEOUT = 20.0


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_created_token_is_printed_once_and_listed_without_its_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--data-dir", str(tmp_path))
    code, out, err = run(
        capsys, "token", "create", "--role", "viewer", "--name", "ci", *where, "--new-store"
    )
    token = out.strip()

    _, listing, _ = run(capsys, "token", "list", *where)

    assert code == 0 and len(token) >= 43
    assert str(tmp_path / "auth.sqlite") in err  # it says which store it used
    assert "ci" in listing and "viewer" in listing and "never" in listing
    assert token not in listing
    assert token.encode() not in (tmp_path / "auth.sqlite").read_bytes()


def test_the_token_cli_refuses_to_invent_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "typo"
    code, out, err = run(capsys, "token", "create", "--role", "admin", "--data-dir", str(elsewhere))

    assert code == 2 and out == ""
    assert "no token store in" in err and str(elsewhere) in err and "--new-store" in err
    assert not (elsewhere / "auth.sqlite").exists()
    assert run(capsys, "token", "list", "--data-dir", str(elsewhere))[0] == 2


def test_a_revoked_token_is_listed_no_more_and_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--data-dir", str(tmp_path))
    token = run(capsys, "token", "create", "--role", "admin", *where, "--new-store")[1].strip()
    listing = run(capsys, "token", "list", *where)[1]
    token_id = listing.splitlines()[1].split()[0]

    assert run(capsys, "token", "revoke", token_id, *where)[0] == 0
    assert run(capsys, "token", "revoke", token_id, *where)[0] == 1  # gone
    assert token_id not in run(capsys, "token", "list", *where)[1]
    store = AuthStore(SmallDb(str(tmp_path / "auth.sqlite")), SystemClock(), 60)
    assert store.identify(token) is None


def test_schemas_export_writes_what_the_check_compares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "schemas"
    assert run(capsys, "schemas", "export", "--out", str(out))[0] == 0
    assert {str(p.relative_to(out)) for p in out.rglob("*.json")} == set(render_schemas())
    assert run(capsys, "schemas", "check", "--out", str(out))[0] == 0

    # As if the current contracts had dropped a field the committed schema has.
    view = out / "v1" / "WorkerView.json"
    schema = json.loads(view.read_text())
    schema["properties"]["retired"] = {"type": "string", "description": "gone now"}
    view.write_text(json.dumps(schema))
    code, report, _ = run(capsys, "schemas", "check", "--out", str(out))

    assert code == 1
    assert "v1/WorkerView.retired: field removed" in report
    assert "v2" in report  # says how to version instead


class Server:
    """`cml-fleet serve` in a subprocess on a free port."""

    QUIET = {"CML_FLEET_DEMO_WORKERS": "0", "CML_FLEET_SCHEDULER_ENABLED": "false"}

    def __init__(self, data_dir: Path, settings: dict[str, str] = QUIET) -> None:
        """``settings``: environment on top of this one (``{}``: the defaults)."""
        env = os.environ | settings
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infrastructure.wiring.cli",
                "serve",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
            ],
            cwd=data_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.logs: list[str] = []
        self.started = threading.Event()
        self.readers = [
            threading.Thread(target=self._drain, args=(stream, lines), daemon=True)
            for stream, lines in (
                (self.process.stdout, self.stdout),
                (self.process.stderr, self.logs),
            )
        ]
        for reader in self.readers:
            reader.start()

    def _drain(self, stream: object, lines: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line)
            if "Application startup complete" in line:
                self.started.set()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=15)
        self.close()
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        for reader in self.readers:
            reader.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    try:
        assert running.started.wait(STARTUP_TIMEOUT), "".join(running.logs)
        yield running
    finally:
        running.close()


def test_the_first_serve_prints_a_login_url_with_an_admin_token(server: Server) -> None:
    url = next(line.strip() for line in server.stdout if "/login?token=" in line)
    base = url.split("/login")[0]
    token = url.split("token=")[1]

    with httpx.Client() as client:
        health = client.get(f"{base}/healthz")
        login = client.get(url)
        workers = client.get(f"{base}/api/workers", headers={"Authorization": f"Bearer {token}"})

    assert health.status_code == 200
    assert login.status_code == 303
    assert workers.status_code == 200
    assert server.stop() in (0, -signal.SIGINT)  # uvicorn re-raises the signal it handled
    assert any("Application shutdown complete" in line for line in server.logs)
    records = [json.loads(line) for line in server.logs if line.startswith("{")]
    assert any(r.get("path") == "/api/workers" and r.get("correlation_id") for r in records)
    assert token not in "".join(server.logs)  # never logged, not even from the login URL
