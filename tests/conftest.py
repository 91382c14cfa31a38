"""Shared test configuration: no test reads the developer's environment or .env; a watch on the
event loop for the tests that prove nothing blocks it."""

import asyncio
import os
import time

import pytest


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for name in list(os.environ):
        if name.startswith("TRAINERBOT_") or name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name)
    # A .env in the working directory must not leak into tests either.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


class LoopWatch:
    """Ticks on the running event loop while a block runs, recording the longest gap between ticks:
    the proof that nothing in the block blocked the loop.

        async with event_loop_watch(tick=0.005) as watch:
            await work()
        assert watch.max_gap < 0.05
    """

    def __init__(self, *, tick: float = 0.005) -> None:
        self.tick = tick
        self.ticks = 0
        self.max_gap = 0.0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last = 0.0

    def _mark(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self._last)
        self._last = now

    async def _run(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self.tick)
            self._mark()
            self.ticks += 1

    async def __aenter__(self) -> "LoopWatch":
        self._last = time.perf_counter()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # The stretch since the last tick counts too: a block that held the loop from start to
        # end, never letting the ticker run, shows as one long gap rather than none.
        self._mark()
        self._stop.set()
        assert self._task is not None
        await self._task


@pytest.fixture
def event_loop_watch() -> type[LoopWatch]:
    """``LoopWatch``: measure event-loop gaps around a block of work."""
    return LoopWatch
