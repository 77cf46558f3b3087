"""One ``cml-fleet serve`` per SQLite data directory.

Two servers on one directory would both run the jobs and the operations reactor, so
cloud actions could be carried out twice. ``serve`` holds an exclusive ``flock`` on
``<data dir>/serve.lock`` for as long as it runs (the kernel drops it when the process
ends, ``kill -9`` included) and writes who holds it, so a second one is refused with a
line naming the first. The other commands (``token create``, ...) do not take it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

LOCK_FILE = "serve.lock"


class DataDirInUse(RuntimeError):
    """Another process serves this data directory."""

    def __init__(self, data_dir: Path, holder: str) -> None:
        self.data_dir, self.holder = data_dir, holder
        super().__init__(
            f"{data_dir} is already served by {holder}; stop it first, or give this one "
            "another --data-dir (several processes share a fleet on PostgreSQL only)"
        )


@dataclass
class DataDirLock:
    """The held lock; :meth:`release` (or the process's end) lets another serve."""

    file: IO[str]

    def record(self, url: str) -> None:
        """Say who holds it, for the message a second process prints."""
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "url": url,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.file.seek(0)
        self.file.truncate()
        self.file.write(json.dumps(holder))
        self.file.flush()

    def release(self) -> None:
        self.file.close()


def hold(data_dir: Path) -> DataDirLock:
    """Take the directory for this process, or raise :class:`DataDirInUse`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    file = (data_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = _describe(file.read())
        file.close()
        raise DataDirInUse(data_dir, holder) from None
    return DataDirLock(file)


def _describe(text: str) -> str:
    try:
        who = json.loads(text)
        return f"pid {who['pid']} on {who['host']} ({who['url']}, since {who['since']})"
    except (ValueError, KeyError, TypeError):
        return "another process (starting)"
