"""The event log and what is kept beside it: the eventsourcing application holding the
workers, the JSON transcodings of domain values, the workers this process saved last,
the conflicts commands retried, and the utilization history (SQLite, or
``store.postgres`` when processes share a PostgreSQL database)."""
