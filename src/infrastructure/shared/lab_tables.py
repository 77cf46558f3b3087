"""The tables of the lab store (``store.lab_store``), in SQL both SQLite and PostgreSQL
take: ``worker_labs`` (each worker's labs as last seen) and ``lab_imports`` (topologies
waiting for the operations engine)."""

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS worker_labs (
        worker_id TEXT NOT NULL, lab_id TEXT NOT NULL, title TEXT NOT NULL, owner_id TEXT,
        owner_username TEXT, state TEXT NOT NULL, node_count INTEGER NOT NULL,
        running_nodes INTEGER, link_count INTEGER, created TEXT, modified TEXT,
        seen_at TEXT NOT NULL, PRIMARY KEY (worker_id, lab_id))""",
    "CREATE INDEX IF NOT EXISTS worker_labs_owner ON worker_labs (owner_username)",
    """CREATE TABLE IF NOT EXISTS lab_imports (
        key TEXT PRIMARY KEY, topology TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL)""",
)
