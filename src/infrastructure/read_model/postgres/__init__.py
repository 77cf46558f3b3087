"""The worker view on PostgreSQL, shared by every process: tables (``view``), the keyset
listing as PostgreSQL SQL (``listing``) and cost ledgers folded in the write transaction
(``costs``)."""
