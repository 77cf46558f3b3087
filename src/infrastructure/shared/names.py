"""Names every backend agrees on."""

EVENT_STORE_NAME = "CMLFleet"
"""The event store application's name (``store.event_store.FleetEventStore.name``):
eventsourcing names its tables after it, in SQLite and PostgreSQL alike."""
