"""What every public contract shares: its version, its schema id and its config."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

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
