"""Upgrades (issue 19): this release serves a log written by the previous one.

``tests/fixtures/release-0.1.0/events.sqlite`` was written by release 0.1.0, when
``worker.notice.posted`` had no ``lead_minutes``; this release reads its events (the old
version upcast on read), rebuilds the read model from them, and writes the new version
beside them. ``cml-fleet db check`` says what a store holds and refuses one a later
release wrote."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from application.commands.lifecycle import CreateWorker, create_worker
from application.commands.settings import RecordNotice, record_notice
from application.history import GetWorkerHistory, get_worker_history
from application.queries import ListWorkers
from infrastructure.shared.postgres.config import schema_of
from infrastructure.shared.settings import Settings
from infrastructure.wiring.bootstrap import bootstrap
from infrastructure.wiring.cli import main
from tests.postgres_support import pg_settings

FIXTURE = Path(__file__).parents[1] / "fixtures" / "release-0.1.0" / "events.sqlite"


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE, data / "events.sqlite")
    return data


def check(capsys: pytest.CaptureFixture[str], data: Path) -> tuple[int, str]:
    code = main(["db", "check", "--data-dir", str(data)])
    return code, capsys.readouterr().out


def test_a_log_of_the_previous_release_is_checked_read_and_rebuilt(
    old_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = check(capsys, old_store)
    assert code == 0, report
    assert "events: 19 (last position 19)" in report
    assert "upgraded on read: 1 NoticePosted events of version 1" in report
    assert report.rstrip().endswith("this release can serve it")

    settings = Settings(data_dir=old_store, demo_workers=0, scheduler_enabled=False,
                        operations_enabled=False)  # fmt: skip
    system = bootstrap(settings)
    try:
        system.read_model.catch_up()
        page = system.read_model.list_workers(ListWorkers(limit=10))
        by_name = {w.name: w for w in page.items}
        assert sorted(by_name) == ["ccna-class", "evpn-lab", "ospf-study"]
        assert (
            by_name["ccna-class"].team == "red" and by_name["ccna-class"].status == "starting"
        )  # resumed
        assert by_name["evpn-lab"].status == "stopping"
        assert by_name["ospf-study"].status == "terminating"
        assert by_name["evpn-lab"].notice_down_at is not None

        worker = UUID(by_name["evpn-lab"].id)
        history = get_worker_history(GetWorkerHistory(worker), system.store).items
        (notice,) = [n for n in history if n.type == "worker.notice.posted"]
        assert notice.payload["lead_minutes"] == 10  # from when release 0.1 recorded it

        # This release writes version 2 beside the old events.
        down_at = datetime.now(UTC) + timedelta(minutes=25)
        done = record_notice(RecordNotice(UUID(by_name["ccna-class"].id), "job:idle", "n2",
                                          action="pause", down_at=down_at, notice_id="n-2",
                                          lead_minutes=7), system.store)  # fmt: skip
        assert done.position == 20
    finally:
        system.close()
    code, report = check(capsys, old_store)
    assert code == 0 and "events: 20 (last position 20)" in report
    assert "upgraded on read: 1 NoticePosted events of version 1" in report  # still one old
    with sqlite3.connect(old_store / "events.sqlite") as conn:
        (state,) = conn.execute("SELECT state FROM stored_events WHERE rowid = 20").fetchone()
    assert json.loads(state)["class_version"] == 2


@pytest.mark.parametrize(
    ("topic", "version", "said"),
    [
        ("cml-fleet:CMLWorker.NoticePosted", 3, "CMLWorker.NoticePosted version 3 is newer"),
        ("cml-fleet:CMLWorker.Teleported", 1, "unknown event type cml-fleet:CMLWorker.Teleported"),
    ],
)
def test_a_store_a_later_release_wrote_is_refused_with_the_reason(
    old_store: Path, capsys: pytest.CaptureFixture[str], topic: str, version: int, said: str
) -> None:
    with sqlite3.connect(old_store / "events.sqlite") as conn:
        row = conn.execute("SELECT originator_id FROM stored_events LIMIT 1").fetchone()
        state = json.dumps({"class_version": version, "actor": "later"}).encode()
        conn.execute("INSERT INTO stored_events VALUES (?, 99, ?, ?)", (row[0], topic, state))
    conn.close()

    code, report = check(capsys, old_store)

    assert code == 1
    assert said in report and "this release cannot serve it" in report


def test_db_check_says_when_there_is_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "check", "--data-dir", str(tmp_path / "none")]) == 2
    assert "no event store in" in capsys.readouterr().err


@pytest.mark.postgres
def test_db_check_on_postgresql_reads_the_log_and_the_schema_version(
    pg_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = pg_settings(pg_dsn, tmp_path)
    system = bootstrap(settings)
    try:
        create_worker(CreateWorker("one", "eu-west-1", "m5.xlarge", "ada", "c",
                                   ami_id="ami-0123456789abcdef0"), system.store)  # fmt: skip
    finally:
        system.close()
    env = {"CML_FLEET_PERSISTENCE": "postgres", "CML_FLEET_POSTGRES_DSN": pg_dsn}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        assert main(["db", "check"]) == 0
        report = capsys.readouterr().out
        assert "PostgreSQL, schema" in report and "events: 1 (last position 1)" in report
        assert report.rstrip().endswith("this release can serve it")

        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f"UPDATE {schema_of(settings)}.schema_meta SET value = '99' "
                         "WHERE key = 'schema_version'")  # fmt: skip
        assert main(["db", "check"]) == 1
        report = capsys.readouterr().out
        assert "schema version 99, expected" in report and "cannot serve it" in report
