"""Shared test configuration: no test reads the developer's environment or .env; a watch on the
event loop for the tests that prove nothing blocks it; the markers ``make test-fast`` leaves out.
"""

import asyncio
import os
import tempfile
import time
from pathlib import Path

import pytest

# A real PostgreSQL server for the tests that ask for one: the ``postgres_server`` (session) and
# ``postgres_url`` (a fresh database per test) fixtures of tests/postgres_support.py.
pytest_plugins = ["postgres_support"]

# --- markers ---------------------------------------------------------------------------------
# ``make test-fast`` runs ``-m "not (slow or engine or subprocess or discord)"``; ``make test``
# runs everything. Rather than decorating hundreds of tests, tests are marked here by where they
# live, by the fixtures they use and by what their module drives. A test may also mark itself
# (``@pytest.mark.slow``), as a test that turns out slow in its own folder should.

TESTS = Path(__file__).parent

# Where a test lives, below tests/ → its markers: a folder ("e2e/"), a module, or one test of a
# module ("module.py::test_name", its parametrized cases included).
PATH_MARKS: dict[str, tuple[str, ...]] = {
    # Whole programs in child processes: the CLI, the console over a real workspace, crashes.
    "e2e/": ("subprocess", "slow"),
    # Large tables of hostile input through every command and front end.
    "robustness/": ("slow",),
    "robustness/test_crash_durability.py": ("subprocess", "slow"),
    "e2e/test_shards.py": ("subprocess", "slow", "discord"),
    "adapters/discord/": ("discord",),
    # Real models: MiniLM, llama.cpp, LoRA with torch, Sphinx and Whisper.
    "adapters/embeddings/": ("engine", "slow"),
    "adapters/llama/": ("engine", "slow"),
    "adapters/learning/test_learning_lora.py": ("engine", "slow"),
    "adapters/learning/test_learning_classifier_semantic.py": ("engine", "slow"),
    "adapters/audio/test_recognition_sphinx.py": ("engine", "slow"),
    "adapters/audio/test_recognition_whisper.py": ("engine", "slow"),
    "adapters/audio/test_whisper_offline.py": ("engine", "slow"),
    "adapters/audio/test_transcribe_end_to_end.py": ("engine", "slow"),
    # `trainerbot doctor` as a program, against the fake OpenAI server.
    "adapters/openai/test_doctor_models.py": ("subprocess", "slow"),
    # Single tests that start processes or take seconds.
    "adapters/openai/test_openai_restart.py::"
    "test_a_job_is_resumed_after_a_restart_from_what_the_workspace_recorded": ("slow",),
    "adapters/openai/test_openai_chat.py::"
    "test_secrets_appear_in_no_error_and_no_log_line_for_any_fault": ("slow",),
    "adapters/storage/test_storage_jsonl.py::"
    "test_concurrent_appends_from_processes_never_interleave": ("subprocess", "slow"),
    "adapters/learning/test_learning_artifacts.py::test_a_new_process_reads_what_this_one_saved": (
        "subprocess",
    ),
}

# Fixture → markers, for tests anywhere that use it.
FIXTURE_MARKS: dict[str, tuple[str, ...]] = {
    # Real speech in every container, synthesised and encoded with ffmpeg once per session.
    "audio_fixtures": ("slow", "subprocess"),
    # A real PostgreSQL server, started once per session (postgres_url depends on it).
    "postgres_server": ("slow", "subprocess"),
}

# A module that imports one of these drives that front end.
MODULE_MARKS: dict[str, tuple[str, ...]] = {
    "discord.ext.test": ("discord",),
}


def _markers_for(item: pytest.Item) -> set[str]:
    names: set[str] = set()
    try:
        where = item.path.relative_to(TESTS).as_posix()
    except ValueError:
        return names
    test = f"{where}::{getattr(item, 'originalname', item.name)}"
    for place, markers in PATH_MARKS.items():
        if place in (where, test) or (place.endswith("/") and where.startswith(place)):
            names.update(markers)
    for fixture in getattr(item, "fixturenames", ()):
        names.update(FIXTURE_MARKS.get(fixture, ()))
    module = getattr(item, "module", None)
    if module is not None:
        imported = {getattr(value, "__name__", None) for value in vars(module).values()}
        for name, markers in MODULE_MARKS.items():
            if name in imported:
                names.update(markers)
    return names


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for name in sorted(_markers_for(item) - {m.name for m in item.iter_markers()}):
            item.add_marker(name)


# --- environment -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _working_directories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every test's working directory. (``mktemp`` scans its parent for the next
    number: a numbered folder per test beside every ``tmp_path`` made the session quadratic.)"""
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, _working_directories: Path) -> None:
    for name in list(os.environ):
        if name.startswith("TRAINERBOT_") or name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name)
    # A .env in the working directory must not leak into tests either.
    monkeypatch.chdir(tempfile.mkdtemp(dir=_working_directories))


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
