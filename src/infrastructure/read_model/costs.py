"""Cost ledgers on the read side: one row per worker, folded from its events.

Written by the projection in the same transaction as the worker rows and the tracked
position, so after a crash or a rebuild the ledgers are exactly what the log says.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from application.costs import CostLedger

if TYPE_CHECKING:
    from infrastructure.read_model.projected import ProjectedEvent

COSTS_TABLE = """CREATE TABLE IF NOT EXISTS worker_costs (
    id TEXT PRIMARY KEY, ledger TEXT NOT NULL)"""
UPSERT_COST = """
    INSERT INTO worker_costs (id, ledger) VALUES (?, ?)
    ON CONFLICT (id) DO UPDATE SET ledger = excluded.ledger"""

LoadLedgers = Callable[[Iterable[str]], Mapping[str, str]]


def encode(ledger: CostLedger) -> str:
    data: dict[str, Any] = asdict(ledger)
    for key in ("running_since", "saved_since"):
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return json.dumps(data, separators=(",", ":"))


def decode(text: str) -> CostLedger:
    data = json.loads(text)
    for key in ("running_since", "saved_since"):
        if data[key] is not None:
            data[key] = datetime.fromisoformat(data[key])
    data["days"] = tuple((day, float(s)) for day, s in data.get("days", ()))  # none: older rows
    return CostLedger(**data)


class CostFolding(Protocol):
    """How a view folds a batch's events into cost ledger rows (see ``cost_fold``)."""

    def rows(self, projected: Sequence[ProjectedEvent]) -> Any: ...

    def clear(self) -> None: ...


class CostFold:
    """Keeps every worker's ledger in memory (small), loading it once from the view."""

    def __init__(self, load: LoadLedgers) -> None:
        self._load = load
        self._ledgers: dict[str, CostLedger] = {}

    def rows(self, projected: Sequence[ProjectedEvent]) -> list[tuple[str, str]]:
        """The ledgers a batch changed, as (worker id, JSON) rows to upsert."""
        missing = {p.worker_id for p in projected} - set(self._ledgers)
        if missing:
            self._ledgers.update((k, decode(v)) for k, v in self._load(missing).items())
        changed: dict[str, CostLedger] = {}
        for p in projected:
            ledger = self._ledgers.get(p.worker_id) or CostLedger(
                p.worker_id, p.name, p.instance_type
            )
            after = ledger.after(p.event, p.status, p.name)
            if after != ledger:
                self._ledgers[p.worker_id] = changed[p.worker_id] = after
        return [(worker_id, encode(ledger)) for worker_id, ledger in changed.items()]

    def clear(self) -> None:
        """Forget the cache (a failed batch, a rebuild): reload from the view."""
        self._ledgers.clear()
