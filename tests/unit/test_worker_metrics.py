"""Metrics are recorded only when they matter, so the log does not grow with polling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import WorkerStatus
from domain.values import MetricThresholds, Telemetry
from domain.worker import CMLWorker

CAUSE = Cause("job:metrics", "cycle-1")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
THRESHOLDS = MetricThresholds(percent_points=5.0, max_staleness_seconds=20 * 60)


def worker() -> CMLWorker:
    return CMLWorker.import_instance(
        WorkerSpec(name="w", region="eu-west-1", instance_type="m5.xlarge"),
        instance_id="i-1",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )


def test_a_steady_worker_polled_every_minute_records_at_most_a_few_events_an_hour() -> None:
    w = worker()
    for minute in range(60):
        cpu = 10.0 + (minute % 3)  # jitter below the threshold
        w.record_metrics(
            Telemetry(cml_cpu_percent=cpu, labs_count=1),
            at=T0 + timedelta(minutes=minute),
            thresholds=THRESHOLDS,
            cause=CAUSE,
        )
    recorded = [e for e in w.collect_events() if isinstance(e, CMLWorker.MetricsRecorded)]
    assert 1 <= len(recorded) <= 5


def test_a_material_change_carries_only_the_changed_fields() -> None:
    w = worker()
    w.record_metrics(
        Telemetry(cml_cpu_percent=10.0, labs_count=1),
        at=T0,
        thresholds=THRESHOLDS,
        cause=CAUSE,
    )
    w.record_metrics(
        Telemetry(cml_cpu_percent=80.0, labs_count=1),
        at=T0 + timedelta(minutes=1),
        thresholds=THRESHOLDS,
        cause=CAUSE,
    )
    last = w.collect_events()[-1]
    assert isinstance(last, CMLWorker.MetricsRecorded)
    assert last.changes == {"cml_cpu_percent": 80.0}
    assert w.telemetry.labs_count == 1 and w.telemetry.cml_cpu_percent == 80.0


def test_a_terminated_worker_records_no_metrics() -> None:
    w = worker()
    w.observe_status(WorkerStatus.TERMINATED, cause=CAUSE)
    assert not w.record_metrics(
        Telemetry(cml_cpu_percent=1.0), at=T0, thresholds=THRESHOLDS, cause=CAUSE
    )
