"""The schema is created once, explicitly (``cml-fleet db init``, safe to repeat); the server
then runs as a role without DDL rights, and says what to do when the schema is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from starlette.testclient import TestClient

from infrastructure.http.access.auth import Role
from infrastructure.http.app import create_app
from infrastructure.wiring.bootstrap import bootstrap
from infrastructure.wiring.cli import main
from tests.fakes.instances import import_body, launch_in
from tests.postgres_support import pg_settings

pytestmark = pytest.mark.postgres


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_init_creates_every_table_and_can_run_again(
    pg_empty_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run(capsys, "db", "init", "--dsn", pg_empty_dsn)
    again = run(capsys, "db", "init", "--dsn", pg_empty_dsn)

    assert first[0] == again[0] == 0
    assert "cmlfleet_events" in first[1] and "workers" in first[1] and "leader_terms" in first[1]
    with psycopg.connect(pg_empty_dsn) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'cml_fleet'"
        ).fetchone()
    assert tables is not None and tables[0] >= 14


def test_the_server_without_a_schema_says_to_run_db_init(
    pg_empty_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("CML_FLEET_PERSISTENCE", "postgres")
    monkeypatch.setenv("CML_FLEET_POSTGRES_DSN", pg_empty_dsn)
    monkeypatch.setenv("CML_FLEET_DATA_DIR", str(tmp_path))

    code, _, err = run(capsys, "token", "list")

    assert code == 2
    assert "cml-fleet db init" in err and "workers" in err
    with psycopg.connect(pg_empty_dsn) as conn:  # and it created nothing itself
        schema = conn.execute("SELECT to_regnamespace('cml_fleet')").fetchone()
    assert schema == (None,)


def test_db_init_needs_a_database_to_talk_to(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CML_FLEET_POSTGRES_DSN", raising=False)
    code, _, err = run(capsys, "db", "init")
    assert code == 2 and "CML_FLEET_POSTGRES_DSN" in err


@pytest.fixture
def app_role(pg_dsn: str) -> Iterator[str]:
    """A role that may read and write the tables, and nothing more: the app's DSN."""
    role = f"cmlfleet_app_{uuid4().hex[:8]}"
    grants = [
        "CREATE ROLE {role} LOGIN",
        "GRANT USAGE ON SCHEMA cml_fleet TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA cml_fleet TO {role}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA cml_fleet TO {role}",
    ]
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for grant in grants:
            conn.execute(sql.SQL(grant).format(role=sql.Identifier(role)))
    try:
        yield make_conninfo(pg_dsn, user=role)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_the_app_runs_without_ddl_rights(app_role: str, tmp_path: Path) -> None:
    with psycopg.connect(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("CREATE TABLE cml_fleet.not_allowed (x int)")

    system = bootstrap(pg_settings(app_role, tmp_path))
    admin = {"Authorization": f"Bearer {system.auth.create_token(Role.ADMIN, 'ada')}"}
    try:
        with TestClient(create_app(system)) as client:  # leader election, LISTEN, follower
            body = import_body(launch_in(system), name="w1")
            answer = client.post("/api/workers/import", json=body, headers=admin)
            assert answer.status_code == 200, answer.text
            done = answer.json()
            read = client.get(
                f"/api/workers/{done['worker_id']}?min_position={done['position']}",
                headers=admin,
            )
            leadership = client.get("/api/admin/leader", headers=admin).json()
    finally:
        system.close()

    assert read.status_code == 200 and read.json()["name"] == "w1"
    assert leadership["this_process_leads"] is True
