"""``cml-fleet events tail``: the live stream, one line per event, as a person reads it
(or one JSON envelope per line with ``--json``). It resumes where it was when the
connection drops (``Last-Event-ID``), and stops after ``--count`` events if asked."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

import httpx

from infrastructure.console.api import UNREACHABLE, Api, Failed, answer_of

QUIET = {"worker_id", "actor", "at", "version", "correlation_id"}
RETRIES = 5


def frames(lines: Iterator[str]) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(event, id, envelope) of each SSE frame in ``lines``."""
    event, sse_id, data = "message", None, list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, sse_id, json.loads("\n".join(data))
            event, sse_id, data = "message", None, list[str]()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            sse_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def line_of(envelope: dict[str, Any], names: dict[str, str]) -> str:
    """``19:12:17  worker.paused  ccna-bootcamp  by ada  reason=manual``."""
    data = envelope.get("data") or {}
    subject = envelope.get("subject") or ""
    who = names.get(subject, subject[:8])
    details = " ".join(
        f"{k}={json.dumps(v) if isinstance(v, dict | list) else v}"
        for k, v in data.items() if k not in QUIET and v is not None
    )  # fmt: skip
    by = f"by {data['actor']}" if data.get("actor") else ""
    clock = str(envelope.get("time", ""))[11:19]
    return "  ".join(p for p in (clock, envelope["type"], who, by, details) if p)


class Tail:
    def __init__(self, api: Api, args: Any, out: TextIO, err: TextIO) -> None:
        self.api, self.args, self.out, self.err = api, args, out, err
        self.names: dict[str, str] = {}
        self.last_id: str | None = args.since
        self.shown = 0

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.args.worker:
            params["worker"] = self.args.worker
        if self.args.type:
            params["type"] = self.args.type
        if self.last_id is not None:
            params["last_event_id"] = self.last_id
        return params

    def run(self) -> int:
        failures = 0
        while True:
            try:
                if self.stream():
                    return 0
                failures = 0  # it ended (the server stopped): resume
            except httpx.HTTPError as error:
                failures += 1
                if failures > RETRIES or (self.last_id is None and self.shown == 0):
                    raise Failed(UNREACHABLE, f"cannot reach {self.api.url}: {error}") from None
            self.err.write(f"(stream ended; resuming after event {self.last_id})\n")
            time.sleep(min(2.0**failures, 10.0))  # back off before reconnecting

    def stream(self) -> bool:
        """Print frames until the stream ends; True once ``--count`` were shown."""
        timeout = httpx.Timeout(10.0, read=None)  # a quiet stream is not a dead one
        with self.api.http.stream(
            "GET", "/api/events", params=self.params(), timeout=timeout
        ) as answer:
            if not answer.is_success:
                answer.read()
                answer_of(answer)  # raises with the problem's words
            for event, sse_id, envelope in frames(answer.iter_lines()):
                if sse_id is not None:
                    self.last_id = sse_id
                if self.show(event, envelope):
                    return True
        return False

    def show(self, event: str, envelope: dict[str, Any]) -> bool:
        data = envelope.get("data") or {}
        if event in ("hello", "stream.resync"):
            self.err.write(f"({event}: {data.get('workers', 0)} workers at position "
                           f"{data.get('position')})\n")  # fmt: skip
            return False
        if event == "worker.snapshot":
            self.names[str(data.get("id"))] = str(data.get("name"))
            if not self.args.snapshots:
                return False
        if self.args.json:
            self.out.write(json.dumps(envelope) + "\n")
        else:
            self.out.write(line_of(envelope, self.names) + "\n")
        self.out.flush()
        self.shown += 1
        return self.args.count is not None and self.shown >= self.args.count


def tail(api: Api, args: Any, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        return Tail(api, args, out, err).run()
    except KeyboardInterrupt:
        return 0
