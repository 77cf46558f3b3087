"""Prometheus metrics: ``GET /metrics`` (viewer role, like every other read).

Each app has its own :class:`FleetMetrics` with its own ``CollectorRegistry`` (no
process-wide state, so two systems in one process, or two tests, never mix figures).
Counters that only the HTTP layer sees (commands by type and outcome, conflicts) are
counted by the edge middleware (``http.edge``); everything else is read from the
system when scraped: jobs' runs, failures and last cycle time, SSE subscribers and
the ones cut off, read-model lag, the workers that are failing (one series each), the
conflicts that command handlers retried (``infrastructure.store.conflicts``), and the
budgets and licenses (``fleet_metrics``). ``deploy/prometheus/cml-fleet.rules.yml``
alerts on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infrastructure.http.access.sso import SsoCounts
from infrastructure.http.fleet_metrics import FleetCollector
from infrastructure.http.problems import problem
from infrastructure.http.visibility import teams_seen
from infrastructure.running.health import problems

if TYPE_CHECKING:
    from infrastructure.http.served import Observed

OUTCOMES = {2: "accepted", 4: "refused", 5: "error"}


class FleetMetrics:
    """The app's registry: HTTP-side counters plus a collector reading ``system``."""

    def __init__(self, system: Observed) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter(
            "cml_fleet_commands",
            "Commands by type and outcome (accepted, refused, conflict, error).",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.conflicts = Counter(
            "cml_fleet_concurrency_conflicts",
            "Commands answered 409 concurrent-change: optimistic-concurrency retries ran out.",
            registry=self.registry,
        )
        self.registry.register(SystemCollector(system))
        self.registry.register(FleetCollector(system))

    def watch_sso(self, counts: SsoCounts) -> None:
        """Report single sign-on's logins, refreshes and refused provider tokens."""
        self.registry.register(SsoCollector(counts))

    def record(self, command: str, status: int, retry_after: bool) -> None:
        conflict = status == 409 and retry_after  # concurrent-change says "retry soon"
        outcome = "conflict" if conflict else OUTCOMES.get(status // 100, "other")
        self.commands.labels(command, outcome).inc()
        if conflict:
            self.conflicts.inc()

    def exposition(self) -> bytes:
        """The text format. Reads the stores: call it off the event loop."""
        return generate_latest(self.registry)


class SsoCollector(Collector):
    def __init__(self, counts: SsoCounts) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "cml_fleet_sso",
            "Single sign-on: logins, login failures, token refreshes, refresh failures, "
            "provider JWTs refused.",
            labels=["event"],
        )
        for name, value in vars(self.counts).items():
            events.add_metric([name], value)
        yield events


class SystemCollector(Collector):
    """Figures read from the system at scrape time."""

    def __init__(self, system: Observed) -> None:
        self.system = system

    def collect(self) -> Iterator[Metric]:
        yield from self._jobs()
        yield from self._sse()
        yield self._lag()
        yield self._failing_workers()
        yield self._retries()
        yield from self._regions()
        yield from self._operations()
        yield from self._webhooks()
        yield self._problems()

    def _jobs(self) -> Iterator[Metric]:
        runs = CounterMetricFamily("cml_fleet_job_runs", "Job cycles run.", labels=["job"])
        failures = CounterMetricFamily(
            "cml_fleet_job_failures", "Job cycles that failed.", labels=["job"]
        )
        cycle = GaugeMetricFamily(
            "cml_fleet_job_last_cycle_seconds", "Duration of the last cycle.", labels=["job"]
        )
        failing = GaugeMetricFamily(
            "cml_fleet_job_failing_cycles", "Cycles in a row that failed (0: ok).", labels=["job"]
        )
        scheduler = self.system.scheduler
        for job in scheduler.jobs() if scheduler is not None else ():
            runs.add_metric([job.id], job.runs)
            failures.add_metric([job.id], job.failures)
            failing.add_metric([job.id], job.failing)
            if job.last_duration_seconds is not None:
                cycle.add_metric([job.id], job.last_duration_seconds)
        yield from (runs, failures, cycle, failing)

    def _regions(self) -> Iterator[Metric]:
        failing = GaugeMetricFamily(
            "cml_fleet_region_failing_looks",
            "Looks at a region's EC2/CloudWatch in a row that failed (0: it answered).",
            labels=["region"],
        )
        calls = CounterMetricFamily(
            "cml_fleet_cloud_call_failures",
            "Failed EC2/CloudWatch calls of the metrics job, by region, call and kind.",
            labels=["region", "call", "kind"],
        )
        health = self.system.region_health
        if health is not None:
            for state in health.states():
                failing.add_metric([state.region], state.failures)
            for (region, call, kind), count in sorted(health.failure_counts.items()):
                calls.add_metric([region, call, kind], count)
        yield from (failing, calls)

    def _operations(self) -> Iterator[Metric]:
        reactor = self.system.reactor
        running = reactor if reactor is not None and reactor.running else None
        yield GaugeMetricFamily(
            "cml_fleet_operations_in_flight",
            "Requested operations not yet settled (in this process, if it leads).",
            value=running.in_flight if running else 0,
        )
        yield GaugeMetricFamily(
            "cml_fleet_operations_oldest_in_flight_seconds",
            "How long the oldest operation in flight has been (0: none).",
            value=running.oldest_in_flight_seconds() if running else 0.0,
        )

    def _webhooks(self) -> Iterator[Metric]:
        sent = CounterMetricFamily(
            "cml_fleet_webhook_requests",
            "Webhook deliveries sent by this process, by result (delivered, failed: to be "
            "tried again or dead, dead: given up on).",
            labels=["result"],
        )
        for result, count in sorted(self.system.webhook_delivery.sender.sent.items()):
            sent.add_metric([result], count)
        waiting = GaugeMetricFamily(
            "cml_fleet_webhook_deliveries",
            "Webhook deliveries by subscription and state (pending, dead: the dead letters).",
            labels=["webhook", "state"],
        )
        for webhook, states in sorted(self.system.webhooks.counts().items()):
            for state in ("pending", "dead"):
                waiting.add_metric([webhook, state], states.get(state, 0))
        yield from (sent, waiting)

    def _problems(self) -> Metric:
        found = GaugeMetricFamily(
            "cml_fleet_health_problem",
            "1 for each check that keeps failing (the problems /readyz lists).",
            labels=["check"],
        )
        for check in sorted({p.check for p in problems(self.system)}):
            found.add_metric([check], 1)
        return found

    def _sse(self) -> Iterator[Metric]:
        hub = self.system.hub
        yield GaugeMetricFamily(
            "cml_fleet_sse_subscribers", "Open event streams.", value=hub.subscriber_count
        )
        yield CounterMetricFamily(
            "cml_fleet_sse_dropped_subscribers",
            "Streams cut off because their client fell too far behind.",
            value=hub.cut_off,
        )

    def _lag(self) -> Metric:
        lag = self.system.store.max_position() - self.system.read_model.position()
        return GaugeMetricFamily(
            "cml_fleet_read_model_lag", "Events logged but not yet in the read model.", value=lag
        )

    def _failing_workers(self) -> Metric:
        failing = GaugeMetricFamily(
            "cml_fleet_worker_failing",
            "1 for each worker and reason it is failing (CML unreachable, operation, license).",
            labels=["worker_id", "name", "reason"],
        )
        for dto in self.system.read_model.all_workers():
            for reason in failure_reasons(dto):
                failing.add_metric([dto.id, dto.name, reason], 1)
        return failing

    def _retries(self) -> Metric:
        return CounterMetricFamily(
            "cml_fleet_concurrency_retries",
            "Optimistic-concurrency conflicts that a command retried (reloaded and re-ran), "
            "whether it then succeeded or not; from HTTP, jobs and the operations reactor.",
            value=self.system.conflicts.count,
        )


def failure_reasons(dto: Any) -> list[str]:
    reasons = []
    if dto.service_status == "unreachable":
        reasons.append("service_unreachable")
    if dto.last_operation_error:
        reasons.append("operation_error")
    if dto.license_status == "failed":
        reasons.append("license_failed")
    return reasons


def command_names(operations: Any) -> dict[str, str]:
    """``"METHOD /path"`` -> command name for every changing operation."""
    return {
        f"{op.method} {op.path}": re.sub(r"_$", "", op.endpoint.__name__)
        for op in operations
        if op.method not in {"GET", "HEAD"}
    } | {"POST /api/admin/jobs/{id}/run": "run_job"}


@requires("viewer")
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus figures. They name every team's failing workers, so under
    ``VISIBILITY=team`` only a caller who sees every worker (an admin) may read them."""
    system: Observed = request.app.state.system
    if teams_seen(request) is not None:
        detail = "with VISIBILITY=team, /metrics (every team's workers) needs an admin's token"
        return problem(request, 403, detail, kind="forbidden")
    body = await system.run_sync(request.app.state.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def metrics_routes() -> list[Route]:
    return [Route("/metrics", metrics_endpoint, methods=["GET"], name="metrics")]
