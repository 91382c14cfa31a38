"""FollowJob: a job's changes as they happen, polled at an interval, until it ends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from trainerbot.adapters.memory import InMemoryJobStore, InMemoryModelRegistry, InMemoryModelTrainer
from trainerbot.core.entities import Actor, JobStatus, TrainingJob
from trainerbot.core.errors import PermissionDenied, ServiceError, UnknownJob
from trainerbot.core.follow_job import FollowJob, FollowJobRequest, JobUpdate
from trainerbot.core.refresh_job import RefreshJob


class Clock:
    """The follower's sleep: records each wait and runs ``on_wait`` (the world moving on)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.on_wait: list[Callable[[], None]] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.on_wait:
            self.on_wait.pop(0)()


def queued_job(trainer_name: str = "memory") -> TrainingJob:
    return TrainingJob(
        id="job-1",
        trainer=trainer_name,
        status=JobStatus.QUEUED,
        dataset_name="reviews",
        dataset_version="abc123def456",
        example_count=16,
        requested_by="u-trainer",
        provider_job_id="prov-job-1",
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sut(
    clock: Clock,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
) -> FollowJob:
    refresh = RefreshJob(trainers={"memory": model_trainer}, jobs=jobs, models=models)
    return FollowJob(refresh_job=refresh, poll_seconds=7.0, sleep=clock.sleep)


async def follow(sut: FollowJob, actor: Actor, job_id: str = "job-1") -> list[JobUpdate]:
    return [update async for update in sut.execute(FollowJobRequest(actor=actor, job_id=job_id))]


async def test_each_change_is_an_update_until_the_job_succeeds(
    sut: FollowJob,
    clock: Clock,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    await jobs.save(queued_job())
    # The first ask finds it running; two polls find no change; then it has finished.
    clock.on_wait = [lambda: None, lambda: None, lambda: model_trainer.finish("job-1")]

    updates = await follow(sut, trainer)

    assert [update.job.status for update in updates] == [JobStatus.RUNNING, JobStatus.SUCCEEDED]
    assert clock.waits == [7.0, 7.0, 7.0]
    assert updates[-1].job.model == "memory:job-1"
    assert [model.id for model in models.registered] == ["memory:job-1"]
    assert (await jobs.get("job-1")) == updates[-1].job


async def test_a_finished_job_is_one_update_and_no_wait(
    sut: FollowJob, clock: Clock, jobs: InMemoryJobStore, trainer: Actor
) -> None:
    done = queued_job().with_status(JobStatus.FAILED, error="out of quota")
    await jobs.save(done)

    updates = await follow(sut, trainer)

    assert updates == [JobUpdate(done)]
    assert clock.waits == []


async def test_an_unreachable_provider_is_noted_once_and_asked_again(
    sut: FollowJob,
    clock: Clock,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    trainer: Actor,
) -> None:
    running = queued_job().with_status(JobStatus.RUNNING)
    await jobs.save(running)
    model_trainer.fail_with = ServiceError("The trainer's provider is unreachable.")

    def recover() -> None:
        model_trainer.fail_with = None
        model_trainer.fail("job-1")

    clock.on_wait = [lambda: None, recover]

    updates = await follow(sut, trainer)

    assert [(update.job.status, update.note) for update in updates] == [
        (JobStatus.RUNNING, "The trainer's provider is unreachable."),
        (JobStatus.FAILED, ""),
    ]
    assert len(clock.waits) == 2


async def test_following_stops_when_the_jobs_trainer_is_not_configured(
    sut: FollowJob, clock: Clock, jobs: InMemoryJobStore, trainer: Actor
) -> None:
    await jobs.save(queued_job(trainer_name="openai"))

    [update] = await follow(sut, trainer)

    assert update.job.status is JobStatus.QUEUED
    assert "openai" in update.note
    assert clock.waits == []


async def test_refuses_a_member_and_an_unknown_job(
    sut: FollowJob, jobs: InMemoryJobStore, trainer: Actor, member: Actor, refuses
) -> None:
    await jobs.save(queued_job())
    with refuses(PermissionDenied):
        await follow(sut, member)
    with refuses(UnknownJob):
        await follow(sut, trainer, "job-404")
    assert [job.status for job in jobs.history] == [JobStatus.QUEUED]  # nothing asked or saved


def test_the_poll_interval_must_be_positive(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> None:
    refresh = RefreshJob(trainers={}, jobs=jobs, models=models)
    with pytest.raises(ValueError, match="poll_seconds"):
        FollowJob(refresh_job=refresh, poll_seconds=0)
