"""The console follows the jobs it starts while it runs, and after a restart, writing each change
and the outcome as they happen."""

from __future__ import annotations

import asyncio
import io
import queue
import re

import pytest
from dependency_injector import providers

from trainerbot.adapters.console import Console
from trainerbot.adapters.memory import InMemoryModelTrainer, InMemoryWorkspace
from trainerbot.config import Settings
from trainerbot.container import Container, create_container
from trainerbot.core.entities import JobStatus

CHAT_LINES = "\n".join(
    f'{{"messages":[{{"role":"user","content":"q{i}"}},{{"role":"assistant","content":"a{i}"}}]}}'
    for i in range(20)
)


class Typed:
    """A console's input that the test types into: ``readline`` waits for the next line."""

    def __init__(self) -> None:
        self._lines: queue.Queue[str] = queue.Queue()

    def type(self, line: str) -> None:
        self._lines.put(line + "\n")

    def end(self) -> None:
        self._lines.put("")

    def readline(self) -> str:
        return self._lines.get(timeout=10)


class Screen(io.StringIO):
    """A console's output that the test can wait on (written on the event loop)."""

    def __init__(self) -> None:
        super().__init__()
        self._written = asyncio.Event()

    def write(self, text: str) -> int:
        self._written.set()
        return super().write(text)

    async def shows(self, pattern: str) -> re.Match[str]:
        try:
            async with asyncio.timeout(10):
                while (found := re.search(pattern, self.getvalue(), re.MULTILINE)) is None:
                    self._written.clear()
                    await self._written.wait()
        except TimeoutError:
            raise AssertionError(f"{pattern!r} never shown in:\n{self.getvalue()}") from None
        return found


@pytest.fixture
def trainer() -> InMemoryModelTrainer:
    return InMemoryModelTrainer("slow")


@pytest.fixture
def container(trainer: InMemoryModelTrainer) -> Container:
    container = create_container(Settings(storage="memory", job_poll_seconds=0.02))
    container.trainers.override(providers.Object({"slow": trainer}))
    container.workspace.override(InMemoryWorkspace({"chats/data.jsonl": CHAT_LINES.encode()}))
    return container


async def test_a_job_started_at_the_console_is_followed_to_its_outcome(
    container: Container, trainer: InMemoryModelTrainer
) -> None:
    typed, screen = Typed(), Screen()
    running = asyncio.create_task(Console(container.use_cases()).run(stdin=typed, stdout=screen))

    typed.type("!train data_dir=chats method=slow")
    started = await screen.shows(r"^\[(job-\w+)\] job-\w+\s+(queued|running)")
    job_id = started[1]
    trainer.finish(job_id)

    await screen.shows(rf"^\[{job_id}\] {job_id}\s+succeeded")
    outcome = await screen.shows(rf"^Training job {job_id} succeeded: model (\S+) is ready")
    assert outcome[1] == f"slow:{job_id}"
    typed.end()
    assert await running == 0


async def test_after_a_restart_the_console_follows_its_unfinished_jobs_and_no_others(
    container: Container, trainer: InMemoryModelTrainer
) -> None:
    # Started by a console that then stopped (handle() alone follows nothing) ...
    await Console(container.use_cases()).handle("!train data_dir=chats method=slow")
    [job] = await container.jobs().all()
    # ... and one started in Discord, which the bot follows, not the console.
    discord_job = job.__class__(**{**job.__dict__, "id": "job-discord", "origin": "discord:x"})
    await container.jobs().save(discord_job)
    typed, screen = Typed(), Screen()

    running = asyncio.create_task(Console(container.use_cases()).run(stdin=typed, stdout=screen))
    await screen.shows(rf"^\[{job.id}\] {job.id}\s+(queued|running)")
    trainer.finish(job.id)
    await screen.shows(rf"^Training job {job.id} succeeded")
    typed.end()
    await running

    assert "job-discord" not in screen.getvalue()
    assert (await container.jobs().get(job.id)).status is JobStatus.SUCCEEDED


async def test_leaving_the_console_stops_following_and_the_job_goes_on(
    container: Container,
) -> None:
    typed, screen = Typed(), Screen()
    running = asyncio.create_task(Console(container.use_cases()).run(stdin=typed, stdout=screen))
    typed.type("!train data_dir=chats method=slow")
    started = await screen.shows(r"^\[(job-\w+)\]")

    typed.end()
    async with asyncio.timeout(5):
        assert await running == 0

    job = await container.jobs().get(started[1])
    assert job is not None
    assert not job.status.is_final
