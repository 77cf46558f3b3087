"""The workers this process saved last, so a command starts from them instead of a replay.

An entry is the very aggregate object that was saved (no copy on save); ``copy_of``
hands out a deep copy, so commands never share state. An entry that gained pending
events after its save (someone changed it without saving) is dropped, never served.
The event log stays the truth: the store fast-forwards a copy with newer stored events.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from copy import deepcopy
from typing import Any
from uuid import UUID


class SavedWorkers:
    """A bounded, thread-safe LRU of saved aggregates; size 0 turns it off."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[UUID, Any] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, workers: Iterable[Any]) -> None:
        if self.size <= 0:
            return
        with self._lock:
            for worker in workers:
                self._entries[worker.id] = worker
                self._entries.move_to_end(worker.id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def copy_of(self, worker_id: UUID) -> Any | None:
        with self._lock:
            saved = self._entries.get(worker_id)
            if saved is None:
                return None
            if saved.pending_events:  # changed after its save: not a stored state
                del self._entries[worker_id]
                return None
            copy = deepcopy(saved)
            if saved.pending_events:  # changed while being copied: the copy may be torn
                del self._entries[worker_id]
                return None
            self._entries.move_to_end(worker_id)
            return copy

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
