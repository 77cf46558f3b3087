"""The dependency audit end to end: the real pip-audit against a local stand-in for the OSV API.

Only 127.0.0.1 is used: the stand-in answers OSV's query format, or its port is closed.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tools.dep_audit import main

pytest.importorskip("pip_audit", reason="pip-audit is a dev dependency: run `make install`")

# One OSV advisory, in the shape api.osv.dev returns, for jinja2 3.1.2 only.
ADVISORY = {
    "id": "GHSA-h5c8-rqwp-cp95",
    "aliases": ["CVE-2024-22195"],
    "summary": "Jinja vulnerable to HTML attribute injection",
    "affected": [
        {
            "package": {"name": "jinja2", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.3"}]}],
        }
    ],
}


class FakeOsv(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        affected = query["package"]["name"] == "jinja2" and query["version"] == "3.1.2"
        body = json.dumps({"vulns": [ADVISORY]} if affected else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def osv_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/query"


def lock_file(tmp_path: Path, *pins: str) -> str:
    path = tmp_path / "requirements.lock"
    path.write_text("\n".join(pins) + "\n")
    return str(path)


def audit(lock: str, url: str) -> list[str]:
    return ["--lock", lock, "--service", "osv", "--osv-url", url, "--timeout", "5"]


def test_a_vulnerable_pin_fails_the_audit_and_names_the_advisory(
    tmp_path: Path, osv_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = lock_file(tmp_path, "jinja2==3.1.2", "anyio==4.16.0")

    assert main(audit(lock, osv_url)) == 1
    assert capsys.readouterr().out.splitlines() == [
        "dependency audit FAILED: 1 known vulnerability (osv):",
        "  jinja2 3.1.2: CVE-2024-22195 (GHSA-h5c8-rqwp-cp95), fixed in 3.1.3",
    ]


def test_clean_pins_pass(tmp_path: Path, osv_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    lock = lock_file(tmp_path, "jinja2==3.1.6", "anyio==4.16.0")

    assert main(audit(lock, osv_url)) == 0
    assert capsys.readouterr().out.splitlines() == [
        "dependency audit passed: no known vulnerabilities in 2 locked packages (osv)"
    ]


def test_an_unreachable_service_is_reported_as_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = lock_file(tmp_path, "jinja2==3.1.2")

    assert main(audit(lock, closed_port_url())) == 0
    assert capsys.readouterr().out.splitlines() == [
        "dependency audit NOT RUN: no vulnerability service reachable (osv: connection refused)"
    ]


def test_a_malformed_lock_fails_instead_of_passing(
    tmp_path: Path, osv_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = lock_file(tmp_path, "jinja2>=3")  # not pinned: pip-audit refuses it with --no-deps

    assert main(audit(lock, osv_url)) == 2
    assert capsys.readouterr().out.startswith("dependency audit ERROR (osv): pip-audit exited 1:")
