"""JSON transcodings for the domain's value types (events and snapshots)."""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any

from eventsourcing.persistence import Transcoding

from domain.status import LicenseStatus, PauseReason, ServiceStatus, WorkerStatus
from domain.values import ActivityRecord, PauseRecord, Telemetry


class EnumAsValue(Transcoding):
    """An Enum member as its value."""

    def __init__(self, enum: type[Enum]) -> None:
        self.type = enum
        self.name = f"enum:{enum.__name__}"

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        member: Enum = self.type(data)
        return member


class DataclassAsDict(Transcoding):
    """A frozen dataclass as a dict of its fields (lists come back as tuples)."""

    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = f"dataclass:{cls.__name__}"
        self._names = tuple(f.name for f in fields(cls))

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._names}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


DOMAIN_TRANSCODINGS: tuple[Transcoding, ...] = (
    EnumAsValue(WorkerStatus),
    EnumAsValue(ServiceStatus),
    EnumAsValue(LicenseStatus),
    EnumAsValue(PauseReason),
    DataclassAsDict(Telemetry),
    DataclassAsDict(PauseRecord),
    DataclassAsDict(ActivityRecord),
)
