"""``make sso-demo`` (notes/SSO.md) as a new user runs it: the test provider and a real
``cml-fleet serve``, the demo fleet split between two teams."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.oidc_harness import free_port, need_node

ROOT = Path(__file__).resolve().parents[2]


def test_the_sso_demo_serves_single_sign_on_with_two_teams(tmp_path: Path) -> None:
    need_node()
    port, provider_port = free_port(), free_port()
    command = [sys.executable, "-m", "tools.sso_demo", "--port", str(port)]
    command += ["--provider-port", str(provider_port), "--data-dir", str(tmp_path)]
    demo = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:  # ends when the demo says it is ready (or dies)
            lines.append(line)
            if "Ctrl-C stops it." in line:
                break
        output = "".join(lines)
        assert f"is ready: open http://127.0.0.1:{port}" in output, output
        site = f"http://127.0.0.1:{port}"

        page = httpx.get(f"{site}/login")
        assert "Sign in with the test provider" in page.text
        start = httpx.get(f"{site}/auth/login")
        assert start.status_code == 303
        assert start.headers["location"].startswith(f"http://127.0.0.1:{provider_port}/auth?")
        assert "code_challenge_method=S256" in start.headers["location"]

        # An API client of team red (the provider's robot-olga) sees red's half only.
        token = httpx.post(
            f"http://127.0.0.1:{provider_port}/token",
            data={"grant_type": "client_credentials", "scope": "openid"},
            auth=("robot-olga", "robot-olga-secret"),
        ).json()["access_token"]
        seen = httpx.get(f"{site}/api/workers", headers={"Authorization": f"Bearer {token}"})
        teams = {w["team"] for w in seen.json()["items"]}
        assert seen.status_code == 200 and teams == {"red"}
        assert seen.json()["total"] == 3  # the demo fleet's six workers, split in two
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(30)
        if demo.stdout is not None:
            demo.stdout.close()
