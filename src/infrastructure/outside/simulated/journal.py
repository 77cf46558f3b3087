"""The simulated world's journal: every change made to it, one JSON line each.

The world is deterministic given its seed and the changes made to it at given times,
so replaying the journal rebuilds it exactly: after a restart (or a ``kill -9``) the
simulated instances, their addresses, labs and the client tokens already used are
all still there, as they would be in AWS. Secrets are never journaled (a license
registration keeps only whether the token was accepted).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

FILE_NAME = "simulated-fleet.jsonl"


class Journal:
    """Append-only JSON lines; ``path=None`` keeps nothing (memory mode, tests)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def entries(self) -> list[dict[str, Any]]:
        if self.path is None or not self.path.exists():
            return []
        lines = self.path.read_text().splitlines()
        # A crash may cut the last line short: it never took effect for anyone.
        return [json.loads(line) for line in lines if line.strip() and line.endswith("}")]

    def append(self, entry: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = json.dumps(entry, separators=(",", ":"), sort_keys=True)
        with self._lock, self.path.open("a") as file:
            file.write(line + "\n")  # written through to the OS: survives kill -9
