"""``ListWorkers`` as SQL: filters, sort, and keyset (seek) pagination, written once for
both databases; a :class:`Dialect` says how each spells it (``SQLITE`` here,
``postgres.listing.POSTGRES``).

Pages are cut on the pair (sort value, worker id), which is unique, so walking the
pages visits every worker present throughout exactly once, even when workers are
added or removed between pages (an ``OFFSET`` would skip or repeat rows then). A worker
whose sort value changes between pages (e.g. ``updated_at``) moves to its new place.
The cursor (``application.queries.Cursor``) carries the sort, direction and last key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from application.queries import SORTABLE_FIELDS, Cursor, ListWorkers
from domain.errors import InvalidValue
from domain.status import WorkerStatus

MAX_LIMIT = 500
STATUS_VALUES = frozenset(s.value for s in WorkerStatus)


@dataclass(frozen=True)
class ListingSql:
    """The page query (fetches ``limit + 1`` rows to know if there is a next page)."""

    page: str
    page_params: tuple[Any, ...]
    count: str
    count_params: tuple[Any, ...]


@dataclass(frozen=True)
class Dialect:
    """How one database spells a listing: its parameter mark, the column each sort
    field is stored in, and the status and text conditions (given the mark)."""

    mark: str
    columns: Mapping[str, str]
    statuses: Callable[[list[str]], tuple[str, object]]
    text: str
    teams: Callable[[list[str]], tuple[str, object]]
    # SQLite: "+" before a column keeps the planner off its index; the page walks the
    # sort index instead (see listing_sql).
    unindexed: str = ""


def _sqlite_statuses(statuses: list[str]) -> tuple[str, object]:
    return "w.status IN (SELECT value FROM json_each(?))", json.dumps(statuses)


def _sqlite_teams(teams: list[str]) -> tuple[str, object]:
    return "json_extract(d.dto, '$.team') IN (SELECT value FROM json_each(?))", json.dumps(teams)


SQLITE = Dialect(
    mark="?",
    columns={field: field for field in SORTABLE_FIELDS},
    statuses=_sqlite_statuses,
    text="instr(w.search, ?) > 0",
    teams=_sqlite_teams,
    unindexed="+",
)


def listing_sql(query: ListWorkers, dialect: Dialect = SQLITE) -> ListingSql:
    """The page and count statements for ``query`` (validated: raises ``InvalidValue``)."""
    _validate(query)
    column = dialect.columns[query.sort]  # one of ours (validated), never client text
    where, params = _filters(query, dialect, unindexed="")
    page_where, _ = _filters(query, dialect, unindexed=dialect.unindexed)
    seek, seek_params = _seek(query, column, dialect.mark)
    direction = " DESC" if query.descending else ""
    # The page walks the sort index and checks the filters on the narrow rows as they go
    # by, stopping at limit + 1: ~0.2 ms when matches are common, one pass (~4 ms per
    # 10,000 workers) when they are rare. Filtering by index first would sort every match.
    page = (
        f"SELECT w.{column}, w.id, d.dto FROM workers w JOIN worker_dtos d ON d.id = w.id"
        f"{_where([*page_where, *seek])} ORDER BY w.{column}{direction}, w.id{direction}"
        f" LIMIT {dialect.mark}"
    )
    return ListingSql(
        page=page,
        page_params=(*params, *seek_params, query.limit + 1),
        count=f"SELECT COUNT(*) FROM workers w{_by_team(query)}{_where(where)}",
        count_params=tuple(params),
    )


def _by_team(query: ListWorkers) -> str:
    """The count reads the team from the DTO, as the page does, only when it must."""
    return "" if query.teams is None else " JOIN worker_dtos d ON d.id = w.id"


def _where(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def encode_cursor(query: ListWorkers, sort_value: object, worker_id: str) -> str:
    return Cursor(query.sort, query.descending, str(sort_value), worker_id).encoded()


def _decode_cursor(query: ListWorkers, cursor: str) -> tuple[str, str]:
    found = Cursor.decoded(cursor)
    if found is None:
        raise InvalidValue("cursor", "not a cursor returned by a previous page")
    if (found.sort, found.descending) != (query.sort, query.descending):
        raise InvalidValue("cursor", "the cursor belongs to a listing with another sort order")
    return found.value, found.worker_id


def _validate(query: ListWorkers) -> None:
    if query.sort not in SORTABLE_FIELDS:
        raise InvalidValue("sort", f"must be one of {', '.join(SORTABLE_FIELDS)}")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidValue("limit", f"must be between 1 and {MAX_LIMIT}")
    unknown = sorted(set(query.statuses) - STATUS_VALUES)
    if unknown:
        raise InvalidValue("statuses", f"unknown status {', '.join(unknown)}")


def _filters(query: ListWorkers, dialect: Dialect, unindexed: str) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if query.statuses:
        condition, value = dialect.statuses(sorted(set(query.statuses)))
        where.append(unindexed + condition)
        params.append(value)
    if query.region is not None:
        where.append(f"{unindexed}w.region = {dialect.mark}")
        params.append(query.region)
    if query.text:
        where.append(dialect.text)
        params.append(query.text.lower())
    if query.teams is not None:
        condition, value = dialect.teams(sorted(query.teams))
        where.append(condition)
        params.append(value)
    return where, params


def _seek(query: ListWorkers, column: str, mark: str) -> tuple[list[str], list[Any]]:
    if query.cursor is None:
        return [], []
    value, worker_id = _decode_cursor(query, query.cursor)
    comparison = "<" if query.descending else ">"
    return [f"(w.{column}, w.id) {comparison} ({mark}, {mark})"], [value, worker_id]
