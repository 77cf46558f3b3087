"""Webhook delivery, a leader part: :mod:`.outbox` turns the log's events into
delivery rows (with its position, atomically), :mod:`.sender` sends them."""
