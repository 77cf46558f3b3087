"""The API document is exact: schemathesis, with **all** its checks, against a real
``cml-fleet serve`` process at default settings (the demo fleet included). Any finding
fails the test: a status, header, content type or body the document does not declare; a
request the document calls valid that is refused, or one it calls invalid that is
accepted; a 5xx; an operation that answers without credentials.

Two things are set for the run, each because a rule of the server would otherwise be
the finding: the failed-login limiter is raised (the auth checks send many bad tokens
from one address and expect 401, not the limiter's 429), and Idempotency-Key values
are made unique per request (``tests/schemathesis_hooks.py`` says why). The event
stream is left out: a valid request streams until the client leaves (its contract is
tested in tests/integration/test_sse_*.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.integration.postgres_cluster import Node, wait_until
from tests.integration.test_serve_modes import READY, admin_token, defaults

ROOT = Path(__file__).parents[2]
ST = Path(sys.executable).with_name("st")
EXAMPLES = os.environ.get("CML_FLEET_CONFORMANCE_EXAMPLES", "15")
MAX_SECONDS = os.environ.get("CML_FLEET_CONFORMANCE_SECONDS", "240")
SEED = os.environ.get("CML_FLEET_CONFORMANCE_SEED", "20261204")


def schemathesis_run(url: str, token: str) -> list[str]:
    return [
        str(ST), "--no-color", "run", f"{url}/api/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--max-examples", EXAMPLES,
        "--max-time", MAX_SECONDS,
        "--exclude-path", "/api/events",
        "--workers", "2",
        "--seed", SEED,
        "--generation-database", "none",
    ]  # fmt: skip


def test_schemathesis_with_all_checks_finds_nothing(tmp_path: Path) -> None:
    env = defaults(tmp_path / "data", login_failures_per_minute="1000000")
    token = admin_token(env)
    node = Node(env, token, log=tmp_path / "serve.log")
    try:
        assert wait_until(node.ready, READY)
        run = subprocess.run(
            schemathesis_run(node.url, token),
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
                "PYTHONPATH": str(ROOT),
            },
            cwd=tmp_path,  # its cache of findings stays out of the checkout
            capture_output=True,
            text=True,
            timeout=int(MAX_SECONDS) + 300,
        )
    finally:
        node.stop()
    report = run.stdout[-20000:] + run.stderr[-3000:]
    assert run.returncode == 0, report
    assert "Failures:" not in run.stdout and "Errors:" not in run.stdout, report
    selected, total = map(int, re.findall(r"(\d+) selected / (\d+) total", run.stdout)[0])
    assert selected == total - 1, report  # every operation but the stream
    assert f"Tested: {selected}" in run.stdout, report
