"""Rows store the DTO as JSON; reading them back gives the very same DTO."""

from __future__ import annotations

from dataclasses import replace

import pytest

from application.dto import ActivityDto, CMLWorkerDto, PauseDto
from application.mapper import map_worker_to_dto
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.worker import CMLWorker
from infrastructure.read_model.codec import dto_from_json, from_json, search_text, to_json


def a_dto() -> CMLWorkerDto:
    worker = CMLWorker.create(
        WorkerSpec(
            name="Lab Ünïcode",
            region="eu-west-1",
            instance_type="m5.xlarge",
            ami_id="ami-1",
            tags={"Team": "Blue", "env": "prod"},
        ),
        cause=Cause("alice", "c-1"),
    )
    dto = map_worker_to_dto(worker)
    return replace(
        dto,
        instance_id="i-0ABC",
        public_ip="3.4.5.6",
        cpu_percent=12.5,
        recent_activity=(ActivityDto("2026-03-02T09:00:00.000Z", "lab_started", "lab 1"),),
        pause_history=(
            PauseDto("2026-03-02T09:00:00.000Z", "manual", "bob", None, None, None, None),
            PauseDto("2026-03-02T10:00:00.000Z", "idle_timeout", "job", 61.5, "x", "manual", "bob"),
        ),
    )


def test_a_dto_survives_the_round_trip_with_its_nested_records() -> None:
    dto = a_dto()
    back = dto_from_json(to_json(dto))
    assert back == dto
    assert isinstance(back.pause_history, tuple) and isinstance(back.pause_history[1], PauseDto)
    assert isinstance(back.recent_activity[0], ActivityDto)


def test_a_row_of_another_shape_is_refused_rather_than_half_read() -> None:
    with pytest.raises(TypeError):
        from_json(ActivityDto, '{"at": "2026-03-02T09:00:00.000Z", "kind": "x"}')
    with pytest.raises(TypeError):
        from_json(ActivityDto, '{"at": "t", "kind": "x", "detail": "d", "extra": 1}')


def test_search_text_holds_name_instance_addresses_and_tags_lowercased() -> None:
    text = search_text(a_dto())
    for part in ("lab ünïcode", "i-0abc", "3.4.5.6", "team=blue", "env=prod"):
        assert part in text
