"""The schedule store's table (``store.schedule_store``), in SQL both SQLite and
PostgreSQL take."""

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS schedules (
        name TEXT PRIMARY KEY, body TEXT NOT NULL, changed_by TEXT NOT NULL)""",
)
TABLES = ("schedules",)
