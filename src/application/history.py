"""Worker history: a worker's stored events as public notifications, newest first.

Read from the event store (the history *is* the events), through the small
:class:`EventHistory` port, and mapped by the same catalogue as the SSE stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from application.notifications import WorkerNotification, to_notification

MAX_HISTORY_LIMIT = 500


@dataclass(frozen=True)
class GetWorkerHistory:
    """One page of a worker's history; ``before_version`` comes from the previous page.

    ``limit`` is clamped to 1..``MAX_HISTORY_LIMIT``.
    """

    worker_id: UUID
    limit: int = 50
    before_version: int | None = None


@dataclass(frozen=True)
class HistoryPage:
    """Notifications newest first; ``next_before_version`` is ``None`` on the last page."""

    items: tuple[WorkerNotification, ...]
    next_before_version: int | None


class EventHistory(Protocol):
    """A worker's stored events, read backwards."""

    def worker_events(
        self, worker_id: UUID, *, before_version: int | None, limit: int
    ) -> Sequence[object]:
        """Up to ``limit`` events with a version below ``before_version`` (all when
        ``None``), newest first. Raises ``WorkerNotFound`` for an unknown worker."""
        ...


def get_worker_history(query: GetWorkerHistory, store: EventHistory) -> HistoryPage:
    limit = max(1, min(query.limit, MAX_HISTORY_LIMIT))
    # One more than asked tells whether another page exists.
    events = store.worker_events(
        query.worker_id, before_version=query.before_version, limit=limit + 1
    )
    items = tuple(to_notification(e) for e in events[:limit])
    more = len(events) > limit
    return HistoryPage(items, items[-1].version if more else None)
