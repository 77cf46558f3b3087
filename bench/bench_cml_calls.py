"""CML API calls per metrics cycle for one worker, over HTTP.

``HttpCml`` probes one worker (the reads a metrics cycle makes: system information,
health, stats, licensing, labs, telemetry) N times against the fake CML server on
127.0.0.1. The token is cached, so the first cycle logs in once and later cycles
not at all. The naive baseline, run in the same process against the same server,
logs in before every authenticated call. A second part shows an unreachable worker
costing no network call per cycle once its circuit is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from datetime import UTC, datetime

from tests.fakes import ready_worker
from tests.fakes.cml_rig import TEST_CONFIG, Rig, http_cml
from tests.fakes.cml_server import FakeCml

from application.jobs.probe import probe_cml
from application.ports_errors import CmlError
from bench.report import Benchmark, Figure
from infrastructure.outside.cml_http import CmlTransport, HttpCml
from infrastructure.outside.cml_http.transport import HostSession
from infrastructure.outside.simulated import SimKnobs, SimWorld
from infrastructure.shared.clock import FakeClock

CYCLES = 20
LOGIN = "POST /authenticate"


class LoginBeforeEveryCall(CmlTransport):
    """The naive client: a new token for every authenticated call."""

    async def token(self, session: HostSession, stale: str | None = None) -> str:
        return await self.authenticate(session)


async def cycles(cml: HttpCml, host: str, n: int) -> list[tuple[int, int, float]]:
    """(calls, logins, seconds) of each of ``n`` probes."""
    rows = []
    for _ in range(n):
        calls, logins, start = sum(cml.calls.values()), cml.calls[LOGIN], time.perf_counter()
        await probe_cml(cml, host)
        elapsed = time.perf_counter() - start
        rows.append((sum(cml.calls.values()) - calls, cml.calls[LOGIN] - logins, elapsed))
    return rows


async def unreachable_cycles(cml: HttpCml, host: str, n: int) -> list[tuple[int, float]]:
    """(network calls, seconds) of each of ``n`` probes of a worker that does not answer."""
    rows = []
    for _ in range(n):
        calls, start = sum(cml.calls.values()), time.perf_counter()
        with contextlib.suppress(CmlError):  # it fails: that is the point
            await probe_cml(cml, host)
        rows.append((sum(cml.calls.values()) - calls, time.perf_counter() - start))
    return rows


async def measure(bench: Benchmark) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    world = SimWorld(clock, SimKnobs(seed=3, busy_fraction=1.0))
    host = ready_worker(world, clock, hours=3)
    with FakeCml(world) as fake:
        rig = Rig(clock, world, fake, host)
        rig.start_a_lab()
        cached = http_cml(fake, clock)
        naive = HttpCml(LoginBeforeEveryCall(TEST_CONFIG, clock, base_url=fake.base_url))
        try:
            good = await cycles(cached, host, CYCLES)
            bad = await cycles(naive, host, CYCLES)
            report_logins(bench, good, bad, len(await cached.labs(host)))
            assert fake.count() == sum(cached.calls.values()) + sum(naive.calls.values())
            fake.unreachable.add(host)
            report_unreachable(bench, await unreachable_cycles(cached, host, CYCLES))
        finally:
            await cached.aclose()
            await naive.aclose()
        assert fake.violations == [], fake.violations


def report_logins(
    bench: Benchmark,
    good: list[tuple[int, int, float]],
    bad: list[tuple[int, int, float]],
    labs: int,
) -> None:
    steady, naive = good[1:], bad[1:]
    bench.note(f"{CYCLES} cycles of one worker with {labs} labs (one started)")
    first = good[0][1]
    bench.add(Figure("logins in the first cycle", first, "logins", target="1", met=first == 1))
    logins = statistics.mean(row[1] for row in steady)
    bench.add(
        Figure(
            "logins per cycle after the first",
            logins,
            "logins/cycle",
            baseline=statistics.mean(row[1] for row in naive),
            baseline_label="login before every call",
            target="0 (no re-authentication per cycle)",
            met=logins == 0,
        )
    )
    bench.add(
        Figure(
            "CML calls per cycle",
            statistics.mean(row[0] for row in steady),
            "calls/cycle",
            baseline=statistics.mean(row[0] for row in naive),
            baseline_label="login before every call",
        )
    )
    bench.note("cycle times include the fake server's spec validation of every answer")
    bench.add(
        Figure(
            "cycle time (median)",
            1000 * statistics.median(row[2] for row in steady),
            "ms",
            baseline=1000 * statistics.median(row[2] for row in naive),
            baseline_label="login before every call",
        )
    )


def report_unreachable(bench: Benchmark, rows: list[tuple[int, float]]) -> None:
    opened = next(i for i, row in enumerate(rows) if row[0] == 0)
    after = rows[opened:]
    bench.note(
        f"unreachable worker: {sum(r[0] for r in rows[:opened])} attempts before its "
        f"circuit opened (cycle {opened + 1}), then none until the cool-down"
    )
    calls = statistics.mean(row[0] for row in after)
    bench.add(
        Figure(
            "unreachable worker: network calls per cycle, circuit open",
            calls,
            "calls/cycle",
            baseline=rows[0][0],
            baseline_label="first cycle",
            target="0 (one fast failure per cycle)",
            met=calls == 0,
        )
    )
    bench.add(
        Figure(
            "unreachable worker: cycle time, circuit open (median)",
            1000 * statistics.median(row[1] for row in after),
            "ms",
            baseline=1000 * rows[0][1],
            baseline_label="first cycle",
        )
    )


def run() -> Benchmark:
    bench = Benchmark(
        "cml_calls",
        "CML API calls per metrics cycle for one worker: HttpCml against the fake CML "
        "server (spec-checked) on 127.0.0.1; token cached vs a login before every call.",
    )
    asyncio.run(measure(bench))
    return bench
