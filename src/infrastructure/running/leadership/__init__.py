"""Leadership: the parts that act on the world (scheduled jobs, the operations reactor)
run in exactly one process.

An :class:`Election` says whether this process may lead. On SQLite or in memory there is
one process, so it always leads (:class:`SoleProcess`); on PostgreSQL the holder of an
advisory lock leads (``postgres``). The :class:`LeaderGate`
starts the leader parts once this process is elected and stops them if it is deposed;
a process that does not lead tries again every ``retry_seconds``, and a leader checks
on the same beat that it still holds the lead.
"""

from __future__ import annotations

from typing import Any

from application.ports import Clock
from infrastructure.running.leadership.gate import LeaderGate
from infrastructure.running.leadership.port import (
    Election,
    LeaderRecord,
    LeaderStatus,
    ProcessIdentity,
)
from infrastructure.running.leadership.sole import SoleProcess

__all__ = [
    "Election",
    "LeaderGate",
    "LeaderRecord",
    "LeaderStatus",
    "ProcessIdentity",
    "SoleProcess",
    "build_leadership",
]


def build_leadership(settings: Any, clock: Clock, database: Any) -> LeaderGate:
    """An advisory-lock election on PostgreSQL (``database`` given), else the sole process."""
    identity = ProcessIdentity.current(clock)
    if database is None:
        return LeaderGate(SoleProcess(clock), identity)
    from infrastructure.running.leadership.postgres import AdvisoryLockElection

    return LeaderGate(AdvisoryLockElection.for_settings(settings, database), identity)
