"""The public worker view is generated from CMLWorkerDto: same fields, documented."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from application.contracts.worker_view import ActivityView, PauseView, WorkerView, view_of
from application.dto import ActivityDto, CMLWorkerDto, PauseDto
from application.mapper import map_worker_to_dto
from domain.cause import Cause
from domain.spec import WorkerSpec
from domain.worker import CMLWorker


@pytest.mark.parametrize(
    ("dto", "view"),
    [(CMLWorkerDto, WorkerView), (ActivityDto, ActivityView), (PauseDto, PauseView)],
)
def test_the_view_has_exactly_the_dto_fields_in_order_with_their_docs(
    dto: type, view: type
) -> None:
    dto_fields = dataclasses.fields(dto)

    assert list(view.model_fields) == [f.name for f in dto_fields]
    for f in dto_fields:
        assert view.model_fields[f.name].description == f.metadata["doc"]


def test_a_mapped_worker_is_a_valid_view_and_round_trips() -> None:
    worker = CMLWorker.create(
        WorkerSpec(
            name="w",
            region="us-east-1",
            instance_type="c5.xlarge",
            ami_id="ami-0123456789abcdef0",
            tags={"team": "a"},
        ),
        cause=Cause("alice", "c1"),
    )
    dto = map_worker_to_dto(worker)

    view = WorkerView.model_validate(dto, from_attributes=True)

    assert view.model_dump() == dataclasses.asdict(dto)
    with pytest.raises(ValidationError):
        view.name = "renamed"  # type: ignore[misc]  # frozen


def test_the_view_schema_is_typed_from_the_dto_annotations() -> None:
    schema = WorkerView.model_json_schema()

    assert schema["properties"]["recent_activity"]["items"] == {"$ref": "#/$defs/ActivityView"}
    assert schema["properties"]["cpu_percent"]["anyOf"] == [{"type": "number"}, {"type": "null"}]
    assert "id" in schema["required"]
    with pytest.raises(ValidationError):
        WorkerView.model_validate({"id": "x"})


def test_a_new_dto_field_with_a_default_becomes_an_optional_view_field() -> None:
    @dataclass(frozen=True)
    class Thing:
        """A thing."""

        name: str = field(metadata={"doc": "Its name."})
        colour: str | None = field(default=None, metadata={"doc": "Its colour, if known."})

    view = view_of(Thing, "ThingView", {})

    assert view.model_json_schema()["required"] == ["name"]
    assert view(name="n").model_dump() == {"name": "n", "colour": None}
    assert view.__doc__ == "A thing."
