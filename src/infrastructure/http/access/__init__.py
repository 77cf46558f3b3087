"""Who may call: tokens and browser sessions, stored only as hashes, in a small database
shared by threads (``sqlite``) or on the PostgreSQL pool (``postgres``), both behind the
``SmallDb`` interface."""
