"""The operations reactor's tracked position in PostgreSQL (``reactor_tracking``).

Implements ``infrastructure.running.operations.tracking.PositionTracker``: whichever process
leads resumes the reactor where the previous leader left it, so a takeover never
carries out an operation the old leader had already settled.
"""

from __future__ import annotations

from infrastructure.shared.postgres.database import Database

ADVANCE = """
    INSERT INTO reactor_tracking (name, position) VALUES (%s, %s)
    ON CONFLICT (name) DO UPDATE SET position = excluded.position
    WHERE excluded.position > reactor_tracking.position"""


class PgPositionTracker:
    """A named position that only moves forward, shared by every process."""

    def __init__(self, db: Database, name: str = "operations") -> None:
        self._db = db
        self.name = name

    def position(self) -> int:
        row = self._db.one("SELECT position FROM reactor_tracking WHERE name = %s", (self.name,))
        return 0 if row is None else int(row[0])

    def advance(self, position: int) -> None:
        with self._db.write() as conn:
            conn.execute(ADVANCE, (self.name, position))

    def close(self) -> None:
        """Nothing to do: the shared pool is closed with the system."""
