"""Which team each worker is in, held in memory for the visibility checks of every
request and every SSE frame (``VISIBILITY=team``; notes/SSO.md).

Loaded from the view the first time it is asked, after it has started listening to the
projection, so no change falls in between: a change heard while loading wins over the
row read. Every process of a cluster follows the shared log, so each keeps its own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

from infrastructure.read_model.projected import ProjectedEvent

UNKNOWN = object()


class TeamIndex:
    """Worker id → team (``None``: none). Thread-safe."""

    def __init__(
        self,
        rows: Callable[[], Sequence[str]],
        listen: Callable[[Callable[[Sequence[ProjectedEvent]], None]], object],
    ) -> None:
        self._rows = rows
        self._listen = listen
        self._teams: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._loaded = False

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._listen(self.heard)
            read = {}
            for text in self._rows():
                row = json.loads(text)
                read[row["id"]] = row.get("team")
            self._teams = {**read, **self._teams}
            self._loaded = True

    def heard(self, batch: Sequence[Any]) -> None:
        """A committed batch of the projection (a listener)."""
        for projected in batch:
            self._teams[projected.worker_id] = projected.team

    def team_of(self, worker_id: str) -> str | object | None:
        """The worker's team, or :data:`UNKNOWN` for a worker not (yet) in the view.
        Blocking the first time (it reads the view): call it off the event loop then."""
        if not self._loaded:
            self._load()
        return self._teams.get(worker_id, UNKNOWN)

    def members(self, teams: frozenset[str]) -> list[str]:
        """The ids of every worker in one of ``teams`` (blocking the first time)."""
        if not self._loaded:
            self._load()
        return [worker for worker, team in list(self._teams.items()) if team in teams]

    @property
    def loaded(self) -> bool:
        return self._loaded
