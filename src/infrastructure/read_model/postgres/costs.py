"""Cost ledgers on PostgreSQL: folded inside the write transaction that stores them.

A ledger is a fold of a worker's events. With several processes writing the shared
tables, a fold must start from the ledgers stored at the tracked position T, read in the
transaction that holds the writers' lock, and take only the events after T: a cache kept
across batches may already hold ledgers another process wrote, and folding the same
events onto them again would count them twice (decision record 0003). The fold itself
is the read model's ``CostFold``, built afresh for each transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import psycopg

from infrastructure.read_model.costs import CostFold

UPSERT_COST = """INSERT INTO worker_costs (id, ledger) VALUES (%s, %s)
    ON CONFLICT (id) DO UPDATE SET ledger = excluded.ledger"""
SELECT_LEDGERS = "SELECT id, ledger FROM worker_costs WHERE id = ANY(%s)"


class DeferredCosts:
    """A batch's projected events, to fold into the cost ledgers inside the transaction."""

    def __init__(self, projected: Sequence[Any]) -> None:
        self.projected = tuple(projected)

    def rows_after(
        self, position: int, load: Callable[[Iterable[str]], Mapping[str, str]]
    ) -> list[tuple[str, str]]:
        """Ledger rows once the events after ``position`` are folded into ``load``'s."""
        fresh = [p for p in self.projected if p.position > position]
        return CostFold(load).rows(fresh) if fresh else []


class InTransactionCostFold:
    """Stands in for the projection's ``CostFold`` on PostgreSQL: it defers the fold to
    :meth:`PgWorkerView.write`, which folds from the ledgers stored at the tracked
    position, read in the same transaction (a cache could hold ledgers that already
    include events another process wrote)."""

    def rows(self, projected: Sequence[Any]) -> DeferredCosts:
        return DeferredCosts(projected)

    def clear(self) -> None:
        """Nothing cached."""


def fold_costs(c: psycopg.Connection[Any], costs: Any, tracked: int) -> list[tuple[str, str]]:
    """The ledger rows to store in transaction ``c``, whose tracked position is ``tracked``."""
    if not isinstance(costs, DeferredCosts):
        return list(costs)  # rows computed by the caller

    def load(worker_ids: Iterable[str]) -> dict[str, str]:
        found = c.execute(SELECT_LEDGERS, (list(worker_ids),)).fetchall()
        return {str(k): str(v) for k, v in found}

    return costs.rows_after(tracked, load)
