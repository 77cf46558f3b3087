"""The hub of one process among several: full snapshots reach every process's clients.

Minimal notifications need nothing extra: every process follows the shared log. Full
``worker.snapshot`` frames, though, come from the metrics job, which runs only in the
leader. So when the leader broadcasts snapshots it also sends a small ``NOTIFY`` (the
position and, when they fit, the worker ids); every other process, on hearing it,
waits until its read model has that position, reads those workers' DTOs from the
shared tables and broadcasts them to its own subscribers. A payload must stay under
PostgreSQL's 8,000 bytes: beyond ``MAX_IDS`` workers it says "all of them".
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import uuid4

import anyio.to_thread

from application.changes import SettingsChange
from application.dto import CMLWorkerDto
from application.labs import LabsChanged
from application.ports import Clock
from infrastructure.fanout.envelope import SNAPSHOT
from infrastructure.fanout.hub import Hub
from infrastructure.shared.postgres.database import Database
from infrastructure.shared.settings import Settings

log = logging.getLogger(__name__)

MAX_IDS = 150  # 150 UUIDs ≈ 6 KB of JSON
MAX_MESSAGE = 7_000
SPLIT = 40  # briefed labs per part of a change too big for one message (~4 KB)
READ_WAIT_SECONDS = 5.0


def snapshots_channel(schema: str) -> str:
    return f"{schema}.snapshots"


class ClusterHub(Hub):
    """A :class:`Hub` that relays snapshot broadcasts to and from the other processes."""

    def __init__(
        self,
        read_model: Any,
        clock: Clock,
        queue_size: int,
        *,
        origin: str,
        announce: Callable[[str], object],
        flush_interval: float = 0.0,
        heartbeat: float = 15.0,
        writes_per_second: float | None = None,
    ) -> None:
        super().__init__(
            read_model,
            clock,
            queue_size,
            flush_interval=flush_interval,
            heartbeat=heartbeat,
            writes_per_second=writes_per_second,
        )
        self.origin = origin
        self._announce = announce
        self.relayed = 0

    def broadcast_snapshots(self, dtos: Sequence[CMLWorkerDto], position: int) -> None:
        """Send to this process's subscribers, and tell the other processes. On the loop."""
        super().broadcast_snapshots(dtos, position)
        loop = self._loop
        if loop is None or not dtos:
            return
        ids = [d.id for d in dtos] if len(dtos) <= MAX_IDS else None
        payload = json.dumps({"origin": self.origin, "position": position, "workers": ids})
        loop.run_in_executor(None, self._announce, payload)  # a database call: off the loop

    def broadcast_labs(self, changes: Sequence[LabsChanged]) -> asyncio.Future[None] | None:
        """Send to this process's subscribers, and tell the other processes (the
        changes themselves, in messages under PostgreSQL's payload limit)."""
        payloads = [change.payload() for change in changes]
        queued = super().publish_labs(payloads)
        loop = self._loop
        if loop is not None and payloads:
            for message in _lab_messages(self.origin, payloads):
                loop.run_in_executor(None, self._announce, message)
        return queued

    def announce(self, change: SettingsChange) -> None:
        """Send to this process's subscribers, and tell the other processes (without
        the view when the message would be too large: their clients then read it)."""
        super().announce(change)
        loop = self._loop
        if loop is None:
            return
        message = _change_message(self.origin, change)
        if len(message) > MAX_MESSAGE:
            message = _change_message(self.origin, change.without_view())
        loop.run_in_executor(None, self._announce, message)

    def on_announcement(self, payload: str) -> None:
        """Listener callback (its thread): another process broadcast snapshots."""
        loop = self._loop
        if not payload or loop is None:
            return
        message = json.loads(payload)
        if message.get("origin") == self.origin:
            return
        if "labs" in message:
            loop.call_soon_threadsafe(self.publish_labs, message["labs"])
            return
        if "change" in message:
            loop.call_soon_threadsafe(super().announce, _change_of(message["change"]))
            return
        try:
            asyncio.run_coroutine_threadsafe(self._relay(message), loop)
        except RuntimeError:  # the loop has closed: shutting down
            log.debug("hub: loop closed, snapshots not relayed")

    async def _relay(self, message: dict[str, Any]) -> None:
        if not any(s.wants_type(SNAPSHOT) for s in self._subscribers):
            return  # nobody here wants snapshots: do not even read them
        position = int(message["position"])
        if not await self._read_model.wait_until(position, READ_WAIT_SECONDS):
            log.warning("hub: read model did not reach %d; relaying older snapshots", position)
        ids = message.get("workers")
        dtos, reached = await anyio.to_thread.run_sync(self._read_model.snapshot, ids)
        self.relayed += 1
        super().broadcast_snapshots(dtos, reached)


def _change_message(origin: str, change: SettingsChange) -> str:
    teams = None if change.teams is None else sorted(change.teams)
    fields = {"type": change.type, "subject": change.subject, "data": change.data,
              "view": change.view, "teams": teams, "admins_only": change.admins_only}  # fmt: skip
    return json.dumps({"origin": origin, "change": fields})


def _change_of(fields: Mapping[str, Any]) -> SettingsChange:
    teams = fields["teams"]
    return SettingsChange(
        fields["type"], fields["subject"], fields["data"], fields["view"],
        None if teams is None else frozenset(teams), bool(fields["admins_only"]),
    )  # fmt: skip


def _lab_messages(origin: str, payloads: Sequence[Mapping[str, Any]]) -> list[str]:
    """The changes in as few messages as fit under ``MAX_MESSAGE``. A change too big
    for one goes in parts of ``SPLIT`` labs, each with its labs' ids, states and node
    counts only (titles come with the refetch)."""
    messages: list[str] = []
    batch: list[Mapping[str, Any]] = []

    def close() -> None:
        if batch:
            messages.append(json.dumps({"origin": origin, "labs": batch}))

    for whole in payloads:
        for payload in _parts(whole):
            if batch and _size(origin, [*batch, payload]) > MAX_MESSAGE:
                close()
                batch = []
            batch.append(payload)
    close()
    return messages


def _size(origin: str, batch: Sequence[Mapping[str, Any]]) -> int:
    return len(json.dumps({"origin": origin, "labs": batch}))


def _parts(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if _size("", [payload]) <= MAX_MESSAGE:
        return [payload]
    items = [("added", _brief(x)) for x in payload["added"]]
    items += [("changed", _brief(x)) for x in payload["changed"]]
    items += [("removed", x) for x in payload["removed"]]
    parts: list[Mapping[str, Any]] = []
    for start in range(0, len(items), SPLIT):
        chunk = items[start : start + SPLIT]
        parts.append({**payload, **{key: [v for k, v in chunk if k == key]
                                    for key in ("added", "changed", "removed")}})  # fmt: skip
    return parts


def _brief(lab: Mapping[str, Any]) -> dict[str, Any]:
    return {"lab_id": lab["lab_id"], "title": "", "state": lab["state"],
            "running_nodes": lab["running_nodes"], "node_count": lab["node_count"]}  # fmt: skip


def build_cluster_hub(
    settings: Settings, read_model: Any, clock: Clock, database: Database
) -> ClusterHub:
    """The hub for one of several processes on ``database``."""
    channel = snapshots_channel(database.schema)
    return ClusterHub(
        read_model,
        clock,
        settings.sse_queue_size,
        origin=uuid4().hex,
        announce=lambda payload: database.notify(channel, payload),
        flush_interval=settings.sse_flush_interval_ms / 1000,
        heartbeat=settings.sse_heartbeat_seconds,
        writes_per_second=settings.sse_writes_per_second,
    )
