"""The CML 2.9 OpenAPI spec as a test oracle: which operations exist, and whether a
request or an answer is one the spec allows (``jsonschema`` + ``referencing``, with
every ``$ref`` resolved inside the spec document)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).resolve().parents[1] / "contract" / "cml-2.9-openapi.json"
SPEC_URI = "urn:cml-2.9-openapi"
METHODS = ("get", "put", "post", "delete", "patch")
NO_BODY = object()
"""An answer without a body (``204``, or a status the spec gives no content)."""


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    definition: Mapping[str, Any]

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def needs_auth(self) -> bool:
        return bool(self.definition.get("security"))

    def pointer(self, *parts: str) -> str:
        """A JSON pointer into this operation's definition."""
        escaped = [p.replace("~", "~0").replace("/", "~1") for p in (self.template, *parts)]
        return "#/paths/" + "/".join([escaped[0], self.method.lower(), *escaped[1:]])

    def parameters(self, where: str) -> dict[str, Mapping[str, Any]]:
        return {
            p["name"]: p.get("schema", {})
            for p in self.definition.get("parameters", [])
            if p.get("in") == where
        }


class CmlSpec:
    """Operations by method and path, and validators for their bodies."""

    def __init__(self, path: Path = SPEC_FILE) -> None:
        self.document = json.loads(path.read_text())
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self.operations = {
            (method.upper(), template): Operation(method.upper(), template, item[method])
            for template, item in self.document["paths"].items()
            for method in METHODS
            if method in item
        }
        # Literal paths win over templated ones (``/labs/x`` vs ``/labs/{lab_id}``).
        self._routes = sorted(
            ((_regex(template), template) for template in self.document["paths"]),
            key=lambda route: route[1].count("{"),
        )

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation at ``path`` (relative to ``/api/v0``) and its path values."""
        for regex, template in self._routes:
            found = regex.fullmatch(path)
            operation = self.operations.get((method, template))
            if found and operation is not None:
                return operation, found.groupdict()
        return None

    def validator(self, pointer: str) -> Any:
        return _validator(self, pointer)

    def request_errors(self, operation: Operation, body: Any) -> list[str]:
        """Where a request body breaks the spec (paths only: never echo values)."""
        if "requestBody" not in operation.definition:
            return [] if body is None else ["this operation takes no body"]
        pointer = operation.pointer("requestBody", "content", "application/json", "schema")
        return [error.json_path for error in self.validator(pointer).iter_errors(body)]

    def query_errors(self, operation: Operation, query: Mapping[str, str]) -> list[str]:
        allowed = operation.parameters("query")
        errors = [
            f"{operation.key}: unknown query parameter {n}" for n in query if n not in allowed
        ]
        for name, value in query.items():
            if name in allowed and _is_boolean(allowed[name]) and value not in ("true", "false"):
                errors.append(f"{operation.key}: {name}={value} is not a boolean")
        return errors

    def path_errors(self, operation: Operation, values: Mapping[str, str]) -> list[str]:
        schemas = operation.parameters("path")
        return [
            f"{operation.key}: bad {name}"
            for name, value in values.items()
            if not jsonschema.Draft202012Validator(schemas.get(name, {})).is_valid(value)
        ]

    def response_errors(self, operation: Operation, status: int, body: Any) -> list[str]:
        """Where an answer breaks the spec: its status, its presence, its schema."""
        responses = operation.definition["responses"]
        answer = responses.get(str(status)) or responses.get("default")
        if answer is None:
            return [f"{operation.key}: status {status} is not in the spec"]
        content = answer.get("content", {}).get("application/json")
        if content is None:
            ok = body is NO_BODY
            return [] if ok else [f"{operation.key}: status {status} has no body in the spec"]
        if body is NO_BODY:
            return [f"{operation.key}: status {status} needs a body"]
        code = str(status) if str(status) in responses else "default"
        pointer = operation.pointer("responses", code, "content", "application/json", "schema")
        return [
            f"{operation.key} {status}: {error.message} at {error.json_path}"
            for error in self.validator(pointer).iter_errors(body)
        ]


@cache
def load_spec() -> CmlSpec:
    """The spec, parsed once per test session."""
    return CmlSpec()


@cache
def _validator(spec: CmlSpec, pointer: str) -> Any:
    return jsonschema.Draft202012Validator(
        {"$ref": SPEC_URI + pointer},
        registry=spec._registry,
        format_checker=jsonschema.FormatChecker(),
    )


def _regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(pattern)


def _is_boolean(schema: Mapping[str, Any]) -> bool:
    options = [schema, *schema.get("anyOf", [])]
    return any(option.get("type") == "boolean" for option in options)
