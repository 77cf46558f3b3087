"""What leadership is made of: a process, a leader record, the status shown, and the
:class:`Election` port its backends implement (``sole``, ``postgres``)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import uuid4

from application.ports import Clock


@dataclass(frozen=True)
class ProcessIdentity:
    """One running ``cml-fleet serve``: a random id (pids repeat across hosts), host, pid."""

    id: str
    host: str
    pid: int
    started_at: datetime

    @classmethod
    def current(cls, clock: Clock) -> ProcessIdentity:
        return cls(uuid4().hex[:12], socket.gethostname(), os.getpid(), clock.now())


@dataclass(frozen=True)
class LeaderRecord:
    """The process that leads, since when, and its term (a count of elections, if kept)."""

    process_id: str
    host: str
    pid: int
    since: datetime
    term: int | None


@dataclass(frozen=True)
class LeaderStatus:
    """What ``GET /api/admin/leader`` shows."""

    election: str
    this_process: ProcessIdentity
    leading: bool
    leader: LeaderRecord | None


class Election(Protocol):
    """Blocking calls, made from a thread."""

    kind: str
    retry_seconds: float | None  # None: once elected, leads until it stops

    def try_lead(self, me: ProcessIdentity) -> bool: ...

    def still_leading(self) -> bool: ...

    def resign(self) -> None: ...

    def leader(self) -> LeaderRecord | None: ...
