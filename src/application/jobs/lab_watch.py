"""What the metrics job keeps of each worker's labs between cycles, so a steady
worker costs one call for its labs (``GET /labs``, the ids) and no more.

A lab's details (``GET /labs/{id}``, and its node states when started) are fetched
when its id is new, when CML's telemetry has a lab event (``LAB_EVENT_CATEGORIES``)
newer than the last one seen for that worker (events are not trusted to name their
lab: every lab of the worker is fetched again), and for every lab each
``full_every`` cycles, which catches what telemetry does not report (an edited lab).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime

from application.cml import LAB_EVENT_CATEGORIES, CmlLab, CmlPort, CmlTelemetryEvent


class LabWatch:
    """Per-worker memory of labs; one per metrics job. Called on the event loop."""

    def __init__(self, full_every: int = 10) -> None:
        self.full_every = max(1, full_every)
        self._known: dict[str, dict[str, CmlLab]] = {}
        self._event_at: dict[str, tuple[datetime, int] | None] = {}
        self._since_full: dict[str, int] = {}
        self.details_fetched = 0
        """Lab detail reads so far (for the benchmark and tests)."""

    async def look(
        self,
        cml: CmlPort,
        host: str,
        worker_id: str,
        ids: Sequence[str],
        events: Sequence[CmlTelemetryEvent],
    ) -> tuple[CmlLab, ...]:
        """The worker's labs now, fetching only what may have changed."""
        newest = _newest(events)
        known = self._known.get(worker_id)
        full = (
            known is None
            or self._since_full.get(worker_id, 0) + 1 >= self.full_every
            or newest != self._event_at.get(worker_id)
        )
        reuse: Mapping[str, CmlLab] = {} if full or known is None else known
        wanted = [lab_id for lab_id in ids if lab_id not in reuse]
        self.details_fetched += len(wanted)
        fetched = await asyncio.gather(*(cml.lab(host, lab_id) for lab_id in wanted))
        found = {lab.id: lab for lab in fetched if lab is not None}
        labs = tuple(reuse.get(lab_id) or found[lab_id] for lab_id in ids
                     if lab_id in reuse or lab_id in found)  # fmt: skip
        self._known[worker_id] = {lab.id: lab for lab in labs}
        self._event_at[worker_id] = newest
        self._since_full[worker_id] = 0 if full else self._since_full.get(worker_id, 0) + 1
        return labs

    def forget(self, worker_id: str) -> None:
        """The worker stopped: its next look fetches everything."""
        for memory in (self._known, self._event_at, self._since_full):
            memory.pop(worker_id, None)

    def forget_all_but(self, worker_ids: set[str]) -> None:
        for worker_id in set(self._known) - worker_ids:
            self.forget(worker_id)


def _newest(events: Sequence[CmlTelemetryEvent]) -> tuple[datetime, int] | None:
    """The time of the newest lab event and how many lab events have that time (CML's
    timestamps may be coarse: two changes in one second are two events, one time)."""
    times = [e.timestamp for e in events if e.category in LAB_EVENT_CATEGORIES]
    if not times:
        return None
    last = max(times)
    return last, times.count(last)
