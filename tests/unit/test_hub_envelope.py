"""Frames on the wire: CloudEvents JSON on one data line; ids only on stored events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from application.contracts.notifications import (
    DATA_CONTRACTS,
    CloudEventEnvelope,
    WorkerSnapshot,
    dataschema_of,
)
from application.mapper import map_worker_to_dto
from application.notifications import to_notification
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.status import ServiceStatus, WorkerStatus
from domain.worker import CMLWorker
from infrastructure.fanout.envelope import (
    SNAPSHOTS_PER_FRAME,
    event_frame,
    snapshot_batches_of,
    snapshot_frame,
    snapshot_frames_of,
)
from infrastructure.read_model.codec import to_json

SCHEMAS = Path(__file__).parents[2] / "schemas" / "v1"
CAUSE = Cause("alice", "c-42")


@pytest.fixture
def worker() -> CMLWorker:
    worker = CMLWorker.import_instance(
        WorkerSpec(name="lab-1", region="eu-west-1", instance_type="c5.2xlarge"),
        instance_id="i-0123456789abcdef0",
        observed=WorkerStatus.RUNNING,
        cause=CAUSE,
    )
    worker.change_service_status(
        ServiceStatus.UNREACHABLE, detail="connect timeout\nretrying", cause=CAUSE
    )
    return worker


def lines_of(data: bytes) -> list[str]:
    text = data.decode()
    assert text.endswith("\n\n")
    return text[:-2].split("\n")


def test_a_stored_event_frame_has_its_position_as_id_and_one_data_line(worker) -> None:
    event = worker.collect_events()[-1]
    frame = event_frame(to_notification(event), position=42)
    event_line, id_line, data_line = lines_of(frame.data)
    assert (event_line, id_line) == ("event: worker.service_status.changed", "id: 42")
    envelope = CloudEventEnvelope.model_validate_json(data_line.removeprefix("data: "))
    assert (envelope.id, envelope.sequence, envelope.correlationid) == ("42", 42, "c-42")
    assert envelope.subject == str(worker.id) and envelope.time.endswith("Z")
    assert envelope.data["service_detail"] == "connect timeout\nretrying"


def test_a_snapshot_frame_has_no_id_and_carries_the_full_view_and_its_position(worker) -> None:
    dto = map_worker_to_dto(worker)
    frame = snapshot_frame(dto, position=7, now=datetime(2026, 3, 2, 9, tzinfo=UTC))
    event_line, data_line = lines_of(frame.data)
    assert event_line == "event: worker.snapshot" and frame.position is None
    envelope = json.loads(data_line.removeprefix("data: "))
    assert "sequence" not in envelope and envelope["time"] == "2026-03-02T09:00:00.000Z"
    snapshot = WorkerSnapshot.model_validate(envelope["data"])
    assert (snapshot.position, snapshot.version, snapshot.id) == (7, 2, str(worker.id))


@pytest.mark.parametrize("frame_type", sorted(DATA_CONTRACTS))
def test_every_dataschema_names_a_committed_schema(frame_type) -> None:
    name = DATA_CONTRACTS[frame_type].__name__
    committed = json.loads((SCHEMAS / f"{name}.json").read_text())
    assert committed["$id"] == dataschema_of(frame_type)


def test_snapshot_frames_made_from_stored_json_are_the_frames_made_from_the_dto(worker) -> None:
    worker.change_tags({"team": "net", "note": 'say "position": ünïcode'}, (), cause=CAUSE)
    worker.assign_team("blue", cause=CAUSE)
    worker.collect_events()
    dto = map_worker_to_dto(worker)
    now = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    from_dto = snapshot_frame(dto, 17, now).data
    from_json = snapshot_frames_of([(dto.id, to_json(dto))] * 2, 17, now)
    first, second = (f + "\n\n" for f in from_json.decode()[:-2].split("\n\n"))
    for made in (first, second):
        expected, got = (json.loads(lines_of(f.encode())[1][6:]) for f in (from_dto.decode(), made))
        assert lines_of(made.encode())[0] == "event: worker.snapshot"
        assert {**got, "id": None} == {**expected, "id": None}  # all but the random id
        assert got["data"]["position"] == 17 and got["data"]["team"] == "blue"
    assert (
        json.loads(first[first.index("{") :])["id"] != json.loads(second[second.index("{") :])["id"]
    )


def test_batched_snapshot_frames_carry_the_same_snapshots_500_to_a_frame(worker) -> None:
    worker.collect_events()
    dto = map_worker_to_dto(worker)
    now = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    documents = [(dto.id, to_json(dto))] * (SNAPSHOTS_PER_FRAME + 1)
    frames = snapshot_batches_of(documents, 17, now).decode()[:-2].split("\n\n")
    single = json.loads(lines_of(snapshot_frame(dto, 17, now).data)[1][6:])
    assert len(frames) == 2
    for text, count in zip(frames, (SNAPSHOTS_PER_FRAME, 1), strict=True):
        event_line, data_line = text.split("\n")
        envelope = CloudEventEnvelope.model_validate_json(data_line.removeprefix("data: "))
        assert event_line == "event: worker.snapshots" and envelope.type == "worker.snapshots"
        batch = DATA_CONTRACTS["worker.snapshots"].model_validate(envelope.data)
        assert envelope.dataschema == dataschema_of("worker.snapshots")
        assert envelope.data["position"] == 17 and len(envelope.data["snapshots"]) == count
        assert all(s == single["data"] for s in envelope.data["snapshots"])
        assert len(batch.snapshots) == count  # type: ignore[attr-defined]
