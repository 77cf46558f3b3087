"""Optimistic-concurrency conflicts that commands retried, counted for ``/metrics``.

``application.commands.common.change_worker`` re-runs a command whose save met a
concurrent write and tells the store's ``conflict_observer``; the composition root
builds the store with a :class:`ConflictRetries` as that observer, and the metrics
collector reads its count. The application never sees Prometheus.
"""

from __future__ import annotations

import threading
from uuid import UUID


class ConflictRetries:
    """Counts retried conflicts (thread-safe: handlers run in the thread pool)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def conflict_retried(self, worker_id: UUID) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        return self._count
