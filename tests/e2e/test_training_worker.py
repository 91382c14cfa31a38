"""Training on other machines: with the records in PostgreSQL, the bot queues fewshot, local and
lora jobs and `trainerbot worker` processes train them (a real PostgreSQL server, real worker
processes, the same workspace folder). A worker killed mid-job: the job runs again on another
worker, or fails with the reason once it has run ``TRAINERBOT_TRAINING_ATTEMPTS`` times."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.config import Settings
from trainerbot.container import Container, close_container, create_container
from trainerbot.core.answer_message import AnswerRequest
from trainerbot.core.cancel_job import CancelJobRequest
from trainerbot.core.entities import Actor, JobStatus, TrainingJob
from trainerbot.core.list_models import ListModelsRequest
from trainerbot.core.refresh_job import RefreshJobRequest
from trainerbot.core.tenancy import Tenant
from trainerbot.core.train_model import TrainRequest
from trainerbot.core.use_model import UseModelRequest

ADA = Actor(id="ada", name="Ada", can_train=True)
SERVER = Tenant.server(4242)
HERE = Path(__file__).parent
QUESTION = "What is the door code of the lab?"
CODE = "The door code is 7-3-1-9."
CHAT = json.dumps(
    {"messages": [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": CODE}]}
)
LABELLED = "text,label\n" + "\n".join(
    [f"great film {n},positive" for n in range(6)] + [f"awful film {n},negative" for n in range(6)]
)
# Seconds without a heartbeat after which a worker is taken for dead (a second's heartbeat).
STALLED = 3.0


def environment(database_url: str, workspace: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRAINERBOT_DATABASE_URL": database_url,
        "TRAINERBOT_WORKSPACE": str(workspace),
        "TRAINERBOT_EMBEDDINGS": "none",  # TF-IDF: no embedding model to load
        "TRAINERBOT_WORKER_STALLED_SECONDS": str(STALLED),
        "TRAINERBOT_LOG_LEVEL": "INFO",
        **extra,
    }


@pytest.fixture
def workers(postgres_url: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start worker processes: `trainerbot worker`, or (``never_finishes``) worker_child.py."""
    started: list[subprocess.Popen[str]] = []

    def start(name: str, *, never_finishes: bool = False, **extra: str) -> subprocess.Popen[str]:
        command = (
            [sys.executable, str(HERE / "worker_child.py"), name]
            if never_finishes
            else [sys.executable, "-m", "trainerbot", "worker", "--name", name]
        )
        process = subprocess.Popen(
            command,
            env=environment(postgres_url, tmp_path / "ws", **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.fixture
async def bot(postgres_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    """The bot's side: its container, with the records in PostgreSQL (so training is queued)."""
    settings = Settings(workspace=tmp_path / "ws", database_url=postgres_url, embeddings="none")
    container = create_container(settings)
    container.base_chat_model.override(InMemoryChatModel(lambda messages, model: "I don't know."))
    yield container
    await close_container(container)


async def settled(container: Container, job_id: str, within: float = 90.0) -> TrainingJob:
    """The job once it finished, following it as the bot does (``RefreshJob``)."""
    use_cases = container.tenants().use_cases(SERVER)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        job = (await use_cases.refresh_job.execute(RefreshJobRequest(ADA, job_id))).job
        if job.status.is_final:
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {within} s")


async def when(container: Container, job_id: str, check: Callable[[TrainingJob], bool]) -> None:
    jobs = container.tenants().container(SERVER).jobs()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = await jobs.get(job_id)
        if job is not None and check(job):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id}: {await jobs.get(job_id)}")


async def killed_while_training(
    bot: Container, workers: Callable[..., subprocess.Popen[str]], **extra: str
) -> TrainingJob:
    """A fewshot job the bot queued, taken by a worker "doomed" that is SIGKILLed mid-job."""
    use_cases = bot.tenants().use_cases(SERVER)
    queued = (
        await use_cases.train_model.execute(TrainRequest(actor=ADA, data=CHAT, method="fewshot"))
    ).job
    doomed = workers("doomed", never_finishes=True, **extra)
    await when(bot, queued.id, lambda job: job.status is JobStatus.RUNNING)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    return queued


def stop(process: subprocess.Popen[str]) -> str:
    """Stop a worker as an operator does (SIGTERM); what it printed."""
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


async def test_a_worker_process_trains_the_fewshot_and_local_models_the_bot_queued(
    bot: Container, workers: Callable[..., subprocess.Popen[str]]
) -> None:
    use_cases = bot.tenants().use_cases(SERVER)
    fewshot = await use_cases.train_model.execute(
        TrainRequest(actor=ADA, data=CHAT, method="fewshot")
    )
    local = await use_cases.train_model.execute(
        TrainRequest(actor=ADA, data=LABELLED, method="local")
    )
    # Nothing trains in the bot: both wait in the queue for a worker.
    for queued in (fewshot.job, local.job):
        assert queued.status is JobStatus.QUEUED, queued
        assert queued.model is None

    worker = workers("w1")
    trained = [await settled(bot, result.job.id) for result in (fewshot, local)]

    for job in trained:
        assert job.status is JobStatus.SUCCEEDED, job
        assert any(event.startswith("training on w1") for event in job.events), job.events
    models = await use_cases.list_models.execute(ListModelsRequest(actor=ADA))
    listed = {model.id for model in models.models}
    assert {job.model for job in trained} <= listed
    # The worker wrote the models into the tenant's workspace, where the bot answers with them.
    await use_cases.use_model.execute(UseModelRequest(actor=ADA, model=str(trained[0].model)))
    answer = await use_cases.answer_message.execute(AnswerRequest("chat", ADA, QUESTION, "m-after"))
    assert (answer.reply, answer.interaction.model) == (CODE, trained[0].model)
    assert "w1 takes training jobs" in stop(worker)


async def test_a_job_whose_worker_is_killed_runs_again_on_another_worker(
    bot: Container, workers: Callable[..., subprocess.Popen[str]]
) -> None:
    queued = await killed_while_training(bot, workers)

    workers("rescuer")
    job = await settled(bot, queued.id)

    assert job.status is JobStatus.SUCCEEDED, job
    assert any(e.startswith("training on doomed") for e in job.events), job.events
    assert any(
        e.startswith("training on rescuer (attempt 2: an earlier run stopped)") for e in job.events
    ), job.events


async def test_a_job_whose_workers_keep_stopping_fails_with_the_reason(
    bot: Container, workers: Callable[..., subprocess.Popen[str]]
) -> None:
    queued = await killed_while_training(bot, workers, TRAINERBOT_TRAINING_ATTEMPTS="1")

    workers("sweeper", TRAINERBOT_TRAINING_ATTEMPTS="1")
    job = await settled(bot, queued.id)

    assert job.status is JobStatus.FAILED, job
    assert job.error == "The worker training it stopped once; train again with !train."
    assert job.model is None


async def test_a_job_cancelled_while_it_waits_is_never_trained(
    bot: Container, workers: Callable[..., subprocess.Popen[str]]
) -> None:
    use_cases = bot.tenants().use_cases(SERVER)
    queued = (
        await use_cases.train_model.execute(TrainRequest(actor=ADA, data=CHAT, method="fewshot"))
    ).job
    cancelled = await use_cases.cancel_job.execute(CancelJobRequest(ADA, queued.id))
    assert cancelled.job.status is JobStatus.CANCELLED

    worker = workers("w1")
    later = await use_cases.train_model.execute(
        TrainRequest(actor=ADA, data=LABELLED, method="local")
    )
    assert (await settled(bot, later.job.id)).status is JobStatus.SUCCEEDED
    stop(worker)
    job = await bot.tenants().container(SERVER).jobs().get(queued.id)
    assert job is not None
    assert job.status is JobStatus.CANCELLED
    assert job.model is None


def test_a_worker_without_postgresql_says_what_it_needs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trainerbot", "worker"],
        env={**os.environ, "TRAINERBOT_WORKSPACE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "trainerbot: A training worker takes its jobs from PostgreSQL: set "
        "TRAINERBOT_DATABASE_URL to the database the bots use "
        "(postgresql://user:password@host:port/db)."
    ]
