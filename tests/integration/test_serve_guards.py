"""``cml-fleet serve`` refuses what would go wrong later, with one clear line: a second
process on a SQLite data directory (two would both drive the cloud), and a port that
is taken (before anything is created on disk)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.integration.postgres_cluster import CLI, Node, cli, wait_until
from tests.integration.test_serve_modes import admin_token, defaults

WAIT = 60.0


def serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A serve that is expected to give up at once."""
    return subprocess.run(
        [*CLI, "serve", *args], env=env, capture_output=True, text=True, timeout=WAIT
    )


def test_a_second_process_on_the_same_sqlite_data_directory_is_refused(tmp_path: Path) -> None:
    env = defaults(tmp_path / "data")
    first = Node(env, admin_token(env))
    try:
        assert wait_until(first.ready, WAIT)
        pid = first.leadership()["this_process"]["pid"]

        second = serve(env, "--port", "0")

        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert str(tmp_path / "data") in lines[0] and f"pid {pid}" in lines[0]
        assert first.url in lines[0]
        assert "Traceback" not in second.stderr + second.stdout
        assert first.ready()  # the first goes on serving
    finally:
        first.stop()

    # Once the first has stopped, the directory can be served again.
    again = Node(env, admin_token(env))
    try:
        assert wait_until(again.ready, WAIT)
    finally:
        again.stop()


def test_a_port_in_use_is_one_clear_line_and_nothing_is_created(tmp_path: Path) -> None:
    data_dir = tmp_path / "never-made"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        refused = serve(defaults(data_dir), "--port", str(port))

    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0]
    assert "Traceback" not in refused.stderr
    assert not data_dir.exists()


def test_the_token_cli_still_works_beside_a_running_server(tmp_path: Path) -> None:
    env = defaults(tmp_path / "data")
    node = Node(env, admin_token(env))
    try:
        assert wait_until(node.ready, WAIT)
        made = cli(env, "token", "create", "--role", "viewer", "--name", "dash")
        assert made.returncode == 0, made.stderr
        token = made.stdout.split()[0]
        me = node.http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "viewer"
    finally:
        node.stop()


def guesses(node: Node, forwarded: bool) -> list[int]:
    """Eleven wrong tokens, each claiming another client address if ``forwarded``."""
    statuses = []
    for n in range(11):
        headers = {"Authorization": f"Bearer guess-{n}"}
        if forwarded:
            headers["X-Forwarded-For"] = f"198.51.100.{n}"
        statuses.append(node.http.get("/api/workers", headers=headers).status_code)
    return statuses


def test_a_forged_forwarded_address_does_not_escape_the_login_limit(tmp_path: Path) -> None:
    env = defaults(tmp_path / "data")
    node = Node(env, admin_token(env))
    try:
        assert wait_until(node.ready, WAIT)
        statuses = guesses(node, forwarded=True)
        valid = node.http.get("/api/workers")  # the admin's own token, same address
    finally:
        node.stop()
    assert statuses == [401] * 10 + [429]
    assert valid.status_code == 200


def test_a_configured_proxy_is_believed(tmp_path: Path) -> None:
    env = defaults(tmp_path / "data", trusted_proxies='["127.0.0.1"]')
    node = Node(env, admin_token(env))
    try:
        assert wait_until(node.ready, WAIT)
        statuses = guesses(node, forwarded=True)
    finally:
        node.stop()
    assert statuses == [401] * 11  # each from another client, as the proxy says
