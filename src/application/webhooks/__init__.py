"""Webhook notifications: who wants which events (``subscriptions``), what is sent and
how it is signed (``messages``), and where subscriptions and deliveries are kept
(``ports``). The delivering itself is ``infrastructure.running.webhooks``."""
