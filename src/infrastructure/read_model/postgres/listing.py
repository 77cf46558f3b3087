"""``ListWorkers`` as PostgreSQL: the same filters, order and keyset cursors as the SQLite
listing (``infrastructure.read_model.listing``), in PostgreSQL's dialect.

Names sort case-insensitively like SQLite's ``NOCASE`` (ASCII letters folded, then
byte order): the table keeps that folded key, and every text column sorts in byte
order (``COLLATE "C"``), so both databases list workers in the same order.
"""

from __future__ import annotations

from typing import Any

from application.queries import ListWorkers
from infrastructure.read_model.listing import ListingSql, _decode_cursor, _validate
from infrastructure.shared.postgres.schema import SORT_COLUMNS

_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def name_key(name: str) -> str:
    """The name as SQLite's NOCASE collation compares it (only ASCII letters folded)."""
    return name.translate(_ASCII_UPPER)


def pg_listing_sql(query: ListWorkers) -> ListingSql:
    """The page and count statements for ``query`` (validated: raises ``InvalidValue``)."""
    _validate(query)
    column = SORT_COLUMNS[query.sort]  # one of ours, never client text
    where, params = _filters(query)
    seek, seek_params = _seek(query, column)
    direction = " DESC" if query.descending else ""
    page = (
        f"SELECT w.{column}, w.id, d.dto FROM workers w JOIN worker_dtos d ON d.id = w.id"
        f"{_where([*where, *seek])} ORDER BY w.{column}{direction}, w.id{direction} LIMIT %s"
    )
    return ListingSql(
        page=page,
        page_params=(*params, *seek_params, query.limit + 1),
        count=f"SELECT COUNT(*) FROM workers w{_where(where)}",
        count_params=tuple(params),
    )


def _where(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def _filters(query: ListWorkers) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if query.statuses:
        where.append("w.status = ANY(%s)")
        params.append(sorted(set(query.statuses)))
    if query.region is not None:
        where.append("w.region = %s")
        params.append(query.region)
    if query.text:
        where.append("strpos(w.search, %s) > 0")
        params.append(query.text.lower())
    return where, params


def _seek(query: ListWorkers, column: str) -> tuple[list[str], list[Any]]:
    if query.cursor is None:
        return [], []
    value, worker_id = _decode_cursor(query, query.cursor)
    comparison = "<" if query.descending else ">"
    return [f"(w.{column}, w.id) {comparison} (%s, %s)"], [value, worker_id]
