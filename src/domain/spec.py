"""What a worker is asked to be, as given when it is created or imported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkerSpec:
    """Its name, where and on what it runs, its tags, and its idle-detection settings
    (``idle_timeout_minutes`` ``None``: the fleet's default)."""

    name: str
    region: str
    instance_type: str
    ami_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    idle_detection_enabled: bool = True
    idle_timeout_minutes: int | None = None
