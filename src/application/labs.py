"""Labs on the read side: what each worker's CML runs, as rows the metrics job keeps
fresh (observations never enter the event log, decision 0009), and the port they are
kept in. Also where an import's topology waits for the operations engine."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.cml import CmlLab

LAB_STATES = ("DEFINED_ON_CORE", "STOPPED", "STARTED")
CURSOR_PATTERN = r"^[0-9a-f]{32}\.[0-9a-f]{32}$"
_CURSOR = re.compile(CURSOR_PATTERN)


@dataclass(frozen=True)
class LabRow:
    """One lab of one worker, as last seen (``seen_at``)."""

    worker_id: str
    lab: CmlLab
    seen_at: datetime


@dataclass(frozen=True)
class ListLabs:
    """Filter and page through the fleet's labs, by worker then lab id."""

    worker_id: str | None = None
    owner: str | None = None
    """Owner's CML user name."""
    state: str | None = None
    limit: int = 100
    cursor: str | None = None
    among: tuple[str, ...] | None = None
    """Only labs of these workers (``None``: of any): those the caller may see."""


@dataclass(frozen=True)
class LabPage:
    items: tuple[LabRow, ...]
    next_cursor: str | None


def lab_cursor(row: LabRow) -> str:
    return f"{UUID(row.worker_id).hex}.{UUID(row.lab.id).hex}"


def after_cursor(text: str) -> tuple[str, str] | None:
    """(worker id, lab id) a cursor points after; ``None`` when it is not a cursor."""
    if not _CURSOR.match(text):
        return None
    worker, lab = text.split(".")
    return str(UUID(worker)), str(UUID(lab))


class LabStore(Protocol):
    """Lab rows by worker (a SQLite file, or a PostgreSQL table every process shares),
    and the topologies of imports waiting for the engine. Synchronous; thread-safe."""

    def replace(self, labs: Mapping[str, Sequence[CmlLab]], seen_at: datetime) -> None:
        """Make each worker's rows exactly ``labs[worker_id]``, in one transaction."""
        ...

    def put(self, worker_id: str, lab: CmlLab, seen_at: datetime) -> None:
        """One lab, as an operation left it."""
        ...

    def remove(self, worker_id: str, lab_id: str) -> None: ...

    def forget(self, worker_ids: Sequence[str]) -> None:
        """Drop every row of these workers (terminated, released, gone)."""
        ...

    def retain(self, worker_ids: Sequence[str]) -> None:
        """Drop the rows of every worker not in ``worker_ids``."""
        ...

    def labs_of(self, worker_id: str) -> tuple[LabRow, ...]:
        """The worker's labs, by title."""
        ...

    def page(self, query: ListLabs) -> LabPage: ...

    def keep_topology(self, key: str, topology: Mapping[str, Any], expires_at: datetime) -> None:
        """Hold an import's topology until the engine takes it (or it expires)."""
        ...

    def take_topology(self, key: str, now: datetime) -> dict[str, Any] | None:
        """The topology, once (taking deletes it); ``None`` if absent or expired."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class LabsChanged:
    """What the metrics job saw change in one worker's labs (``worker.labs.changed``)."""

    worker_id: str
    at: datetime
    added: tuple[CmlLab, ...]
    changed: tuple[CmlLab, ...]
    removed: tuple[str, ...]

    def payload(self) -> dict[str, Any]:
        def brief(lab: CmlLab) -> dict[str, Any]:
            return {"lab_id": lab.id, "title": lab.title, "state": lab.state,
                    "running_nodes": lab.running_nodes, "node_count": lab.node_count}  # fmt: skip

        return {
            "worker_id": self.worker_id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "added": [brief(lab) for lab in self.added],
            "changed": [brief(lab) for lab in self.changed],
            "removed": list(self.removed),
        }


def labs_changed(
    worker_id: str, before: Sequence[CmlLab], after: Sequence[CmlLab], at: datetime
) -> LabsChanged | None:
    """The difference between two looks at a worker's labs (``None``: none)."""
    old, new = {lab.id: lab for lab in before}, {lab.id: lab for lab in after}
    added = tuple(lab for lab_id, lab in new.items() if lab_id not in old)
    changed = tuple(lab for lab_id, lab in new.items() if lab_id in old and old[lab_id] != lab)
    removed = tuple(sorted(lab_id for lab_id in old if lab_id not in new))
    if not (added or changed or removed):
        return None
    return LabsChanged(worker_id, at, added, changed, removed)
