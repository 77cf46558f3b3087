"""The CMLWorker domain: aggregate, events, value objects and pure policies.

Imports nothing but the standard library and ``eventsourcing.domain``.
"""
