"""The public worker view, generated from ``CMLWorkerDto``: the field list is written once.

Each DTO dataclass becomes a frozen pydantic model with the same fields, types,
defaults and descriptions (from each field's ``metadata["doc"]``); nested DTO
dataclasses become nested views. Adding a field to the DTO adds it here.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from application.dto import ActivityDto, CMLWorkerDto, PauseDto

VIEW_CONFIG = ConfigDict(frozen=True)


def view_of(
    dto_type: type[Any], name: str, views: dict[type[Any], type[BaseModel]]
) -> type[BaseModel]:
    """A frozen pydantic model mirroring the dataclass ``dto_type``."""
    hints = typing.get_type_hints(dto_type)
    definitions: dict[str, Any] = {}
    for f in dataclasses.fields(dto_type):
        annotation = _translate(hints[f.name], views)
        definitions[f.name] = (annotation, Field(_default_of(f), description=f.metadata["doc"]))
    model: type[BaseModel] = create_model(
        name,
        __config__=VIEW_CONFIG,
        __doc__=dto_type.__doc__,
        __module__=__name__,
        **definitions,
    )
    views[dto_type] = model
    return model


def _default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return ...


def _translate(annotation: Any, views: dict[type[Any], type[BaseModel]]) -> Any:
    """Replace DTO dataclasses by their views, inside unions and containers too."""
    if annotation in views:
        return views[annotation]
    args = typing.get_args(annotation)
    if not args:
        return annotation
    translated = tuple(a if a is Ellipsis else _translate(a, views) for a in args)
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        return functools.reduce(operator.or_, translated)
    return origin[translated]


_VIEWS: dict[type[Any], type[BaseModel]] = {}

if typing.TYPE_CHECKING:
    # Type checkers see plain models; at run time the views are generated.
    class ActivityView(BaseModel): ...

    class PauseView(BaseModel): ...

    class WorkerView(BaseModel): ...

else:
    ActivityView = view_of(ActivityDto, "ActivityView", _VIEWS)
    PauseView = view_of(PauseDto, "PauseView", _VIEWS)
    WorkerView = view_of(CMLWorkerDto, "WorkerView", _VIEWS)
