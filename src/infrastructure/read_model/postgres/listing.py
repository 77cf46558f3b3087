"""``ListWorkers`` on PostgreSQL: the listing of ``read_model.listing`` in PostgreSQL's
dialect.

Names sort case-insensitively like SQLite's ``NOCASE`` (ASCII letters folded, then
byte order): the table keeps that folded key, and every text column sorts in byte
order (``COLLATE "C"``), so both databases list workers in the same order.
"""

from __future__ import annotations

from application.queries import ListWorkers
from infrastructure.read_model.listing import Dialect, ListingSql, listing_sql
from infrastructure.shared.postgres.schema import SORT_COLUMNS

_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def name_key(name: str) -> str:
    """The name as SQLite's NOCASE collation compares it (only ASCII letters folded)."""
    return name.translate(_ASCII_UPPER)


def _statuses(statuses: list[str]) -> tuple[str, object]:
    return "w.status = ANY(%s)", statuses


def _teams(teams: list[str]) -> tuple[str, object]:
    return "(d.dto::json ->> 'team') = ANY(%s)", teams


POSTGRES = Dialect(
    mark="%s",
    columns=SORT_COLUMNS,
    statuses=_statuses,
    text="strpos(w.search, %s) > 0",
    teams=_teams,
)


def pg_listing_sql(query: ListWorkers) -> ListingSql:
    """The page and count statements for ``query`` (validated: raises ``InvalidValue``)."""
    return listing_sql(query, POSTGRES)
