"""Worker rows kept in memory, so a single-worker query needs no database read.

The rows are the stored DTO JSON, each with the log position it reflects. Two ways in:

- ``put``: the projection puts every row it has committed (or, on PostgreSQL,
  acknowledged), before waiters and listeners hear of the batch. So a row read here is
  never older than what this process's read model has reported: ``?min_position``
  (read-your-writes) and "a frame, then a query, sees data at least as new" hold as they
  do with the database.
- ``fill``: a query that missed reads the database and fills the row. The read may
  predate a commit the projection has put since; a fill is therefore dropped when
  anything was put or cleared after the query took its ``stamp``. A row is only ever
  replaced by one at a later position.

At most ``capacity`` rows, least recently used out first; ``capacity`` 0 keeps none.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable


class HotRows:
    """Worker id -> (position, DTO JSON), bounded; safe to use from any thread."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._rows: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._changes = 0  # puts and clears so far: a fill taken before one is dropped

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, worker_id: str) -> str | None:
        with self._lock:
            row = self._rows.get(worker_id)
            if row is None:
                return None
            self._rows.move_to_end(worker_id)
            return row[1]

    def stamp(self) -> int:
        """Take before reading the database for a :meth:`fill`."""
        return self._changes

    def put(self, rows: Iterable[tuple[str, int, str]]) -> None:
        """(worker id, position, JSON) rows the projection has committed."""
        if not self.capacity:
            return
        with self._lock:
            self._changes += 1
            for worker_id, position, text in rows:
                self._replace(worker_id, position, text)

    def fill(self, rows: Iterable[tuple[str, int, str]], stamp: int) -> None:
        """(worker id, position, JSON) rows read from the database after ``stamp``."""
        if not self.capacity:
            return
        with self._lock:
            if stamp != self._changes:
                return  # the read may predate a row put since: it could be stale
            for worker_id, position, text in rows:
                self._replace(worker_id, position, text)

    def clear(self) -> None:
        with self._lock:
            self._changes += 1
            self._rows.clear()

    def _replace(self, worker_id: str, position: int, text: str) -> None:
        held = self._rows.get(worker_id)
        if held is not None and held[0] >= position:
            return
        self._rows[worker_id] = (position, text)
        self._rows.move_to_end(worker_id)
        if len(self._rows) > self.capacity:
            self._rows.popitem(last=False)
