"""Stopping a part's background task."""

from __future__ import annotations

import asyncio


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it; a task of another event loop (a test client that
    started the app in its own loop) is cancelled there and not waited for."""
    loop = task.get_loop()
    if loop is not asyncio.get_running_loop():
        if not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
