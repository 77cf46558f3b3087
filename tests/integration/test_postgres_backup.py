"""The PostgreSQL backup recipe of notes/DEPLOYMENT.md, run as written (issue 19):
pg_dump of a database that is being written to, pg_restore into an empty one, and
``cml-fleet db check`` on it; the restored store serves the same workers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from application.commands.lifecycle import CreateWorker, create_worker
from application.commands.settings import ChangeTags, change_tags
from infrastructure.wiring.bootstrap import bootstrap
from tests.postgres_support import fresh_database, pg_settings

pytestmark = pytest.mark.postgres
DEPLOYMENT = Path(__file__).parents[2] / "notes" / "DEPLOYMENT.md"


def recipe() -> list[str]:
    """The commands of the PostgreSQL part of the backup section, in order."""
    text = DEPLOYMENT.read_text().split("**PostgreSQL.**", 1)[1].split("\n\nBefore", 1)[0]
    return [line.strip() for line in text.splitlines() if line.startswith("    ")]


def views(settings: Any) -> list[dict[str, Any]]:
    system = bootstrap(settings)
    try:
        system.read_model.catch_up()
        return [asdict(w) for w in system.read_model.all_workers(include_terminated=True)]
    finally:
        system.close()


def test_the_documented_pg_dump_recipe_restores_a_store_this_release_serves(
    pg_dsn: str, tmp_path: Path
) -> None:
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is missing: apt-get install postgresql-client")
    settings = pg_settings(pg_dsn, tmp_path / "a")
    system = bootstrap(settings)
    workers = [
        create_worker(CreateWorker(f"w{n}", "eu-west-1", "m5.xlarge", "ada", f"c{n}",
                                   ami_id="ami-0123456789abcdef0"), system.store).worker_id
        for n in range(5)
    ]  # fmt: skip
    stop = threading.Event()

    def write() -> None:  # the dump runs while commands keep coming
        n = 0
        while not stop.is_set() and n < 2_000:
            change_tags(ChangeTags(workers[n % 5], "ada", f"t{n}", add={"n": str(n)}), system.store)
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    commands = recipe()
    assert [c.split()[0] for c in commands] == ["pg_dump", "pg_restore",
                                                "CML_FLEET_PERSISTENCE=postgres"]  # fmt: skip
    with fresh_database() as new_dsn:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CML_FLEET_")} | {
            "CML_FLEET_POSTGRES_DSN": pg_dsn,
            "NEW_POSTGRES_DSN": new_dsn,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        try:
            for command in commands:
                done = subprocess.run(
                    ["bash", "-c", command], cwd=tmp_path, env=env,
                    capture_output=True, text=True, timeout=120, check=False,
                )  # fmt: skip
                assert done.returncode == 0, (command, done.stderr)
        finally:
            stop.set()
            writer.join(30)
            system.close()
        assert "this release can serve it" in done.stdout
        events = int(re.search(r"events: ([\d,]+)", done.stdout)[1].replace(",", ""))  # type: ignore[index]
        assert events > 5  # some of the writes, all consistent

        restored = views(pg_settings(new_dsn, tmp_path / "b"))
        assert sorted(w["name"] for w in restored) == [f"w{n}" for n in range(5)]
        rebuilt_settings = pg_settings(new_dsn, tmp_path / "c")
        system = bootstrap(rebuilt_settings)
        try:
            system.read_model.rebuild()
        finally:
            system.close()
        assert views(rebuilt_settings) == restored
