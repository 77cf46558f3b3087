"""THE mapper: every rule that turns worker state into the dashboard's DTO."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from application.dto import CMLWorkerDto
from application.mapper import IdleDefaults, map_worker_to_dto, rfc3339
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import PauseReason, WorkerStatus
from domain.values import MetricThresholds, Telemetry
from domain.worker import CMLWorker

CAUSE = Cause("alice", "corr-1")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "SMART-LICENSE-TOKEN-do-not-leak"


def worker(**telemetry: object) -> CMLWorker:
    w = CMLWorker.import_instance(
        WorkerSpec(
            name="w", region="eu-west-1", instance_type="m5.xlarge", tags={"b": "2", "a": "1"}
        ),
        instance_id="i-1",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )
    if telemetry:
        w.record_metrics(
            Telemetry(**telemetry),  # type: ignore[arg-type]
            at=T0,
            thresholds=MetricThresholds(),
            cause=CAUSE,
        )
    return w


def test_cml_utilization_wins_over_cloudwatch() -> None:
    dto = map_worker_to_dto(worker(cml_cpu_percent=12.0, cw_cpu_percent=90.0))
    assert dto.cpu_percent == 12.0


def test_cloudwatch_is_the_fallback_only_when_cml_has_no_value() -> None:
    dto = map_worker_to_dto(worker(cw_cpu_percent=33.3, cw_memory_percent=40.0))
    assert (dto.cpu_percent, dto.memory_percent) == (33.3, 40.0)


def test_a_cml_zero_is_a_value_not_a_missing_one() -> None:
    assert map_worker_to_dto(worker(cml_cpu_percent=0.0, cw_cpu_percent=55.0)).cpu_percent == 0.0


@pytest.mark.parametrize(("raw", "shown"), [(42.26, 42.3), (0.04, 0.0), (99.96, 100.0)])
def test_percentages_are_shown_to_one_decimal_never_bent(raw: float, shown: float) -> None:
    # Impossible readings never get this far: the CML parsers refuse them
    # (tests/unit/test_cml_readings.py); nothing here clamps a value into range.
    assert map_worker_to_dto(worker(cml_disk_percent=raw)).disk_percent == shown


def test_unknown_utilization_stays_unknown() -> None:
    dto = map_worker_to_dto(worker())
    assert (dto.cpu_percent, dto.memory_percent, dto.disk_percent) == (None, None, None)


def test_datetimes_are_rfc3339_utc_with_z() -> None:
    paris = timezone(timedelta(hours=1))
    assert rfc3339(datetime(2026, 3, 2, 10, 0, tzinfo=paris)) == "2026-03-02T09:00:00.000Z"
    dto = map_worker_to_dto(worker(cml_cpu_percent=1.0))
    assert dto.metrics_recorded_at == "2026-03-02T09:00:00.000Z"
    assert dto.created_at.endswith("Z") and dto.updated_at.endswith("Z")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        rfc3339(datetime(2026, 1, 1))


def test_enums_are_plain_values() -> None:
    dto = map_worker_to_dto(worker())
    assert (dto.status, dto.service_status, dto.license_status) == (
        "running",
        "unknown",
        "unregistered",
    )


def test_the_idle_countdown_uses_the_global_default_unless_overridden() -> None:
    w = worker()
    dto = map_worker_to_dto(w, IdleDefaults(timeout_minutes=45))
    assert dto.idle_timeout_minutes == 45 and not dto.idle_timeout_overridden
    assert dto.idle_since == rfc3339(w.created_on)
    assert dto.auto_pause_due_at == rfc3339(w.created_on + timedelta(minutes=45))

    w.configure_idle_detection(True, 120, cause=CAUSE)
    dto = map_worker_to_dto(w, IdleDefaults(timeout_minutes=45))
    assert dto.idle_timeout_minutes == 120 and dto.idle_timeout_overridden


def test_no_countdown_when_detection_is_off_or_the_worker_is_not_running() -> None:
    w = worker()
    assert map_worker_to_dto(w, IdleDefaults(enabled=False)).auto_pause_due_at is None
    w.pause(PauseReason.MANUAL, at=T0, cause=CAUSE)
    assert map_worker_to_dto(w).auto_pause_due_at is None


def test_pause_history_and_tags_are_shown_in_a_stable_order() -> None:
    w = worker()
    w.pause(PauseReason.MANUAL, at=T0, cause=CAUSE)
    dto = map_worker_to_dto(w)
    assert list(dto.tags) == ["a", "b"]
    assert dto.pause_history[0].reason == "manual" and dto.pause_history[0].paused_at.endswith("Z")


def test_the_dto_never_holds_a_secret() -> None:
    w = worker()
    from application.commands.license import fingerprint

    w.start_license_registration(fingerprint(SECRET), cause=CAUSE)
    dto = map_worker_to_dto(w)
    assert SECRET not in repr(dataclasses.asdict(dto))
    assert dto.license_token_fingerprint is not None
    assert dto.license_token_fingerprint.startswith("sha256:")
    assert not {f.name for f in dataclasses.fields(CMLWorkerDto)} & {"token", "password", "secret"}
