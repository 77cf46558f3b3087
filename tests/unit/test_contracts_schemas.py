"""The committed JSON Schemas (schemas/) match the contracts, and a breaking change fails.

When this fails with "Backward-incompatible", version the contract instead (the
message says how); when it says "re-export", run `make schemas`.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from application.contracts.catalog import contract_schema, public_models, render_schemas
from application.contracts.compat import (
    HOW_TO_VERSION,
    REEXPORT,
    compare_schemas,
    incompatibilities,
)
from application.contracts.requests import TEXT, TeamRequest
from domain.errors import InvalidValue
from domain.tags import team_name

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def committed() -> dict[str, str]:
    return {str(p.relative_to(SCHEMAS)): p.read_text() for p in sorted(SCHEMAS.glob("v*/*.json"))}


def test_the_committed_schemas_match_the_contracts() -> None:
    report = compare_schemas(committed(), render_schemas())

    assert report.ok, report.explain()


def test_every_schema_is_versioned_and_every_field_described() -> None:
    for name, model in public_models().items():
        schema = contract_schema(name, model)
        assert schema["$id"] == f"urn:cml-fleet:schema:v1:{name}"
        assert schema["title"] == f"{name} v1"
        undocumented = [f for f, info in model.model_fields.items() if not info.description]
        assert not undocumented, f"{name}: fields without a description: {undocumented}"


def test_rendering_is_deterministic() -> None:
    assert render_schemas() == render_schemas()


# --------------------------------------------------------- the compatibility check


class Before(BaseModel):
    name: str = Field(description="n")
    size: int = Field(description="s")
    colour: str | None = Field(None, description="c")
    kind: Any = Field(description="k", json_schema_extra={"enum": ["a", "b"]})


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


@pytest.fixture
def before() -> dict[str, Any]:
    return schema_of(Before)


def changed(before: dict[str, Any], change: Any) -> list[str]:
    after = copy.deepcopy(before)
    change(after)
    return [str(i) for i in incompatibilities("Thing", before, after)]


def test_removing_a_field_is_incompatible(before: dict[str, Any]) -> None:
    def remove(s: dict[str, Any]) -> None:
        del s["properties"]["size"]
        s["required"].remove("size")

    assert changed(before, remove) == ["Thing.size: field removed"]


def test_changing_a_type_is_incompatible(before: dict[str, Any]) -> None:
    def retype(s: dict[str, Any]) -> None:
        s["properties"]["size"]["type"] = "string"

    assert changed(before, retype) == ["Thing.size: type changed from integer to string"]


def test_making_a_field_nullable_is_a_type_change(before: dict[str, Any]) -> None:
    def nullable(s: dict[str, Any]) -> None:
        s["properties"]["name"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}

    assert changed(before, nullable) == ["Thing.name: type changed from string to null | string"]


def test_a_new_required_field_is_incompatible(before: dict[str, Any]) -> None:
    def require(s: dict[str, Any]) -> None:
        s["properties"]["weight"] = {"type": "number"}
        s["required"].append("weight")

    assert changed(before, require) == ["Thing.weight: new required field"]


def test_making_an_optional_field_required_is_incompatible(before: dict[str, Any]) -> None:
    assert changed(before, lambda s: s["required"].append("colour")) == [
        "Thing.colour: new required field"
    ]


def test_removing_an_enum_value_is_incompatible(before: dict[str, Any]) -> None:
    def shrink(s: dict[str, Any]) -> None:
        s["properties"]["kind"]["enum"] = ["a"]

    assert changed(before, shrink) == ["Thing.kind: enum value(s) removed: b"]


def test_a_new_optional_field_and_a_new_enum_value_are_compatible(
    before: dict[str, Any],
) -> None:
    def extend(s: dict[str, Any]) -> None:
        s["properties"]["weight"] = {"type": "number", "default": 0}
        s["properties"]["kind"]["enum"].append("c")
        s["properties"]["name"]["description"] = "a better description"

    assert changed(before, extend) == []


def test_nested_models_are_checked_through_references() -> None:
    class Inner(BaseModel):
        at: str

    class Outer(BaseModel):
        items: list[Inner]

    old = Outer.model_json_schema()
    new = copy.deepcopy(old)
    new["$defs"]["Inner"]["properties"]["at"]["type"] = "integer"

    assert [str(i) for i in incompatibilities("Outer", old, new)] == [
        "Outer.items[].at: type changed from string to integer"
    ]


def test_the_report_says_how_to_version_or_to_re_export() -> None:
    old = json.dumps(schema_of(Before))
    removed = copy.deepcopy(schema_of(Before))
    del removed["properties"]["colour"]
    added = copy.deepcopy(schema_of(Before))
    added["properties"]["weight"] = {"type": "number"}

    breaking = compare_schemas({"v1/Thing.json": old}, {"v1/Thing.json": json.dumps(removed)})
    compatible = compare_schemas({"v1/Thing.json": old}, {"v1/Thing.json": json.dumps(added)})
    gone = compare_schemas({"v1/Thing.json": old}, {})
    fresh = compare_schemas({}, {"v1/Thing.json": old})

    assert HOW_TO_VERSION in breaking.explain() and "v1/Thing.colour" in breaking.explain()
    assert not compatible.incompatible and REEXPORT in compatible.explain()
    assert gone.incompatible == ("v1/Thing.json: contract removed",)
    assert fresh.new == ("v1/Thing.json",) and not fresh.ok


def test_every_body_the_route_table_takes_or_answers_is_a_committed_contract() -> None:
    from application.contracts.catalog import public_models
    from infrastructure.http.routes import OPERATIONS

    used = {m.__name__ for op in OPERATIONS for m in (op.body, op.answer) if m is not None}
    assert used <= set(public_models()), sorted(used - set(public_models()))


@pytest.mark.parametrize("team", ["\u0085", " ", "\u3000\u00a0", "\t"])
def test_a_team_of_only_whitespace_is_invalid_by_the_schema_as_by_the_domain(team: str) -> None:
    """The API document must not call valid what the server refuses (found by fuzzing:
    ``{"team": "\\u0085"}``, which Python's strip() empties)."""
    assert re.fullmatch(TEXT, team) is None
    with pytest.raises(ValueError):
        TeamRequest.model_validate({"team": team})
    with pytest.raises(InvalidValue):
        team_name(team)
    assert re.fullmatch(TEXT, " red\u00a0team ") and team_name(" red\u00a0team ")
