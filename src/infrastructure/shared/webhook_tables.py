"""The webhook store's tables (``store.webhook_store``): subscriptions, the events
queued for them (each once, however many subscriptions want it), their deliveries, and
the follower's position in the log, for SQLite and PostgreSQL."""


def _schema(serial: str) -> tuple[str, ...]:
    return (
        """CREATE TABLE IF NOT EXISTS webhook_subscriptions (
            id TEXT PRIMARY KEY, body TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS webhook_events (
            position BIGINT PRIMARY KEY, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
            event TEXT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS webhook_deliveries (
            id {serial}, subscription_id TEXT NOT NULL, position BIGINT NOT NULL,
            state TEXT NOT NULL, attempts INTEGER NOT NULL,
            next_attempt_at DOUBLE PRECISION NOT NULL, created_at DOUBLE PRECISION NOT NULL,
            last_attempt_at DOUBLE PRECISION, last_status INTEGER, last_error TEXT,
            delivered_at DOUBLE PRECISION, UNIQUE (subscription_id, position))""",
        """CREATE INDEX IF NOT EXISTS webhook_deliveries_due
            ON webhook_deliveries (state, next_attempt_at, id)""",
        """CREATE INDEX IF NOT EXISTS webhook_deliveries_by_position
            ON webhook_deliveries (position)""",
        """CREATE INDEX IF NOT EXISTS webhook_deliveries_by_subscription
            ON webhook_deliveries (subscription_id, id)""",
        """CREATE TABLE IF NOT EXISTS webhook_tracking (
            name TEXT PRIMARY KEY, position BIGINT NOT NULL)""",
        "CREATE TABLE IF NOT EXISTS budgets (name TEXT PRIMARY KEY, body TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS budget_alerts (
            id {serial}, budget TEXT NOT NULL, month TEXT NOT NULL,
            threshold INTEGER NOT NULL, spend DOUBLE PRECISION NOT NULL, at TEXT NOT NULL,
            UNIQUE (budget, month, threshold))""",
        """CREATE TABLE IF NOT EXISTS budget_lifts (
            budget TEXT NOT NULL, month TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL,
            PRIMARY KEY (budget, month))""",
    )


SQLITE_SCHEMA = _schema("INTEGER PRIMARY KEY AUTOINCREMENT")
PG_SCHEMA = _schema("BIGSERIAL PRIMARY KEY")
TABLES = (
    *("webhook_subscriptions", "webhook_events", "webhook_deliveries", "webhook_tracking"),
    *("budgets", "budget_alerts", "budget_lifts"),
)
