"""PostgreSQL settings as an operator writes them: a DSN in either form, a schema name,
and clear words when the database is not there (no server needed)."""

from __future__ import annotations

import pytest

from infrastructure.shared.postgres.config import (
    PostgresNotConfigured,
    connection_kwargs,
    eventsourcing_env,
    pool_max_size,
)
from infrastructure.shared.settings import Settings
from infrastructure.wiring.cli import main


def pg(dsn: str | None, **more: object) -> Settings:
    return Settings(persistence="postgres", postgres_dsn=dsn, **more)  # type: ignore[arg-type]


def test_a_url_dsn_becomes_eventsourcings_environment() -> None:
    env = eventsourcing_env(pg("postgresql://fleet:s3cret@db.example.com:6543/cmlfleet"))

    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db.example.com", "6543")
    assert (env["POSTGRES_DBNAME"], env["POSTGRES_USER"]) == ("cmlfleet", "fleet")
    assert env["POSTGRES_PASSWORD"] == "s3cret"
    assert env["POSTGRES_SCHEMA"] == "cml_fleet"
    assert env["CREATE_TABLE"] == "false"  # the app never creates tables
    init_env = eventsourcing_env(pg("host=db dbname=f user=u"), create_tables=True)
    assert (init_env["POSTGRES_HOST"], init_env["CREATE_TABLE"]) == ("db", "true")


def test_the_pools_are_sized_for_the_thread_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "from-env")
    settings = pg("postgresql://u@h/d", thread_limit=8)
    env = eventsourcing_env(settings)

    size = int(env["POSTGRES_POOL_SIZE"]) + int(env["POSTGRES_MAX_OVERFLOW"])
    assert size == pool_max_size(settings) >= 8
    assert env["POSTGRES_PASSWORD"] == "from-env"  # libpq's variable, as psql would use it


def test_the_schema_must_be_a_plain_identifier() -> None:
    options = connection_kwargs(pg("postgresql://u@h/d", postgres_schema="fleet_a"))["options"]
    assert options == "-c search_path=fleet_a"
    with pytest.raises(PostgresNotConfigured, match="lower-case identifier"):
        connection_kwargs(pg("postgresql://u@h/d", postgres_schema="x; DROP TABLE y"))
    with pytest.raises(PostgresNotConfigured, match="CML_FLEET_POSTGRES_DSN"):
        eventsourcing_env(pg(None))


def test_an_unreachable_database_is_reported_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CML_FLEET_PERSISTENCE", "postgres")
    monkeypatch.setenv(
        "CML_FLEET_POSTGRES_DSN", "postgresql://ops:Hunter2-secret@127.0.0.1:9/cmlfleet"
    )

    code = main(["token", "list"])

    err = capsys.readouterr().err
    assert code == 2
    assert "cannot connect to PostgreSQL ops@127.0.0.1:9/cmlfleet" in err
    assert "Hunter2-secret" not in err
