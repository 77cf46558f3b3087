"""The fleet's schedules (``application.schedules.ScheduleStore``): SQLite
(``schedules.sqlite`` in the data dir, or memory) or PostgreSQL tables every process
shares. Configuration, not observations: keep it in backups like the event store."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from application.schedules import schedule_from, schedule_json
from domain.schedules import Schedule
from infrastructure.shared.schedule_tables import SCHEMA
from infrastructure.shared.settings import Settings
from infrastructure.store.sqlite_file import SqliteFile

FILE_NAME = "schedules.sqlite"


class SqlScheduleStore(ABC):
    """The store's behaviour on any SQL database (``_sql``, ``_transaction`` and
    ``close`` come from ``SqliteFile`` or ``PgTables``)."""

    @abstractmethod
    def _transaction(self) -> Any: ...

    @abstractmethod
    def _sql(self, text: str) -> str: ...

    @abstractmethod
    def close(self) -> None: ...

    def put(self, schedule: Schedule, actor: str) -> bool:
        body = json.dumps(schedule_json(schedule))
        with self._transaction() as db:
            found = db.execute(
                self._sql("SELECT 1 FROM schedules WHERE name = ?"), (schedule.name,)
            ).fetchall()
            db.execute(
                self._sql(
                    "INSERT INTO schedules (name, body, changed_by) VALUES (?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET body = excluded.body,"
                    " changed_by = excluded.changed_by"
                ),
                (schedule.name, body, actor),
            )
        return not found

    def get(self, name: str) -> Schedule | None:
        with self._transaction() as db:
            rows = db.execute(
                self._sql("SELECT body FROM schedules WHERE name = ?"), (name,)
            ).fetchall()
        return schedule_from(name, json.loads(rows[0][0])) if rows else None

    def all(self) -> Sequence[Schedule]:
        with self._transaction() as db:
            rows = db.execute("SELECT name, body FROM schedules ORDER BY name").fetchall()
        return [schedule_from(name, json.loads(body)) for name, body in rows]

    def remove(self, name: str) -> bool:
        with self._transaction() as db:
            found = db.execute(
                self._sql("SELECT 1 FROM schedules WHERE name = ?"), (name,)
            ).fetchall()
            db.execute(self._sql("DELETE FROM schedules WHERE name = ?"), (name,))
        return bool(found)


class SqliteScheduleStore(SqliteFile, SqlScheduleStore):
    def __init__(self, path: Any) -> None:
        super().__init__(path, SCHEMA)


def open_schedule_store(settings: Settings, database: Any = None) -> SqlScheduleStore:
    """A file in the data dir, memory, or the PostgreSQL table on ``database``."""
    if database is not None:
        from infrastructure.store.postgres.tables import PgTables

        class PgScheduleStore(PgTables, SqlScheduleStore):
            pass

        return PgScheduleStore(database)
    return SqliteScheduleStore(settings.data_file(FILE_NAME))
