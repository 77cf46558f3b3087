"""Time only the metrics job's first cycle of a freshly seeded fleet (the figure of
``bench_job_cycle`` that is the most expensive to repeat), to compare two trees:

    .venv/bin/python bench/first_cycle.py 10000
    cd /tmp/before-f7 && /work/main/.venv/bin/python /work/main/bench/first_cycle.py 10000

Run from a tree's root, it uses that tree's ``bench.job_fleet`` and source (the second line: a
worktree of an earlier commit, ``git worktree add /tmp/before-f7 f7efeb2``, whose settings
module sits elsewhere).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path.cwd()), str(Path.cwd() / "src")]

from bench.job_fleet import JobFleet  # noqa: E402


def _tune() -> None:
    """The garbage collector's thresholds as ``serve`` sets them (the module moved)."""
    for runtime, settings in (
        ("infrastructure.wiring.runtime", "infrastructure.shared.settings"),
        ("infrastructure.runtime", "infrastructure.settings"),
    ):
        try:
            tune = importlib.import_module(runtime).tune_process
            tune(importlib.import_module(settings).Settings())
            return
        except ImportError:
            continue


async def main(count: int) -> None:
    _tune()
    with tempfile.TemporaryDirectory() as tmp:
        fleet = JobFleet(Path(tmp) / "fleet")
        fleet.seed(count)
        await fleet.system.start()
        await fleet.caught_up()
        cpu = time.process_time()
        first = await fleet.cycle()
        cpu = time.process_time() - cpu
        print(f"first cycle of {count:,} workers: {first.duration_seconds:.2f} s ({cpu:.2f} s CPU)")
        await fleet.system.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
