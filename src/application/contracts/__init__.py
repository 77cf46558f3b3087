"""Public contracts (version ``v1``): REST bodies, the worker view, problem details.

Pydantic v2 models, frozen, every field described. They change only
backward-compatibly; their JSON Schemas are committed under ``schemas/v1`` and a test
fails on an incompatible change (see :mod:`application.contracts.compat`).
"""
