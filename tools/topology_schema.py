"""Write the CML 2.9 ``Topology`` schema (with every schema it refers to) out of the
spec, for validating lab imports before they reach CML:

    .venv/bin/python tools/topology_schema.py ../shared/cml/cml-2.9-openapi.json

A test checks the committed file against the spec when the spec is at hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TARGET = Path(__file__).parent.parent / "src/infrastructure/http/labs/topology.schema.json"


def topology_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """``Topology`` as a standalone JSON Schema: its references under ``$defs``."""
    components = spec["components"]["schemas"]
    wanted, todo = {}, ["Topology"]
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted[name] = components[name]
        text = json.dumps(components[name])
        for part in text.split('"#/components/schemas/')[1:]:
            todo.append(part.split('"', 1)[0])
    text = json.dumps(dict(sorted(wanted.items()))).replace("#/components/schemas/", "#/$defs/")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/$defs/Topology",
        "$defs": json.loads(text),
    }


if __name__ == "__main__":
    source = json.loads(Path(sys.argv[1]).read_text())
    TARGET.write_text(json.dumps(topology_schema(source), indent=1, sort_keys=True) + "\n")
    print(f"wrote {TARGET}")
