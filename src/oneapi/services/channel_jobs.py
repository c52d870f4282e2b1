"""Background work on channels (the test sweep, the balance refresh): one run of each at a time.

Jobs run in this worker's event loop, are named so a second start while one runs is refused, may
repeat every N minutes, and are all cancelled when the app shuts down (before the database closes).
The instance lives in `AppState.background`, so handlers and the lifespan share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from oneapi.state import AppState

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class ChannelJobs:
    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[None]] = {}
        self._timers: list[asyncio.Task[None]] = []

    def running(self, name: str) -> bool:
        task = self._running.get(name)
        return task is not None and not task.done()

    def start(self, name: str, job: Job) -> bool:
        """Start `job` in the background unless a job of that name is still running."""
        if self.running(name):
            return False
        self._running[name] = asyncio.create_task(self._guarded(name, job), name=f"channel-{name}")
        return True

    def every(self, minutes: int, name: str, job: Job) -> None:
        """Also run `job` every `minutes` (a round is skipped while one started by hand still runs)."""
        self._timers.append(asyncio.create_task(self._repeat(minutes, name, job)))

    async def close(self) -> None:
        tasks = [*self._timers, *self._running.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _repeat(self, minutes: int, name: str, job: Job) -> None:
        while True:
            await asyncio.sleep(minutes * 60)
            if self.start(name, job):
                await self._running[name]

    @staticmethod
    async def _guarded(name: str, job: Job) -> None:
        try:
            await job()
        except Exception:  # a failed run is logged; the next one starts afresh
            log.exception("channel %s job failed", name)


def jobs_of(state: AppState) -> ChannelJobs:
    """This worker's ChannelJobs, created on first use."""
    for item in state.background:
        if isinstance(item, ChannelJobs):
            return item
    jobs = ChannelJobs()
    state.background.append(jobs)
    return jobs
