"""Backup and restore (issue 19), as an operator runs them: ``cml-fleet backup`` of a
``cml-fleet serve`` at default settings while commands keep arriving, ``cml-fleet
restore`` into a new data dir, and a server on the restored dir. Every command
acknowledged before the backup began is in it; the restored read model is the one a
rebuild from the restored log makes; an SSE client resumes on the restored server by
Last-Event-ID without a gap; a damaged or later-release archive is refused."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from infrastructure.console.events import frames
from infrastructure.shared.settings import Settings
from infrastructure.store.upgrades import RELEASE_EVENTS
from infrastructure.wiring.bootstrap import bootstrap
from tests.integration.test_http_cli import STARTUP_TIMEOUT, Server

LOAD_LIMIT = 2_000  # commands at most (bounded)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CML_FLEET_")}
    return subprocess.run([sys.executable, "-m", "infrastructure.wiring.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def started(data_dir: Path, settings: dict[str, str]) -> tuple[Server, str]:
    server = Server(data_dir, settings)
    assert server.started.wait(STARTUP_TIMEOUT), "".join(server.logs)
    line = next(x for x in server.stdout if "cml-fleet is serving on" in x)
    return server, line.split("serving on ")[1].strip()


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[Server, str, str, Path]]:
    data = tmp_path / "data"
    data.mkdir()
    server, url = started(data, {})  # default settings: demo fleet, jobs, engine
    token = next(x for x in server.stdout if "/login?token=" in x).split("token=")[1].strip()
    try:
        yield server, url, token, data
    finally:
        server.close()


class Load:
    """Tag changes one after the other on every worker, each acknowledged answer kept."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        self.workers = [w["id"] for w in self.http.get("/api/workers").json()["items"]]
        self.acknowledged: list[tuple[str, str, int]] = []  # worker, value, position
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        for n in range(LOAD_LIMIT):
            if self.stop.is_set():
                return
            worker = self.workers[n % len(self.workers)]
            value = f"v{n}"
            answer = self.http.patch(f"/api/workers/{worker}/tags", json={"add": {"load": value}})
            assert answer.status_code == 200, answer.text
            self.acknowledged.append((worker, value, answer.json()["position"]))

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(30)
        self.http.close()

    def until(self, count: int) -> None:
        while len(self.acknowledged) < count and self.thread.is_alive():
            self.thread.join(0.01)


def quiet(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, demo_workers=0, scheduler_enabled=False,
                    operations_enabled=False)  # fmt: skip


def views(data_dir: Path) -> list[dict[str, Any]]:
    system = bootstrap(quiet(data_dir))
    try:
        system.read_model.catch_up()
        return [asdict(w) for w in system.read_model.all_workers(include_terminated=True)]
    finally:
        system.close()


def test_a_backup_under_load_holds_every_acknowledged_command_and_a_true_read_model(
    serving: tuple[Server, str, str, Path], tmp_path: Path
) -> None:
    _, url, token, data = serving
    load = Load(url, token)
    load.thread.start()
    load.until(50)
    before = list(load.acknowledged)  # acknowledged before the backup began
    made = cli("backup", str(tmp_path / "fleet.tar.gz"), "--data-dir", str(data))
    during = len(load.acknowledged) - len(before)
    load.finish()
    assert made.returncode == 0, made.stderr
    assert during > 0, "no command arrived while the backup ran"

    restored = tmp_path / "restored"
    back = cli("restore", str(tmp_path / "fleet.tar.gz"), "--data-dir", str(restored))
    assert back.returncode == 0, back.stderr
    last = int(back.stdout.split("read model at position ")[1].split()[0].replace(",", ""))
    assert f"of {last:,}" in back.stdout  # caught up to the end of the restored log

    system = bootstrap(quiet(restored))
    try:
        for worker, value, position in before:
            assert position <= last
            (event,) = system.store.read_log(position - 1, 1)
            assert str(event.originator_id) == worker and value.encode() in event.state
    finally:
        system.close()

    kept = views(restored)
    rebuilt_dir = tmp_path / "rebuilt"
    shutil.copytree(restored, rebuilt_dir)
    (rebuilt_dir / "readmodel.sqlite").unlink()
    assert kept == views(rebuilt_dir) and len(kept) == 6


def test_a_restored_server_resumes_an_sse_client_without_a_gap(
    serving: tuple[Server, str, str, Path], tmp_path: Path
) -> None:
    server, url, token, data = serving
    load = Load(url, token)
    load.thread.start()
    load.until(30)
    load.finish()
    assert cli("backup", str(tmp_path / "b.tar.gz"), "--data-dir", str(data)).returncode == 0
    server.close()
    restored = tmp_path / "restored"
    back = cli("restore", str(tmp_path / "b.tar.gz"), "--data-dir", str(restored))
    assert back.returncode == 0, back.stderr
    end = int(back.stdout.split("read model at position ")[1].split()[0].replace(",", ""))

    again, again_url = started(restored, {"CML_FLEET_SCHEDULER_ENABLED": "false"})
    headers = {"Authorization": f"Bearer {token}"}  # the tokens came back too
    http = httpx.Client(base_url=again_url, headers=headers, timeout=10)
    try:
        resume_from = load.acknowledged[-1][2] - 20  # the end of the restored log is later
        ids: list[int] = []
        with http.stream("GET", "/api/events", headers={"Last-Event-ID": str(resume_from)},
                         timeout=httpx.Timeout(10, read=10)) as stream:  # fmt: skip
            lines = stream.iter_lines()
            for _, sse_id, _ in frames(lines):
                if sse_id is not None:
                    ids.append(int(sse_id))
                if ids and ids[-1] == end:
                    worker = load.workers[0]
                    changed = http.patch(f"/api/workers/{worker}/tags", json={"add": {"x": "y"}})
                    assert changed.status_code == 200
                if ids and ids[-1] > end:
                    break
        assert ids == list(range(resume_from + 1, ids[-1] + 1))  # no gap, no repeat
        assert ids[-1] == end + 1  # the live change follows the replayed ones
    finally:
        http.close()
        again.close()


def test_a_damaged_or_later_archive_is_refused_and_changes_nothing(
    serving: tuple[Server, str, str, Path], tmp_path: Path
) -> None:
    _, _, _, data = serving
    good = tmp_path / "good.tar.gz"
    assert cli("backup", str(good), "--data-dir", str(data)).returncode == 0
    with tarfile.open(good, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    manifest = json.loads(files["manifest.json"])

    def archive(name: str, changed: dict[str, bytes]) -> Path:
        path = tmp_path / name
        with tarfile.open(path, "w:gz") as tar:
            for member, content in (files | changed).items():
                info = tarfile.TarInfo(member)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        return path

    flipped = bytearray(files["events.sqlite"])
    flipped[len(flipped) // 2] ^= 0xFF
    later = manifest | {"event_versions": {**manifest["event_versions"],
                                           next(iter(RELEASE_EVENTS)): 99}}  # fmt: skip
    newer_format = json.dumps(manifest | {"format": 2}).encode()
    cases = {
        "a changed byte": (archive("flip.tar.gz", {"events.sqlite": bytes(flipped)}),
                           "events.sqlite is damaged"),
        "a later release": (archive("later.tar.gz", {"manifest.json": json.dumps(later).encode()}),
                            "this release cannot read"),
        "a newer format": (archive("fmt.tar.gz", {"manifest.json": newer_format}),
                           "backup format 2 is newer"),
        "a stranger file": (archive("extra.tar.gz", {"notes.txt": b"hi"}),
                            "files its manifest does not list"),
        "a cut archive": (_cut(good, tmp_path / "cut.tar.gz"), "damaged"),
        "not a backup": (_not_tar(tmp_path / "plain.tar.gz"), "not a cml-fleet backup"),
    }  # fmt: skip
    for why, (path, said) in cases.items():
        target = tmp_path / f"into-{path.stem}"
        done = cli("restore", str(path), "--data-dir", str(target))
        assert done.returncode == 1, why
        assert said in done.stderr, (why, done.stderr)
        assert not (target / "events.sqlite").exists(), why
        assert not target.exists() or not any(target.iterdir()), why


def _cut(good: Path, path: Path) -> Path:
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def _not_tar(path: Path) -> Path:
    path.write_bytes(gzip.compress(b"just some text"))
    return path
