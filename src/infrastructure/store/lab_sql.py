"""The lab store's behaviour in SQL, written once with ``?`` placeholders: SQLite
(``store.lab_store``) runs it as it is, PostgreSQL (``store.postgres.lab_store``) with
``%s``."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from application.cml import CmlLab
from application.labs import LabPage, LabRow, ListLabs, after_cursor, lab_cursor

COLUMNS = (
    "worker_id, lab_id, title, owner_id, owner_username, state, node_count, running_nodes,"
    " link_count, created, modified, seen_at"
)
INSERT = f"INSERT INTO worker_labs ({COLUMNS}) VALUES ({', '.join('?' * 12)})"


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _columns(worker_id: str, lab: CmlLab, seen_at: datetime) -> tuple[object, ...]:
    return (
        *(worker_id, lab.id, lab.title, lab.owner_id, lab.owner_username, lab.state),
        *(lab.node_count, lab.running_nodes, lab.link_count),
        *(_text(lab.created), _text(lab.modified), _text(seen_at)),
    )


def _row(values: Sequence[Any]) -> LabRow:
    worker_id, lab_id, title, owner_id, owner, state, nodes, running, links, *times = values
    created, modified, seen = (datetime.fromisoformat(t) if t else None for t in times)
    lab = CmlLab(
        id=lab_id,
        title=title,
        state=state,
        node_count=int(nodes),
        running_nodes=None if running is None else int(running),
        owner_username=owner,
        modified=modified,
        owner_id=owner_id,
        link_count=None if links is None else int(links),
        created=created,
    )
    assert seen is not None
    return LabRow(worker_id, lab, seen)


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, params: Any) -> Any: ...


class SqlLabStore(ABC):
    """The store's behaviour on any SQL database; subclasses open transactions."""

    @abstractmethod
    def _transaction(self) -> Any:
        """A context manager yielding something with ``execute``/``executemany``."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _sql(self, text: str) -> str:
        """``text`` in the database's placeholder style."""

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as db:
            return list(db.execute(self._sql(sql), params).fetchall())

    def replace(self, labs: Mapping[str, Sequence[CmlLab]], seen_at: datetime) -> None:
        if not labs:
            return
        rows = [_columns(w, lab, seen_at) for w, seen in labs.items() for lab in seen]
        with self._transaction() as db:
            db.executemany(self._sql("DELETE FROM worker_labs WHERE worker_id = ?"),
                           [(w,) for w in labs])  # fmt: skip
            if rows:
                db.executemany(self._sql(INSERT), rows)

    def put(self, worker_id: str, lab: CmlLab, seen_at: datetime) -> None:
        with self._transaction() as db:
            db.execute(self._sql("DELETE FROM worker_labs WHERE worker_id = ? AND lab_id = ?"),
                       (worker_id, lab.id))  # fmt: skip
            db.execute(self._sql(INSERT), _columns(worker_id, lab, seen_at))

    def remove(self, worker_id: str, lab_id: str) -> None:
        self._run("DELETE FROM worker_labs WHERE worker_id = ? AND lab_id = ? RETURNING 1",
                  (worker_id, lab_id))  # fmt: skip

    def forget(self, worker_ids: Sequence[str]) -> None:
        if worker_ids:
            with self._transaction() as db:
                db.executemany(self._sql("DELETE FROM worker_labs WHERE worker_id = ?"),
                               [(w,) for w in worker_ids])  # fmt: skip

    def retain(self, worker_ids: Sequence[str]) -> None:
        present = {w for (w,) in self._run("SELECT DISTINCT worker_id FROM worker_labs")}
        self.forget(sorted(present - set(worker_ids)))

    def labs_of(self, worker_id: str) -> tuple[LabRow, ...]:
        rows = self._run(f"SELECT {COLUMNS} FROM worker_labs WHERE worker_id = ?"
                         " ORDER BY title, lab_id", (worker_id,))  # fmt: skip
        return tuple(_row(r) for r in rows)

    def page(self, query: ListLabs) -> LabPage:
        where, params = [], []
        for column, value in (("worker_id", query.worker_id), ("owner_username", query.owner),
                              ("state", query.state)):  # fmt: skip
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.among is not None:
            marks = ", ".join("?" for _ in query.among) or "NULL"
            where.append(f"worker_id IN ({marks})")
            params += list(query.among)
        after = after_cursor(query.cursor) if query.cursor else None
        if after is not None:
            where.append("(worker_id > ? OR (worker_id = ? AND lab_id > ?))")
            params += [after[0], after[0], after[1]]
        sql = f"SELECT {COLUMNS} FROM worker_labs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY worker_id, lab_id LIMIT ?"
        rows = [_row(r) for r in self._run(sql, (*params, query.limit + 1))]
        more = len(rows) > query.limit
        items = tuple(rows[: query.limit])
        return LabPage(items, lab_cursor(items[-1]) if more else None)

    def keep_topology(self, key: str, topology: Mapping[str, Any], expires_at: datetime) -> None:
        with self._transaction() as db:
            db.execute(self._sql("DELETE FROM lab_imports WHERE key = ?"), (key,))
            db.execute(self._sql("INSERT INTO lab_imports VALUES (?, ?, ?)"),
                       (key, json.dumps(topology), expires_at.timestamp()))  # fmt: skip

    def take_topology(self, key: str, now: datetime) -> dict[str, Any] | None:
        with self._transaction() as db:
            rows = db.execute(
                self._sql("DELETE FROM lab_imports WHERE key = ? RETURNING topology, expires_at"),
                (key,),
            ).fetchall()
            db.execute(self._sql("DELETE FROM lab_imports WHERE expires_at <= ?"),
                       (now.timestamp(),))  # fmt: skip
        if not rows or rows[0][1] <= now.timestamp():
            return None
        document: dict[str, Any] = json.loads(rows[0][0])
        return document
