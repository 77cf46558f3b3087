"""How each region's EC2 and CloudWatch have been answering the metrics job.

Per region: failures in a row, when it last answered, how it fails (a stable kind),
and a back-off, so a region that keeps failing is asked less and less often (up to
the back-off's cap) while the others are asked every cycle. A region is unhealthy
once it has failed ``unhealthy_after`` times in a row. Held by the job object (no
module state); read by the health endpoints and ``/metrics``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from application.jobs.backoff import Backoff
from application.jobs.region import RegionView


@dataclass(frozen=True)
class RegionState:
    """One region as the job last saw it."""

    region: str
    failures: int
    """Cycles in a row in which a call failed (0: it answered last time)."""
    last_ok_at: datetime | None
    failing: tuple[str, ...]
    """How the last failing cycle failed: ``call: kind`` (stable from cycle to cycle)."""
    retry_at: datetime | None
    """When the region is asked again (backed off until then)."""
    unhealthy: bool


class RegionHealth:
    """Back-off and streaks per region; counts of failures per (region, call, kind)."""

    def __init__(self, backoff: Backoff, *, unhealthy_after: int = 3) -> None:
        self.backoff = backoff
        self.unhealthy_after = max(1, unhealthy_after)
        self.failure_counts: Counter[tuple[str, str, str]] = Counter()
        """Failed calls since start, per (region, call, kind), for ``/metrics``."""
        self._last_ok: dict[str, datetime] = {}
        self._failing: dict[str, tuple[str, ...]] = {}

    def should_ask(self, region: str, now: datetime) -> bool:
        return self.backoff.ready(region, now)

    def record(self, region: str, view: RegionView, now: datetime) -> bool:
        """Note how ``region`` answered at ``now``. Returns whether this is news worth
        one log line: the first failure of a streak, a new way of failing, or the
        region answering again after failing."""
        if view.backed_off:
            return False
        failing = tuple(str(f) for f in view.failures)
        before = self._failing.get(region, ())
        for failure in view.failures:
            self.failure_counts[(region, failure.call, failure.kind)] += 1
        if failing:
            self.backoff.failed(region, now)
            self._failing[region] = failing
        else:
            self.backoff.succeeded(region)
            self._failing.pop(region, None)
            self._last_ok[region] = now
        return failing != before

    def state(self, region: str) -> RegionState:
        failures = self.backoff.failures(region)
        retry = self.backoff.retry_at(region)
        return RegionState(
            region=region,
            failures=failures,
            last_ok_at=self._last_ok.get(region),
            failing=self._failing.get(region, ()),
            retry_at=retry,
            unhealthy=failures >= self.unhealthy_after,
        )

    def states(self) -> tuple[RegionState, ...]:
        regions = {*self._last_ok, *self._failing, *(r for r, _, _ in self.failure_counts)}
        return tuple(self.state(r) for r in sorted(regions))

    def forget_all_but(self, regions: Iterable[str]) -> None:
        """Regions with no worker left are no longer watched."""
        keep = set(regions)
        for table in (self._last_ok, self._failing):
            for region in set(table) - keep:
                del table[region]
        self.backoff.forget_all_but(keep)
