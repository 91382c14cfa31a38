"""A training job that does not finish at once: its status message follows it, and its outcome
is posted in reply to the ``!train`` that started it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace

import discord
import discord.ext.test as dpytest
import pytest
from dependency_injector import providers
from discord.ext import commands
from discord_support import Server, close, until

from trainerbot.adapters.discord.jobs import Origin
from trainerbot.adapters.memory import InMemoryModelTrainer
from trainerbot.config import Settings
from trainerbot.container import Container
from trainerbot.core.entities import JobStatus, TrainingJob

POLL_SECONDS = 0.01


@pytest.fixture
def trainer() -> InMemoryModelTrainer:
    return InMemoryModelTrainer("local")


@pytest.fixture
def settings() -> Settings:
    return Settings(storage="memory", job_poll_seconds=POLL_SECONDS)


@pytest.fixture
def container(container: Container, trainer: InMemoryModelTrainer) -> Container:
    container.trainers.override(providers.Object({"local": trainer}))
    return container


async def start_training(server: Server) -> tuple[discord.Message, str]:
    """``!train`` on the reviews folder: the status message and the job's id."""
    with contextlib.suppress(commands.CommandError):
        await dpytest.message("!train data_dir=reviews", member=server.trainer)
    status = dpytest.get_message()
    report = dpytest.get_message()
    [job] = await server.container.jobs().all()
    assert job.id in report.content
    return status, job.id


async def edited(server: Server, message: discord.Message) -> str:
    """``message``'s content as the channel holds it now (after the bot's edits)."""
    return (await server.channel.fetch_message(message.id)).content


async def until_edited(server: Server, message: discord.Message, start: str) -> str:
    deadline = time.perf_counter() + 5.0
    while not (content := await edited(server, message)).startswith(start):
        assert time.perf_counter() < deadline, f"still {content!r}"
        await asyncio.sleep(POLL_SECONDS)
    return content


async def next_message() -> discord.Message:
    await until(lambda: not dpytest.sent_queue.empty())
    return dpytest.get_message()


async def test_the_status_follows_the_job_and_the_outcome_is_posted(
    server: Server, trainer: InMemoryModelTrainer
) -> None:
    status, job_id = await start_training(server)
    await until_edited(server, status, f"⏳ {job_id}  running")
    trainer.finish(job_id)
    outcome = await next_message()

    await until_edited(server, status, f"✅ {job_id}  succeeded")
    model = f"local:{job_id}"
    assert (
        outcome.content == f"Training job {job_id} succeeded: model {model} is ready — !use {model}"
    )
    [job] = await server.container.jobs().all()
    assert job.status is JobStatus.SUCCEEDED


async def test_an_edit_discord_refuses_does_not_stop_the_job_being_followed(
    server: Server, trainer: InMemoryModelTrainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, job_id = await start_training(server)
    await until_edited(server, status, f"⏳ {job_id}  running")
    response = type("Response", (), {"status": 503, "reason": "Service Unavailable"})()

    async def refused(self: discord.Message, **changes: object) -> None:
        raise discord.HTTPException(response, "upstream connect error")  # type: ignore[arg-type]

    monkeypatch.setattr(discord.Message, "edit", refused)
    await asyncio.sleep(POLL_SECONDS * 5)  # edits refused while it runs
    trainer.finish(job_id)
    outcome = await next_message()

    assert outcome.content.startswith(f"Training job {job_id} succeeded")


async def test_a_failed_job_is_posted_with_its_reason(
    server: Server, trainer: InMemoryModelTrainer
) -> None:
    status, job_id = await start_training(server)

    trainer.fail(job_id)
    outcome = await next_message()

    assert outcome.content == f"Training job {job_id} failed: the trainer failed"
    await until_edited(server, status, f"❌ {job_id}  failed")


async def test_following_stops_with_the_bot_and_the_job_stays_recorded(
    server: Server, trainer: InMemoryModelTrainer
) -> None:
    status, job_id = await start_training(server)
    await until_edited(server, status, f"⏳ {job_id}  running")

    await close(server.bot)
    trainer.finish(job_id)
    await asyncio.sleep(POLL_SECONDS * 5)

    assert dpytest.sent_queue.empty()  # no outcome posted after closing
    [job] = await server.container.jobs().all()
    assert job.status is JobStatus.RUNNING


async def test_after_a_restart_unfinished_jobs_are_followed_where_they_were_started(
    server: Server, trainer: InMemoryModelTrainer
) -> None:
    # A job the previous process started from this channel, still running at the provider.
    status = await server.channel.send("⏳ Checking the dataset and starting training…")
    dpytest.get_message()
    running = TrainingJob(
        id="job-before",
        trainer="local",
        status=JobStatus.RUNNING,
        dataset_name="reviews",
        dataset_version="abc123def456",
        example_count=2,
        requested_by=str(server.trainer.id),
        origin=str(Origin(server.channel.id, status.id)),
    )
    finished = replace(running, id="job-done", status=JobStatus.SUCCEEDED, model="local:job-done")
    elsewhere = replace(running, id="job-console", origin=None)
    for job in (running, finished, elsewhere):
        await server.container.jobs().save(job)

    assert await server.bot.jobs.resume() == 1
    assert server.bot.jobs.following == {"job-before"}
    assert await server.bot.jobs.resume() == 0  # once per process

    trainer.finish("job-before")
    outcome = await next_message()

    assert outcome.content.startswith("Training job job-before succeeded: model local:job-before")
    await until_edited(server, status, "✅ job-before  succeeded")
