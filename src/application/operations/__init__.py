"""The operations engine: carries out requested cloud and CML operations.

Requests are events (``Created``, ``StartRequested``, ``Paused``, ...). The reactor
(``infrastructure.running.operations``) follows the log and hands each request to
:class:`~application.operations.engine.OperationEngine`, which checks the real state,
acts through the cloud and CML ports (retrying transient errors with backoff and
jitter) and records the outcome through the command handlers. Every flow is
idempotent: run twice (after a crash) it does nothing the second time, so
at-least-once delivery gives exactly-once effects.
"""
