"""The worker view in SQLite: one row per worker (``view``) on the read model's
connections (``connections``)."""
