"""The Prometheus alert rules (issue 19): ``promtool check rules`` accepts them,
``promtool test rules`` runs their unit tests (each alert fires when it should, not
before), and every metric they read is one a real ``cml-fleet serve`` exposes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.test_http_cli import STARTUP_TIMEOUT, Server

RULES = Path(__file__).parents[2] / "deploy" / "prometheus"


def promtool(*args: str, cwd: Path = RULES) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: apt-get install prometheus")
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_promtool_checks_the_rules() -> None:
    done = promtool("check", "rules", "cml-fleet.rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 14 rules found" in done.stdout


def test_promtool_unit_tests_pass_and_can_fail(tmp_path: Path) -> None:
    done = promtool("test", "rules", "cml-fleet.rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr

    # A budget alert at 90 % instead of 80 %: the unit tests catch it.
    for name in ("cml-fleet.rules.yml", "cml-fleet.rules.test.yml"):
        shutil.copy(RULES / name, tmp_path / name)
    rules = tmp_path / "cml-fleet.rules.yml"
    rules.write_text(rules.read_text().replace("spend_ratio >= 0.8 and", "spend_ratio >= 0.9 and"))
    broken = promtool("test", "rules", "cml-fleet.rules.test.yml", cwd=tmp_path)
    assert broken.returncode != 0 and "CmlFleetBudgetThreshold" in broken.stdout + broken.stderr


def test_every_metric_the_rules_read_is_exposed_by_a_real_server(tmp_path: Path) -> None:
    used = set(re.findall(r"\b(cml_fleet_[a-z_]+)", (RULES / "cml-fleet.rules.yml").read_text()))
    server = Server(tmp_path, {})  # default settings: demo fleet, jobs
    try:
        assert server.started.wait(STARTUP_TIMEOUT), "".join(server.logs)
        url = next(x for x in server.stdout if "/login?token=" in x).strip()
        base, token = url.split("/login")[0], url.split("token=")[1]
        headers = {"Authorization": f"Bearer {token}"}
        budget = {"amount": 100.0, "scope": "fleet"}
        assert httpx.put(f"{base}/api/budgets/lab", json=budget, headers=headers).is_success
        text = httpx.get(f"{base}/metrics", headers=headers).text
    finally:
        server.close()
    exposed = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))  # as series are named
    assert used and used <= exposed, used - exposed
    assert 'cml_fleet_budget_spend_ratio{budget="lab",scope="fleet"}' in text
    assert re.search(r'cml_fleet_workers_by_license\{status="registered"\} \d', text)
