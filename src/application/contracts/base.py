"""What every public contract shares: its version, its schema id and its config."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

VERSION = "v1"


def schema_id(name: str, version: str = VERSION) -> str:
    """The stable identifier of a contract's JSON Schema (also its file name)."""
    return f"urn:cml-fleet:schema:{version}:{name}"


class RequestContract(BaseModel):
    """A request body: immutable; unknown fields, and values of another JSON type than
    the field's (``"yes"`` for a boolean, ``"30"`` for a number), are refused (422
    naming them)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class ResponseContract(BaseModel):
    """A response body: immutable."""

    model_config = ConfigDict(frozen=True)


class ExactJsonSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema, saying all that validation checks: a map whose keys have a
    pattern refuses other keys (pydantic renders it as ``patternProperties``, which lets
    any other key through)."""

    def dict_schema(self, schema: core_schema.DictSchema) -> dict[str, Any]:
        result = super().dict_schema(schema)
        patterns = result.pop("patternProperties", None)
        if patterns:
            ((key_pattern, values),) = patterns.items()
            result["additionalProperties"] = values
            result["propertyNames"] = {**result.get("propertyNames", {}), "pattern": key_pattern}
        return result
