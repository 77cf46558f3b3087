"""The single sign-on tables (``http.access.sso_store``), in the dialect both SQLite
and PostgreSQL speak; ``db init`` creates them on PostgreSQL."""

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sso_logins (
        state_hash TEXT PRIMARY KEY, sealed TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sso_sessions (
        hash TEXT PRIMARY KEY, csrf_hash TEXT NOT NULL, subject TEXT NOT NULL,
        name TEXT NOT NULL, role TEXT NOT NULL, teams TEXT NOT NULL, sealed TEXT NOT NULL,
        refresh_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL)""",
)
TABLES = ("sso_logins", "sso_sessions")
