"""Process-wide interpreter settings for a long-running server (``cml-fleet serve``).

The garbage collector's default thresholds (700, 10, 10) cost throughput and tail
latency here (measured in ``bench/``, see notes/PERFORMANCE.md): with a thousand
streams, the read model and the worker cache in memory, a full collection walks
hundreds of thousands of objects and stops every thread for a few hundred
milliseconds, several times a minute under load. Almost everything here is freed by
reference counting; the collector only has to find cycles, so it can run far less
often. Objects alive at start-up (modules, settings, the app) are frozen out of its
walks.
"""

from __future__ import annotations

import gc

from infrastructure.shared.settings import Settings


def tune_process(settings: Settings) -> None:
    """Apply ``settings``' collector thresholds."""
    gc.set_threshold(*settings.gc_thresholds)


def freeze_startup_objects() -> None:
    """Leave what exists now (after start-up) out of every later collection."""
    gc.collect()
    gc.freeze()
