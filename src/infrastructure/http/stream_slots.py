"""How many event streams this process keeps open: in total, and per credential (a
token, or a browser session), so one client cannot take every connection."""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol


class Ending(Protocol):
    """Ends one open stream when set."""

    def set(self) -> None: ...


class TooManyStreams(Exception):
    """This credential already has its share of open streams (429)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"this credential already has {limit} open event streams (the most allowed): "
            "close one, or use one stream with filters"
        )


class StreamsFull(Exception):
    """The process holds as many streams as it may (503)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"this server already holds {limit} event streams; try again later")


class StreamSlots:
    """Counts open streams; :meth:`take` before a stream opens, :meth:`give_back` after.
    Each stream's ``ending`` event, set, ends it cleanly (:meth:`end`: its credential
    was revoked)."""

    def __init__(self, total: int, per_credential: int) -> None:
        self.total, self.per_credential = total, per_credential
        self._open: defaultdict[str, set[Ending]] = defaultdict(set)
        self._count = 0

    def take(self, credential: str, ending: Ending) -> None:
        if len(self._open[credential]) >= self.per_credential:
            raise TooManyStreams(self.per_credential)
        if self._count >= self.total:
            raise StreamsFull(self.total)
        self._open[credential].add(ending)
        self._count += 1

    def give_back(self, credential: str, ending: Ending) -> None:
        self._open[credential].discard(ending)
        self._count -= 1
        if not self._open[credential]:
            del self._open[credential]

    def credentials(self) -> tuple[str, ...]:
        return tuple(self._open)

    def end(self, credential: str) -> int:
        """End every open stream of ``credential``; how many there were."""
        endings = self._open.get(credential, set())
        for ending in endings:
            ending.set()
        return len(endings)
