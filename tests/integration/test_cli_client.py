"""The command line for the daily work, as an operator runs it (issue 19): a real
``cml-fleet serve`` at default settings with its demo fleet, and ``cml-fleet workers …``,
``events tail`` and ``completion`` run as processes, with the exit codes scripts test."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infrastructure.console.api import DENIED, REFUSED, UNREACHABLE, USAGE
from infrastructure.console.commands import release
from infrastructure.wiring.cli import _parser
from tests.integration.test_http_cli import STARTUP_TIMEOUT, Server

MARKUP = re.compile(r"``|:func:|:class:|:mod:|:meth:|\*\*")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A server at default settings (its demo fleet), and the environment to reach it."""
    server = Server(tmp_path, {})
    try:
        assert server.started.wait(STARTUP_TIMEOUT), "".join(server.logs)
        url = next(line.strip() for line in server.stdout if "/login?token=" in line)
        home = tmp_path / "home"
        home.mkdir()
        yield {"CML_FLEET_URL": url.split("/login")[0], "CML_FLEET_TOKEN": url.split("=")[1],
               "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}  # fmt: skip
    finally:
        server.close()


def cli(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CML_FLEET_")}
    return subprocess.run(
        [sys.executable, "-m", "infrastructure.wiring.cli", *args],
        env=clean | env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def api(env: dict[str, str], method: str, path: str) -> Any:
    headers = {"Authorization": f"Bearer {env['CML_FLEET_TOKEN']}"}
    answer = httpx.request(method, env["CML_FLEET_URL"] + path, headers=headers)
    assert answer.is_success, answer.text
    return answer.json()


def test_version_and_help_speak_plainly() -> None:
    done = cli({}, "--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"cml-fleet {release()}")
    assert re.fullmatch(r"\d+\.\d+\.\d+", release())

    def helps(parser: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        for action in parser._actions:
            for name, child in getattr(action, "_name_parser_map", {}).items():
                yield from helps(child, [*path, name])

    paths = list(helps(_parser(), []))
    assert (
        ["workers", "pause"] in paths and ["events", "tail"] in paths and ["db", "check"] in paths
    )
    for path in paths:
        with contextlib.redirect_stdout(io.StringIO()) as shown, pytest.raises(SystemExit) as end:
            _parser().parse_args([*path, "--help"])
        assert end.value.code == 0
        assert not MARKUP.search(shown.getvalue()), (path, MARKUP.search(shown.getvalue()))


def test_workers_are_listed_shown_and_acted_on_with_exit_codes_for_scripts(
    fleet: dict[str, str],
) -> None:
    listed = cli(fleet, "workers", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    workers = json.loads(listed.stdout)
    names = sorted(w["name"] for w in api(fleet, "GET", "/api/workers")["items"])
    assert sorted(w["name"] for w in workers) == names and len(names) == 6
    table = cli(fleet, "workers", "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "REGION", "TYPE", "INSTANCE", "ID"]
    assert [line.split()[0] for line in table[1:]] == names

    running = next(w for w in workers if w["status"] == "running")
    by_name = json.loads(cli(fleet, "workers", "show", running["name"], "--json").stdout)
    by_id = cli(fleet, "workers", "show", running["id"])
    assert by_name["id"] == running["id"]
    assert f"status{' ' * 10}" in by_id.stdout or "status " in by_id.stdout
    assert running["name"] in by_id.stdout

    paused = cli(fleet, "workers", "pause", running["name"])
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith(f"pause {running['name']}: accepted (position ")
    history = api(fleet, "GET", f"/api/workers/{running['id']}/history")["items"]
    assert any(e["type"] == "worker.paused" and e["actor"] == "admin" for e in history)
    again = cli(fleet, "workers", "pause", running["name"])
    assert again.returncode == REFUSED and "409 Conflict: cannot pause" in again.stderr

    missing = cli(fleet, "workers", "show", "no-such-worker")
    assert missing.returncode == REFUSED and "no worker named 'no-such-worker'" in missing.stderr
    bad = cli({**fleet, "CML_FLEET_TOKEN": "not-a-token"}, "workers", "list")
    assert bad.returncode == DENIED and "401" in bad.stderr
    gone = cli({**fleet, "CML_FLEET_URL": "http://127.0.0.1:9"}, "workers", "list")
    assert gone.returncode == UNREACHABLE and "cannot reach http://127.0.0.1:9" in gone.stderr
    nothing = cli({"HOME": fleet["HOME"], "XDG_CONFIG_HOME": fleet["XDG_CONFIG_HOME"]},
                  "workers", "list")  # fmt: skip
    assert nothing.returncode == USAGE and "CML_FLEET_URL" in nothing.stderr
    assert "not-a-token" not in bad.stderr + bad.stdout


def test_a_viewer_token_is_refused_a_command(fleet: dict[str, str], tmp_path: Path) -> None:
    made = cli({}, "token", "create", "--role", "viewer", "--data-dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    viewer = {**fleet, "CML_FLEET_TOKEN": made.stdout.strip()}
    assert cli(viewer, "workers", "list").returncode == 0
    refused = cli(viewer, "workers", "stop", "ccna-bootcamp")
    assert refused.returncode == DENIED and "403" in refused.stderr


def test_the_config_file_is_read_only_when_others_cannot_read_its_token(
    fleet: dict[str, str],
) -> None:
    config = Path(fleet["XDG_CONFIG_HOME"]) / "cml-fleet" / "cli.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'url = "{fleet["CML_FLEET_URL"]}"\ntoken = "{fleet["CML_FLEET_TOKEN"]}"\n')
    config.chmod(0o644)
    only_home = {"HOME": fleet["HOME"], "XDG_CONFIG_HOME": fleet["XDG_CONFIG_HOME"]}
    open_to_all = cli(only_home, "workers", "list")
    assert open_to_all.returncode == USAGE and f"chmod 600 {config}" in open_to_all.stderr
    config.chmod(0o600)
    assert cli(only_home, "workers", "list").returncode == 0


def test_events_tail_prints_what_happens_and_resumes_from_an_id(fleet: dict[str, str]) -> None:
    workers = api(fleet, "GET", "/api/workers?status=running")["items"]
    first, second = workers[0], workers[1]
    tail = subprocess.Popen(
        [sys.executable, "-m", "infrastructure.wiring.cli", "events", "tail",
         "--type", "worker.stop", "--count", "2"],
        env={k: v for k, v in os.environ.items() if not k.startswith("CML_FLEET_")} | fleet,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    hello = threading.Event()
    errors: list[str] = []

    def read_err() -> None:
        for line in tail.stderr:  # type: ignore[union-attr]
            errors.append(line)
            if line.startswith("(hello"):
                hello.set()

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    assert hello.wait(20), errors
    for worker in (first, second):
        assert cli(fleet, "workers", "stop", worker["id"]).returncode == 0
    out, _ = tail.communicate(timeout=20)
    lines = out.splitlines()
    assert tail.returncode == 0 and len(lines) == 2, (out, errors)
    for line, worker in zip(lines, (first, second), strict=True):
        assert re.match(r"^\d\d:\d\d:\d\d  worker\.stop\.requested  ", line), line
        assert "by admin" in line and worker["id"][:8] in line

    replay = cli(fleet, "events", "tail", "--since", "0", "--count", "3", "--json")
    envelopes = [json.loads(line) for line in replay.stdout.splitlines()]
    assert replay.returncode == 0 and [e["id"] for e in envelopes] == ["1", "2", "3"]
    assert all(e["specversion"] == "1.0" for e in envelopes)


def test_completion_knows_the_commands_and_their_options() -> None:
    script = cli({}, "completion", "bash").stdout

    def complete(*words: str) -> list[str]:
        line = " ".join(words)
        program = (f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _cml_fleet; "
                   'echo "${COMPREPLY[@]}"')  # fmt: skip
        done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
        return done.stdout.split()

    assert complete("cml-fleet", "wor") == ["workers"]
    assert complete("cml-fleet", "workers", "pa") == ["pause"]
    assert "--json" in complete("cml-fleet", "workers", "list", "--")
    assert complete("cml-fleet", "events", "tail", "--co") == ["--count"]
    assert cli({}, "completion", "zsh").stdout.startswith("autoload -U +X bashcompinit")
