"""What every capability stands on, one floor down: the settings, the clocks and the
PostgreSQL connection pool with its schema and LISTEN thread."""
