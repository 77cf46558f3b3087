"""One look at a worker's CML: every read the metrics job makes, in one answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from application.cml import (
    CmlHealth,
    CmlLab,
    CmlLicensing,
    CmlPort,
    CmlStats,
    CmlSystemInfo,
    CmlTelemetryEvent,
)
from application.ports_errors import CmlError, CmlUnreachable


@dataclass(frozen=True)
class CmlProbe:
    """What CML said about itself at one moment."""

    info: CmlSystemInfo
    health: CmlHealth
    stats: CmlStats
    labs: tuple[CmlLab, ...]
    licensing: CmlLicensing
    events: tuple[CmlTelemetryEvent, ...]

    @property
    def running_labs(self) -> int:
        return sum(1 for lab in self.labs if lab.state == "STARTED")

    @property
    def invalid(self) -> tuple[str, ...]:
        """Fields CML answered with impossible values, each named once."""
        named = {*self.stats.invalid, *(f for lab in self.labs for f in lab.invalid)}
        return tuple(sorted(named))

    @property
    def running_nodes(self) -> int:
        if self.stats.running_nodes is not None:
            return self.stats.running_nodes
        return sum(lab.running_nodes or 0 for lab in self.labs)


LabLook = Callable[[Sequence[str], Sequence[CmlTelemetryEvent]], Awaitable[tuple[CmlLab, ...]]]
"""Given the lab ids and the telemetry, the labs (``LabWatch.look``, bound to a worker)."""


async def probe_cml(cml: CmlPort, host: str, look: LabLook | None = None) -> CmlProbe:
    """System information first (it needs no login and says whether CML answers at
    all), then the other reads concurrently, then the details of the labs ``look``
    wants (without it: every lab). Any failure raises ``CmlError``."""
    info = await cml.system_information(host)
    answers = await asyncio.gather(
        cml.system_health(host),
        cml.system_stats(host),
        cml.lab_ids(host),
        cml.licensing(host),
        cml.telemetry_events(host),
        return_exceptions=True,
    )
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    health, stats, ids, licensing, events = answers
    assert isinstance(health, CmlHealth) and isinstance(stats, CmlStats)
    assert isinstance(ids, tuple) and isinstance(licensing, CmlLicensing)
    assert isinstance(events, tuple)
    if look is None:
        found = await asyncio.gather(*(cml.lab(host, lab_id) for lab_id in ids))
        labs = tuple(lab for lab in found if lab is not None)
    else:
        labs = await look(ids, events)
    return CmlProbe(info, health, stats, labs, licensing, events)


def failure_detail(error: BaseException) -> str:
    """A short reason to record: the class of failure, never the server's free text
    (a description that varies would record a new event every cycle)."""
    if isinstance(error, TimeoutError):
        return "CML API: no answer in time"
    if isinstance(error, CmlUnreachable):
        return f"CML API: unreachable ({_kind(error.reason)})"
    if isinstance(error, CmlError):
        if error.status is None:
            return f"CML API: request failed ({_kind(error.reason)})"
        if error.status == 200:  # an answer that does not read: our own, stable words
            return f"CML API: {error.reason}"
        return f"CML API: HTTP {error.status}"
    return f"CML API: unexpected error ({type(error).__name__})"


def _kind(reason: str) -> str:
    """The words before the first colon: "cannot connect: [Errno 111] ..." ->
    "cannot connect"."""
    return reason.split(":", 1)[0].strip() or "no reason given"
