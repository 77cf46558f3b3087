"""Backward-compatibility check between a committed JSON Schema and the current one.

Incompatible: a field removed, a field's type changed, a new required field (or an
optional one made required), an enum value removed. Everything else (a new optional
field, a new enum value, a new description) is compatible.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HOW_TO_VERSION = (
    "Public contracts change only backward-compatibly. Instead: add new fields as optional "
    "with a default; rename a field by keeping the old name and adding an alias; widen rather "
    "than narrow a type; keep enum values. If a breaking change is really needed, add a v2 "
    "contract next to v1 (schemas/v2/...) and keep serving v1."
)
REEXPORT = "The change is compatible: re-export with `make schemas` (cml-fleet schemas export)."

Schema = Mapping[str, Any]
_JSON_KINDS = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


@dataclass(frozen=True)
class Incompatibility:
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def incompatibilities(name: str, old: Schema, new: Schema) -> list[Incompatibility]:
    """What in ``new`` breaks a client written against ``old``."""
    checker = _Checker(old, new)
    checker.compare(old, new, name)
    return checker.found


@dataclass
class _Checker:
    old_root: Schema
    new_root: Schema
    found: list[Incompatibility] = field(default_factory=list)
    seen: set[tuple[int, int]] = field(default_factory=set)

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        old, new = _resolve(old, self.old_root), _resolve(new, self.new_root)
        if (id(old), id(new)) in self.seen:
            return
        self.seen.add((id(old), id(new)))
        old_kinds, new_kinds = _kinds(old, self.old_root), _kinds(new, self.new_root)
        if old_kinds != new_kinds or _formats(old, self.old_root) != _formats(new, self.new_root):
            self._report(path, f"type changed from {_show(old_kinds)} to {_show(new_kinds)}")
            return
        self._compare_enums(old, new, path)
        self._compare_objects(old, new, path)
        self._compare_items(old, new, path)

    def _compare_enums(self, old: Schema, new: Schema, path: str) -> None:
        old_values = _enum_values(old, self.old_root)
        new_values = _enum_values(new, self.new_root)
        if old_values is None or new_values is None:
            if old_values is None and new_values is not None:
                self._report(path, f"now restricted to the values {sorted(map(str, new_values))}")
            return
        removed = sorted(str(v) for v in old_values - new_values)
        if removed:
            self._report(path, f"enum value(s) removed: {', '.join(removed)}")

    def _compare_objects(self, old: Schema, new: Schema, path: str) -> None:
        old_obj, new_obj = (
            _variant(old, self.old_root, "object"),
            _variant(new, self.new_root, "object"),
        )
        if old_obj is None or new_obj is None:
            return
        old_props, new_props = old_obj.get("properties", {}), new_obj.get("properties", {})
        for name in sorted(set(old_props) - set(new_props)):
            self._report(f"{path}.{name}", "field removed")
        newly_required = set(new_obj.get("required", ())) - set(old_obj.get("required", ()))
        for name in sorted(newly_required):
            self._report(f"{path}.{name}", "new required field")
        for name in sorted(set(old_props) & set(new_props)):
            self.compare(old_props[name], new_props[name], f"{path}.{name}")
        old_extra, new_extra = (
            old_obj.get("additionalProperties"),
            new_obj.get("additionalProperties"),
        )
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            self.compare(old_extra, new_extra, f"{path}.*")

    def _compare_items(self, old: Schema, new: Schema, path: str) -> None:
        old_arr, new_arr = (
            _variant(old, self.old_root, "array"),
            _variant(new, self.new_root, "array"),
        )
        if old_arr is None or new_arr is None:
            return
        old_items, new_items = old_arr.get("items"), new_arr.get("items")
        if isinstance(old_items, Mapping) and isinstance(new_items, Mapping):
            self.compare(old_items, new_items, f"{path}[]")

    def _report(self, path: str, problem: str) -> None:
        self.found.append(Incompatibility(path, problem))


def _resolve(node: Schema, root: Schema) -> Schema:
    """Follow local ``$ref`` pointers (``#/$defs/Name``); a lone ``allOf`` wrapper too."""
    while True:
        if "$ref" in node:
            target: Any = root
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            node = target
        elif len(node.get("allOf", ())) == 1:
            node = node["allOf"][0]
        else:
            return node


def _variants(node: Schema, root: Schema) -> list[Schema]:
    node = _resolve(node, root)
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives is None:
        return [node]
    return [v for alt in alternatives for v in _variants(alt, root)]


def _kinds(node: Schema, root: Schema) -> frozenset[str]:
    kinds: set[str] = set()
    for variant in _variants(node, root):
        declared = variant.get("type")
        if isinstance(declared, str):
            kinds.add(declared)
        elif isinstance(declared, list):
            kinds.update(declared)
        elif "const" in variant or "enum" in variant:
            values = [variant["const"]] if "const" in variant else variant["enum"]
            kinds.update(_JSON_KINDS.get(type(v), "any") for v in values)
        else:
            kinds.add("any")
    return frozenset(kinds)


def _formats(node: Schema, root: Schema) -> frozenset[str]:
    return frozenset(str(v["format"]) for v in _variants(node, root) if "format" in v)


def _enum_values(node: Schema, root: Schema) -> set[Any] | None:
    """The allowed values, or ``None`` when any value of the type is allowed."""
    values: set[Any] = set()
    for variant in _variants(node, root):
        if "const" in variant:
            values.add(variant["const"])
        elif "enum" in variant:
            values.update(variant["enum"])
        elif variant.get("type") != "null":
            return None
    return values


def _variant(node: Schema, root: Schema, kind: str) -> Schema | None:
    return next((v for v in _variants(node, root) if v.get("type") == kind), None)


def _show(kinds: frozenset[str]) -> str:
    return " | ".join(sorted(kinds)) or "nothing"


@dataclass(frozen=True)
class SchemaReport:
    """How the current contracts compare with the committed schema files."""

    incompatible: tuple[str, ...]  # breaks clients: version instead
    outdated: tuple[str, ...]  # compatible changes not yet exported
    new: tuple[str, ...]  # contracts never exported

    @property
    def ok(self) -> bool:
        return not (self.incompatible or self.outdated or self.new)

    def explain(self) -> str:
        lines: list[str] = []
        if self.incompatible:
            lines += ["Backward-incompatible contract changes:", *self.incompatible, HOW_TO_VERSION]
        if self.outdated or self.new:
            lines += [f"Changed: {name}" for name in self.outdated]
            lines += [f"New, not exported: {name}" for name in self.new]
            lines.append(REEXPORT if not self.incompatible else "")
        return "\n".join(line for line in lines if line)


def compare_schemas(committed: Mapping[str, str], current: Mapping[str, str]) -> SchemaReport:
    """Compare ``{path: text}`` of the committed files with the current rendering."""
    incompatible: list[str] = []
    for path in sorted(set(committed) - set(current)):
        incompatible.append(f"{path}: contract removed")
    outdated = []
    for path in sorted(set(committed) & set(current)):
        if committed[path] == current[path]:
            continue
        old, new = json.loads(committed[path]), json.loads(current[path])
        found = incompatibilities(path.removesuffix(".json"), old, new)
        incompatible += [str(i) for i in found]
        if not found:
            outdated.append(path)
    new_paths = tuple(sorted(set(current) - set(committed)))
    return SchemaReport(tuple(incompatible), tuple(outdated), new_paths)
