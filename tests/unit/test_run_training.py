"""RunTrainingJob: what a training worker does with a queued job, on in-memory stores."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from trainerbot.adapters.memory import InMemoryJobStore, InMemoryModelRegistry, InMemoryModelTrainer
from trainerbot.core.entities import (
    ChatMessage,
    Dataset,
    Example,
    JobStatus,
    Role,
    Task,
    TrainingJob,
    TrainingSpec,
)
from trainerbot.core.errors import ServiceError
from trainerbot.core.run_training import TRAINING_BROKE, RunTrainingJob, RunTrainingRequest

T = TypeVar("T")
EXAMPLE = Example(prompt=(ChatMessage(Role.USER, "Capital of France?"),), completion="Paris")
SPEC = TrainingSpec(dataset=Dataset(name="geo", task=Task.CHAT, examples=(EXAMPLE,)))


def queued(job_id: str = "job-1", trainer: str = "memory") -> TrainingJob:
    return TrainingJob(
        id=job_id,
        trainer=trainer,
        status=JobStatus.QUEUED,
        dataset_name="geo",
        dataset_version="v1",
        example_count=1,
        requested_by="ada",
        provider_job_id="queue:7",
        events=("queued for a training worker",),
    )


class Broken(InMemoryModelTrainer):
    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        raise RuntimeError("a bug in the trainer")


@pytest.fixture
def jobs() -> InMemoryJobStore:
    return InMemoryJobStore()


@pytest.fixture
def models() -> InMemoryModelRegistry:
    return InMemoryModelRegistry()


def run_training(
    trainer: InMemoryModelTrainer, jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> RunTrainingJob:
    return RunTrainingJob(
        trainers={trainer.name: trainer}, jobs=jobs, models=models, poll_seconds=0.01
    )


async def until(
    read: Callable[[], Awaitable[T | None]], done: Callable[[T], bool], within: float = 10.0
) -> T:
    """What ``read`` gives once ``done`` says so (polled: the use case runs in a task)."""
    async with asyncio.timeout(within):
        while True:
            value = await read()
            if value is not None and done(value):
                return value
            await asyncio.sleep(0.01)


async def _started(trainer: InMemoryModelTrainer) -> list[TrainingSpec]:
    return trainer.started


def request(job_id: str = "job-1", attempt: int = 1) -> RunTrainingRequest:
    return RunTrainingRequest(job_id, SPEC, worker="worker w1", attempt=attempt)


async def test_a_queued_job_is_trained_recorded_and_its_model_registered(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    trainer = InMemoryModelTrainer(immediate=True)
    await jobs.save(queued())

    done = await run_training(trainer, jobs, models).execute(request())

    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert trainer.started == [SPEC]
    assert await jobs.get("job-1") == done
    assert [h.status for h in jobs.history] == [
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.SUCCEEDED,
    ]
    assert done.events == ("queued for a training worker", "training on worker w1")
    assert [m.id for m in await models.models()] == ["memory:job-1"]


async def test_each_state_a_slow_trainer_reports_is_recorded_as_it_comes(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    trainer = InMemoryModelTrainer()
    await jobs.save(queued())
    running = asyncio.create_task(run_training(trainer, jobs, models).execute(request()))
    job = await until(lambda: jobs.get("job-1"), lambda j: j.provider_job_id == "prov-job-1")
    assert job.status is JobStatus.RUNNING  # the trainer waits its turn: the job is running

    trainer.finish("job-1")
    done = await running

    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert await jobs.get("job-1") == done


async def test_a_later_attempt_says_an_earlier_run_stopped(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    await jobs.save(queued())

    done = await run_training(InMemoryModelTrainer(immediate=True), jobs, models).execute(
        request(attempt=2)
    )

    assert done is not None
    assert "training on worker w1 (attempt 2: an earlier run stopped)" in done.events


@pytest.mark.parametrize("status", [JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.SUCCEEDED])
async def test_a_job_already_finished_is_not_trained_again(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry, status: JobStatus
) -> None:
    finished = queued().with_status(status)
    await jobs.save(finished)
    trainer = InMemoryModelTrainer(immediate=True)

    assert await run_training(trainer, jobs, models).execute(request()) == finished
    assert trainer.started == []


async def test_a_job_that_is_not_recorded_is_not_trained(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    trainer = InMemoryModelTrainer(immediate=True)

    assert await run_training(trainer, jobs, models).execute(request("job-404")) is None
    assert trainer.started == []
    assert jobs.history == []


async def test_a_job_cancelled_elsewhere_while_it_trains_is_stopped(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    trainer = InMemoryModelTrainer()
    await jobs.save(queued())
    running = asyncio.create_task(run_training(trainer, jobs, models).execute(request()))
    await until(lambda: _started(trainer), bool)
    await jobs.save(queued().with_status(JobStatus.CANCELLED))  # !cancel in the bot

    done = await running

    assert done is not None
    assert done.status is JobStatus.CANCELLED
    assert trainer.cancelled == ["job-1"]
    assert await models.models() == []


async def test_a_refusal_fails_the_job_with_its_reason(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    await jobs.save(queued())
    refusing = InMemoryModelTrainer(fail_with=ServiceError("The GPU is on fire."))

    done = await run_training(refusing, jobs, models).execute(request())

    assert done is not None
    assert (done.status, done.error) == (
        JobStatus.FAILED,
        "The GPU is on fire.",
    )


async def test_an_unexpected_error_fails_the_job_in_one_line_and_is_logged(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    await jobs.save(queued())

    done = await run_training(Broken(), jobs, models).execute(request())

    assert done is not None
    assert (done.status, done.error) == (JobStatus.FAILED, TRAINING_BROKE)
    assert "a bug in the trainer" in caplog.text


async def test_a_trainer_the_worker_lacks_fails_the_job(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    await jobs.save(queued(trainer="lora"))

    done = await run_training(InMemoryModelTrainer(), jobs, models).execute(request())

    assert done is not None
    assert (done.status, done.error) == (JobStatus.FAILED, "The worker has no lora trainer.")


async def test_cancelling_the_task_stops_the_trainer_without_deciding_the_job(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    trainer = InMemoryModelTrainer()
    await jobs.save(queued())
    running = asyncio.create_task(run_training(trainer, jobs, models).execute(request()))
    await until(lambda: _started(trainer), bool)

    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    assert trainer.cancelled == ["job-1"]
    job = await jobs.get("job-1")
    assert job is not None
    assert job.status is JobStatus.RUNNING


async def test_giving_up_fails_an_unfinished_job_with_the_reason_and_leaves_a_finished_one(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    use_case = run_training(InMemoryModelTrainer(), jobs, models)
    await jobs.save(queued("job-1"))
    await jobs.save(queued("job-2").with_status(JobStatus.SUCCEEDED, model="m"))

    failed = await use_case.give_up("job-1", "The worker training it stopped twice.")
    kept = await use_case.give_up("job-2", "The worker training it stopped twice.")

    assert failed is not None
    assert (failed.status, failed.error) == (
        JobStatus.FAILED,
        "The worker training it stopped twice.",
    )
    assert kept is not None
    assert kept.status is JobStatus.SUCCEEDED
    assert await use_case.give_up("job-404", "gone") is None
