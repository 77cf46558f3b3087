"""A job cycle's one ``now`` as a clock: every decision and record of a cycle is made at
the same time (commands that take a ``Clock`` record it)."""

from __future__ import annotations

from datetime import datetime


class At:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment
