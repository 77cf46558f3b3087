"""The README's quick start runs as written, against ``cml-fleet serve`` on its defaults
(the demo fleet): its shell block is replayed line by line in bash, with only the token,
the URL, and a bound on the two endless ``curl -N`` streams filled in."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.postgres_cluster import Node, wait_until
from tests.integration.test_serve_modes import admin_token, defaults

README = Path(__file__).resolve().parents[2] / "README.md"
STREAM_SECONDS = "3"


def quick_start_block() -> str:
    text = README.read_text()
    found = re.search(r"```sh\n(T=\.\.\..*?)```", text, re.S)
    assert found, "the README's curl block is gone"
    return found.group(1)


NEEDS = "needs curl and jq (apt-get install -y curl jq; .ci/run installs them)"


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason=NEEDS)
def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    env = defaults(tmp_path / "data")
    token = admin_token(env)
    node = Node(env, token)
    try:
        assert wait_until(node.ready, 60)
        script = quick_start_block()
        script = script.replace("T=...", f"T={token}", 1)
        script = script.replace("http://127.0.0.1:8000", node.url)
        script = script.replace("curl -N ", f"curl -N --max-time {STREAM_SECONDS} ")
        done = subprocess.run(
            ["bash", "-c", "set -u\n" + script], capture_output=True, text=True, timeout=60
        )
    finally:
        node.stop()
    out = done.stdout
    assert "command not found" not in done.stderr, done.stderr
    names = re.findall(r'^"([a-z0-9-]+)"$', out, re.M)
    assert names[:6] == sorted(names[:6]) and len(names) >= 6  # the demo fleet, by name
    answers = [json.loads(a) for a in re.findall(r'\{"worker_id":[^{}]*\}', out)]
    created, paused = answers[0], answers[1]
    assert set(created) == set(paused) == {"worker_id", "position", "correlation_id"}
    assert names[-1] in ("pending", "provisioning")  # the new worker, read back at once
    first, resumed = out.split("event: hello", 1)[1], out.rsplit("retry:", 1)[1]
    assert "event: worker.snapshot" in first
    assert "event: hello" not in resumed  # resuming replays the log, no fresh hello
    assert f'"subject":"{paused["worker_id"]}"' in resumed and "event: worker.paused" in resumed


def production_block() -> str:
    text = README.read_text().split("## Running in production", 1)[1]
    found = re.search(r"```sh\n(DATA=.*?)```", text, re.S)
    assert found, "the README's production block is gone"
    return found.group(1)


@pytest.mark.skipif(shutil.which("promtool") is None and not os.environ.get("CI"),
                    reason="promtool is not installed (apt-get install prometheus)")  # fmt: skip
def test_running_in_production_runs_as_written(tmp_path: Path) -> None:
    """Replayed in bash against a serving process, with only its data dir, the backup
    folders, its URL and an operator's token filled in."""
    env = defaults(tmp_path / "data")
    token = admin_token(env)
    node = Node(env, token)
    backups = tmp_path / "backups"
    backups.mkdir()
    try:
        assert wait_until(node.ready, 60)
        script = production_block()
        for written, here in (
            ("/var/lib/cml-fleet-restored", str(tmp_path / "restored")),
            ("/var/lib/cml-fleet", str(tmp_path / "data")),
            ("/var/backups/cml-fleet", str(backups)),
            ("http://127.0.0.1:8000", node.url),
            ("CML_FLEET_TOKEN=...", f"CML_FLEET_TOKEN={token}"),
        ):
            assert written in script
            script = script.replace(written, here)
        bin_dir = Path(sys.executable).parent
        shell_env = {k: v for k, v in os.environ.items() if not k.startswith("CML_FLEET_")}
        shell_env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
        done = subprocess.run(["bash", "-c", "set -eu -o pipefail\n" + script],
                              cwd=README.parent, env=shell_env, capture_output=True,
                              text=True, timeout=180)  # fmt: skip
    finally:
        node.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.match(r"cml-fleet \d+\.\d+\.\d+\n", out)
    assert "this release can serve it" in out and "read model at position" in out
    assert "SUCCESS" in out and "ccna-bootcamp" in out
    assert "pause ccna-bootcamp: accepted" in out
    assert len([x for x in out.splitlines() if re.match(r"^\d\d:\d\d:\d\d  worker\.", x)]) == 5
    assert (tmp_path / "restored" / "events.sqlite").exists()
