"""DTO rows as JSON, and back: one generic decoder for the (nested) frozen dataclasses.

The decoder reads each dataclass's type hints once, so a new DTO field needs no change
here; only nested dataclasses (bare or in ``tuple[X, ...]``) need rebuilding, every
other value is already what ``json`` gives back.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from application.dto import CMLWorkerDto

T = TypeVar("T")
Decoder = Callable[[Any], Any]
SCALARS = frozenset({str, int, float, bool, type(None)})


def to_json(dto: Any) -> str:
    """A DTO as compact JSON (nested dataclasses as objects, tuples as arrays)."""
    return json.dumps(_plain(dto), separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` without its deep copies (DTO values are immutable)."""
    if type(value) in SCALARS:
        return value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    names = _field_names(type(value))  # type: ignore[arg-type]  # classes are hashable
    if names is None:
        return value
    values = [getattr(value, name) for name in names]
    return {n: v if type(v) in SCALARS else _plain(v) for n, v in zip(names, values, strict=True)}


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple(f.name for f in dataclasses.fields(cls))


def from_json(cls: type[T], text: str) -> T:
    """Rebuild a frozen dataclass from :func:`to_json` output."""
    decoded: T = _decoder(cls)(json.loads(text))  # type: ignore[arg-type]  # as above
    return decoded


def dto_from_json(text: str) -> CMLWorkerDto:
    return from_json(CMLWorkerDto, text)


@cache
def _decoder(cls: type) -> Decoder:
    """A function turning a JSON object into ``cls``, nested dataclasses included."""
    hints = typing.get_type_hints(cls)
    nested = {
        f.name: value_decoder
        for f in dataclasses.fields(cls)
        if (value_decoder := _value_decoder(hints[f.name])) is not None
    }

    names = frozenset(f.name for f in dataclasses.fields(cls))
    plain = not hasattr(cls, "__post_init__")

    def decode(data: dict[str, Any]) -> Any:
        for name, decode_value in nested.items():
            value = data.get(name)
            if value is not None:
                data[name] = decode_value(value)
        if plain and data.keys() == names:
            # Exactly the fields, nothing to check or default: skip the frozen __init__,
            # which costs ~50x more per DTO than the rest of the decoding.
            instance: Any = object.__new__(cls)
            instance.__dict__.update(data)
            return instance
        return cls(**data)  # raises TypeError on a missing or unknown field

    return decode


def _value_decoder(hint: Any) -> Decoder | None:
    """How to rebuild a value of type ``hint``; ``None`` when JSON already fits."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        decoder: Decoder = _decoder(hint)
        return decoder
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is tuple:
        item = _value_decoder(args[0]) if args else None
        if item is None:
            return tuple
        return lambda values: tuple(item(v) for v in values)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _value_decoder(inner[0]) if len(inner) == 1 else None
    return None


def search_text(dto: CMLWorkerDto) -> str:
    """What a free-text search matches, lowercased: name, instance id, addresses, tags."""
    parts = [dto.name, dto.instance_id, dto.public_ip, dto.private_ip, dto.public_dns]
    parts.extend(f"{key}={value}" for key, value in dto.tags.items())
    return "\n".join(p for p in parts if p).lower()
