"""A lab topology to import, as operators send it (CML's YAML), read and checked
before anything reaches CML: at most ``limit`` bytes, UTF-8, plain YAML (no anchors or
aliases, so no "billion laughs"), and valid against the CML 2.9 ``Topology`` schema
(``topology.schema.json``, written out of the spec by ``tools/topology_schema.py``)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from jsonschema import Draft202012Validator

TOPOLOGY_MEDIA = "application/yaml"
"""How a topology travels: CML's YAML."""


class TopologyRejected(ValueError):
    """Why a topology cannot be imported (said to the operator as it is)."""


class _PlainLoader(yaml.SafeLoader):  # type: ignore[misc]
    """The safe loader without anchors and aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise TopologyRejected("YAML aliases (*name) are not accepted in a topology")
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise TopologyRejected("YAML anchors (&name) are not accepted in a topology")
        return super().compose_node(parent, index)


@cache
def topology_schema() -> dict[str, Any]:
    """The CML 2.9 ``Topology`` schema (``$ref`` to ``$defs``), as committed."""
    text = files(__package__).joinpath("topology.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def openapi_schemas(prefix: str = "Cml") -> tuple[str, dict[str, Any]]:
    """The schema's definitions as OpenAPI components, each named ``prefix`` + its
    name (so none meets one of ours), and the name of the topology's."""
    text = json.dumps(topology_schema()["$defs"])
    text = text.replace('"#/$defs/', f'"#/components/schemas/{prefix}')
    return f"{prefix}Topology", {prefix + k: v for k, v in json.loads(text).items()}


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(topology_schema())


def parse_topology(raw: bytes, limit: int) -> dict[str, Any]:
    """The topology in ``raw`` as the JSON body CML's ``POST /import`` takes."""
    if not raw.strip():
        raise TopologyRejected("the body is empty: send the lab's YAML")
    if len(raw) > limit:
        raise TopologyRejected(f"the topology is {len(raw)} bytes; at most {limit} are accepted")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TopologyRejected("the topology is not UTF-8 text") from None
    try:
        document = yaml.load(text, Loader=_PlainLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TopologyRejected(f"the topology is not valid YAML{where}") from None
    if not isinstance(document, dict):
        raise TopologyRejected("the topology must be a YAML mapping with lab, nodes and links")
    document = json.loads(json.dumps(document, default=str))  # dates as text, as CML reads them
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise TopologyRejected(f"not a CML topology: {where}: {first.message[:200]}{more}")
    return dict(document)
