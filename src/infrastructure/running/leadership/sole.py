"""The election of one process (SQLite or memory persistence): it always leads."""

from __future__ import annotations

from application.ports import Clock
from infrastructure.running.leadership.port import LeaderRecord, ProcessIdentity


class SoleProcess:
    """The only process there is (SQLite or memory persistence): it always leads."""

    kind = "single-process"
    retry_seconds: float | None = None

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._leader: LeaderRecord | None = None

    def try_lead(self, me: ProcessIdentity) -> bool:
        self._leader = LeaderRecord(me.id, me.host, me.pid, self._clock.now(), None)
        return True

    def still_leading(self) -> bool:
        return True

    def resign(self) -> None:
        self._leader = None

    def leader(self) -> LeaderRecord | None:
        return self._leader
