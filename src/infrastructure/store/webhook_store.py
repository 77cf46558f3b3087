"""Webhook subscriptions and deliveries (``application.webhooks.ports.WebhookStore``):
SQLite (``webhooks.sqlite`` in the data dir, or memory) or PostgreSQL tables every
process shares. The signing secrets are kept here (the sender needs them); the API never
shows them."""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from application.webhooks.messages import event_json
from application.webhooks.ports import Attempt, Delivery, NewDelivery, State
from application.webhooks.subscriptions import Subscription
from infrastructure.shared.settings import Settings
from infrastructure.shared.webhook_tables import SQLITE_SCHEMA
from infrastructure.store.sqlite_file import SqliteFile

FILE_NAME = "webhooks.sqlite"
FOLLOWER = "webhooks"
COLUMNS = (
    "d.id, d.subscription_id, d.position, e.event_id, e.event_type, e.event, d.state,"
    " d.attempts, d.next_attempt_at, d.created_at, d.last_attempt_at, d.last_status,"
    " d.last_error, d.delivered_at"
)
FROM = " FROM webhook_deliveries d JOIN webhook_events e ON e.position = d.position"
ERROR_LENGTH = 300


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=int(row[0]),
        subscription_id=row[1],
        position=int(row[2]),
        event_id=row[3],
        event_type=row[4],
        event_json=row[5],
        state=row[6],
        attempts=int(row[7]),
        next_attempt_at=float(row[8]),
        created_at=float(row[9]),
        last_attempt_at=row[10],
        last_status=row[11],
        last_error=row[12],
        delivered_at=row[13],
    )


class SqlWebhookStore(ABC):
    """The store on any SQL database (``_sql``, ``_transaction`` and ``close`` from
    ``SqliteFile`` or ``PgTables``)."""

    @abstractmethod
    def _transaction(self) -> Any: ...

    @abstractmethod
    def _sql(self, text: str) -> str: ...

    @abstractmethod
    def close(self) -> None: ...

    def _all(self, text: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._transaction() as db:
            return list(db.execute(self._sql(text), tuple(args)).fetchall())

    # -- subscriptions --------------------------------------------------------------

    def add(self, subscription: Subscription) -> bool:
        body = json.dumps(dataclasses.asdict(subscription))
        with self._transaction() as db:
            taken = db.execute(
                self._sql("SELECT 1 FROM webhook_subscriptions WHERE id = ?"), (subscription.id,)
            ).fetchall()
            if taken:
                return False
            db.execute(
                self._sql("INSERT INTO webhook_subscriptions (id, body) VALUES (?, ?)"),
                (subscription.id, body),
            )
        return True

    def subscriptions(self) -> Sequence[Subscription]:
        rows = self._all("SELECT body FROM webhook_subscriptions ORDER BY id")
        return [_subscription(body) for (body,) in rows]

    def subscription(self, subscription_id: str) -> Subscription | None:
        rows = self._all("SELECT body FROM webhook_subscriptions WHERE id = ?", (subscription_id,))
        return _subscription(rows[0][0]) if rows else None

    def remove(self, subscription_id: str) -> bool:
        with self._transaction() as db:
            found = db.execute(
                self._sql("SELECT 1 FROM webhook_subscriptions WHERE id = ?"), (subscription_id,)
            ).fetchall()
            for table, column in (("webhook_deliveries", "subscription_id"),
                                  ("webhook_subscriptions", "id")):  # fmt: skip
                db.execute(self._sql(f"DELETE FROM {table} WHERE {column} = ?"), (subscription_id,))
            db.execute(
                "DELETE FROM webhook_events WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
                " WHERE d.position = webhook_events.position)"
            )
        return bool(found)

    # -- the follower ---------------------------------------------------------------

    def position(self) -> int:
        rows = self._all("SELECT position FROM webhook_tracking WHERE name = ?", (FOLLOWER,))
        return int(rows[0][0]) if rows else 0

    def enqueue(self, deliveries: Sequence[NewDelivery], position: int, now: float) -> None:
        with self._transaction() as db:
            rows = db.execute(
                self._sql(f"SELECT position FROM webhook_tracking WHERE name = ?{self._row_lock}"),
                (FOLLOWER,),
            ).fetchall()
            if rows and int(rows[0][0]) >= position:
                return  # already queued (another leader, or a replay after a crash)
            events = {d.position: d.event for d in deliveries}
            db.executemany(
                self._sql(
                    "INSERT INTO webhook_events (position, event_id, event_type, event)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (position) DO NOTHING"
                ),
                [(p, e["id"], e["data"]["type"], event_json(e)) for p, e in events.items()],
            )
            db.executemany(
                self._sql(
                    "INSERT INTO webhook_deliveries (subscription_id, position, state,"
                    " attempts, next_attempt_at, created_at) VALUES (?, ?, 'pending', 0, ?, ?)"
                    " ON CONFLICT (subscription_id, position) DO NOTHING"
                ),
                [(d.subscription_id, d.position, now, now) for d in deliveries],
            )
            db.execute(
                self._sql(
                    "INSERT INTO webhook_tracking (name, position) VALUES (?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET position = excluded.position"
                ),
                (FOLLOWER, position),
            )

    _row_lock = ""  # PostgreSQL: " FOR UPDATE"

    # -- the sender -----------------------------------------------------------------

    def due(self, now: float, limit: int) -> Sequence[Delivery]:
        rows = self._all(
            f"SELECT {COLUMNS}{FROM} WHERE d.state = 'pending'"
            " AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?",
            (now, limit),
        )
        return [_delivery(r) for r in rows]

    def record(self, attempts: Sequence[Attempt]) -> None:
        rows = []
        for a in attempts:
            state = "delivered" if a.ok else ("pending" if a.next_attempt_at else "dead")
            error = None if a.error is None else a.error[:ERROR_LENGTH]
            delivered = a.at if a.ok else None
            rows.append((a.at, a.status, error, state, a.next_attempt_at or a.at, delivered,
                         a.delivery_id))  # fmt: skip
        with self._transaction() as db:
            db.executemany(
                self._sql(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1,"
                    " last_attempt_at = ?, last_status = ?, last_error = ?, state = ?,"
                    " next_attempt_at = ?, delivered_at = ?"
                    " WHERE id = ? AND state = 'pending'"
                ),
                rows,
            )

    # -- the admin's view -----------------------------------------------------------

    def deliveries(
        self, subscription_id: str | None, state: State | None, limit: int
    ) -> Sequence[Delivery]:
        where, args = [], []
        for column, value in (("d.subscription_id", subscription_id), ("d.state", state)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._all(
            f"SELECT {COLUMNS}{FROM}{clause} ORDER BY d.id DESC LIMIT ?",
            (*args, limit),
        )
        return [_delivery(r) for r in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        rows = self._all(
            "SELECT subscription_id, state, COUNT(*) FROM webhook_deliveries"
            " GROUP BY subscription_id, state"
        )
        found: dict[str, dict[str, int]] = {}
        for subscription_id, state, count in rows:
            found.setdefault(subscription_id, {})[state] = int(count)
        return found

    def resend(self, delivery_id: int, now: float) -> bool:
        with self._transaction() as db:
            found = db.execute(
                self._sql("SELECT 1 FROM webhook_deliveries WHERE id = ? AND state = 'dead'"),
                (delivery_id,),
            ).fetchall()
            db.execute(
                self._sql(
                    "UPDATE webhook_deliveries SET state = 'pending', attempts = 0,"
                    " next_attempt_at = ? WHERE id = ? AND state = 'dead'"
                ),
                (now, delivery_id),
            )
        return bool(found)

    def prune(self, before: float) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                self._sql(
                    "DELETE FROM webhook_deliveries WHERE state = 'delivered' AND delivered_at < ?"
                ),
                (before,),
            )
            pruned = int(cursor.rowcount or 0)
            db.execute(
                "DELETE FROM webhook_events WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
                " WHERE d.position = webhook_events.position)"
            )
        return pruned


def _subscription(body: str) -> Subscription:
    fields = json.loads(body)
    fields["events"] = tuple(fields["events"])
    return Subscription(**fields)


class SqliteWebhookStore(SqliteFile, SqlWebhookStore):
    def __init__(self, path: Any) -> None:
        super().__init__(path, SQLITE_SCHEMA)


def open_webhook_store(settings: Settings, database: Any = None) -> SqlWebhookStore:
    """A file in the data dir, memory, or the PostgreSQL tables on ``database``."""
    if database is not None:
        from infrastructure.store.postgres.tables import PgTables

        class PgWebhookStore(PgTables, SqlWebhookStore):
            _row_lock = " FOR UPDATE"

        return PgWebhookStore(database)
    return SqliteWebhookStore(settings.data_file(FILE_NAME))
